"""The ``agentreel`` command's parts: ``agentreel record`` (run, policies, env set-up)
and the compare, export, render and multi-agent commands (``agentreel.cli`` is the entry point).
"""
