"""What an episode and a video are (records, video files) and episode accounting
(episode trackers for single-agent, multi-agent and vector sub-envs).
"""
