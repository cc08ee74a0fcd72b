"""The base layer: small helpers that import no other agentreel module (extras, hooks,
safe file creation, env kinds, the bitmap font, tiling, clip triggers, HTML media tags).
"""
