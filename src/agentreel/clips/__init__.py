"""Clip logic under the wrappers: the clip recorder, which steps become clips, keep rules
and the keeper, file-name claims and the frame overlay.
"""
