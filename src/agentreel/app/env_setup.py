"""Make environment ids of plugin packages resolvable, and MuJoCo render on a headless machine.

``gym.make("ALE/Pong-v5")`` works only after ``import ale_py``. :func:`resolve_env_id`
imports the well-known plugin package an id belongs to (by its namespace or name)
when the id is not registered yet, and names the ``pip install`` when that package
is missing. ``--import MODULE`` (:func:`import_modules`) covers any other package.

:func:`headless_mujoco_gl` picks MuJoCo's off-screen OpenGL back-end when there is
no display and the user chose none, as agentreel does for pygame's SDL driver.

Example:
    >>> plain_env_id("ale_py:ALE/Pong-v5"), plain_env_id("CartPole-v1")
    ('ALE/Pong-v5', 'CartPole-v1')
    >>> [p.module for p in plugins_for("ALE/Breakout-v5")], plugins_for("CartPole-v1")
    (['ale_py'], [])
"""

from __future__ import annotations

import ctypes.util
import importlib
import os
from dataclasses import dataclass

import gymnasium as gym

__all__ = ["Plugin", "PLUGINS", "plain_env_id", "plugins_for", "resolve_env_id", "import_modules",
           "headless_mujoco_gl", "render_error_message"]


@dataclass(frozen=True)
class Plugin:
    """A package that registers Gymnasium environments when imported."""

    module: str
    pip: str
    namespaces: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()

    def owns(self, env_id: str) -> bool:
        """True when ``env_id`` has one of this package's namespaces or name prefixes."""
        namespace, _, name = env_id.rpartition("/")
        return namespace in self.namespaces or name.startswith(self.prefixes)


#: The well-known plugin packages, tried in this order.
PLUGINS: tuple[Plugin, ...] = (
    Plugin("ale_py", "ale-py", namespaces=("ALE",)),
    Plugin("gymnasium_robotics", "gymnasium-robotics",
           prefixes=("Fetch", "HandManipulate", "HandReach", "AntMaze", "PointMaze", "Adroit",
                     "FrankaKitchen")),
    Plugin("minigrid", "minigrid", prefixes=("MiniGrid-", "BabyAI-")),
    Plugin("shimmy", '"shimmy[dm-control]"', namespaces=("dm_control", "dm_control_multiagent"),
           prefixes=("GymV21Environment", "GymV26Environment", "OpenSpiel", "MeltingPot")),
)


def plain_env_id(env_id: str) -> str:
    """``module:ENV_ID`` (Gymnasium's form that imports ``module`` first) -> ``ENV_ID``."""
    return env_id.rpartition(":")[2] if ":" in env_id else env_id


def plugins_for(env_id: str) -> list[Plugin]:
    """The plugin packages whose namespace or name prefix ``env_id`` has."""
    return [p for p in PLUGINS if p.owns(plain_env_id(env_id))]


def _registered(env_id: str) -> bool:
    try:
        gym.spec(env_id)
    except gym.error.Error:
        return False
    return True


def resolve_env_id(env_id: str) -> None:
    """Make ``env_id`` known to Gymnasium, importing the plugin package it belongs to.

    Raises:
        RuntimeError: the id belongs to a plugin package that is not installed (the
            message names the ``pip install``), or no package registers it.
    """
    if ":" in env_id:  # Gymnasium's ``module:id``: import the module, as gym.make would
        module = env_id.rpartition(":")[0]
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise RuntimeError(f"{env_id}: cannot import {module}: {exc}") from exc
        return
    if _registered(env_id):
        return
    owners = plugins_for(env_id)
    for plugin in owners:
        try:
            importlib.import_module(plugin.module)
        except ImportError:
            raise RuntimeError(
                f"{env_id} comes from the {plugin.module} package, which is not installed: "
                f"pip install {plugin.pip}"
            ) from None
        if _registered(env_id):
            return
    for plugin in PLUGINS:  # an id with no telling name: try the plugins that are installed
        if plugin in owners:
            continue
        try:
            importlib.import_module(plugin.module)
        except Exception:  # not installed, or broken: this id is not its
            continue
        if _registered(env_id):
            return


def import_modules(names: list[str] | tuple[str, ...]) -> None:
    """``--import MODULE``: import each module (from the current folder too), e.g. to register envs.

    >>> import_modules(["json"])
    """
    from agentreel.app.policies import import_from_current_folder

    import_from_current_folder()
    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise ValueError(f"--import {name}: cannot import it: {type(exc).__name__}: {exc}") from exc


def headless_mujoco_gl() -> str | None:
    """With no display and no ``MUJOCO_GL``, set it to ``egl`` (else ``osmesa``) when available.

    Returns the back-end chosen, or ``None`` when nothing was changed (a display, a
    user's own ``MUJOCO_GL``, or neither library installed).
    """
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY") or os.environ.get("MUJOCO_GL"):
        return None
    for backend, library in (("egl", "EGL"), ("osmesa", "OSMesa")):
        if ctypes.util.find_library(library):
            os.environ["MUJOCO_GL"] = backend
            os.environ.setdefault("PYOPENGL_PLATFORM", backend)
            return backend
    return None


def render_error_message(exc: BaseException) -> str | None:
    """One line naming the fix when ``exc`` is MuJoCo failing to get an OpenGL context."""
    text = str(exc)
    from_mujoco = type(exc).__module__.split(".")[0] == "mujoco"
    if not ((from_mujoco and "OpenGL" in text) or "opengl_context" in text):
        return None
    chosen = os.environ.get("MUJOCO_GL", "(unset)")
    return (
        f"MuJoCo cannot render off-screen with MUJOCO_GL={chosen} ({exc}). On a machine "
        "without a display set MUJOCO_GL=egl (Debian: apt-get install libegl1 libgl1-mesa-dri) "
        "or MUJOCO_GL=osmesa PYOPENGL_PLATFORM=osmesa (apt-get install libosmesa6)"
    )
