"""The Gymnasium wrappers: :class:`RecordEpisodeStatistics` and :class:`RecordVideo`
(imported from the package root, ``from agentreel import RecordVideo``).
"""
