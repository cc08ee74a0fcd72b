"""Compatibility: ``agentreel.policies`` is now :mod:`agentreel.app.policies` (same objects)."""

from agentreel.app.policies import (
    DEMO_POLICIES,
    DemoLearner,
    batched,
    cartpole_controller,
    demo_policy,
    import_from_current_folder,
    imported_policy,
    load_policy,
    random_policy,
    sb3_policy,
)

__all__ = [
    "DEMO_POLICIES",
    "DemoLearner",
    "batched",
    "cartpole_controller",
    "demo_policy",
    "import_from_current_folder",
    "imported_policy",
    "load_policy",
    "random_policy",
    "sb3_policy",
]
