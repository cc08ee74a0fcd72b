"""Optional dependencies ("extras") imported on demand.

agentreel's core needs only numpy, gymnasium and av. Features such as plots
or trackers need more; they call :func:`require` at the moment they are used,
so a missing package fails with a message that names the extra to install.

Example:
    >>> math = require("math", "plot")  # any importable module is returned
    >>> math.sqrt(4.0)
    2.0
    >>> try:
    ...     require("surely_not_a_module_xyz", "plot")
    ... except ImportError as err:
    ...     print(err)
    surely_not_a_module_xyz is needed for this feature but is not installed; install it with: pip install "agentreel[plot]"
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["require"]


def require(module_name: str, extra: str) -> ModuleType:
    """Import ``module_name`` or raise an ``ImportError`` naming the extra.

    Args:
        module_name: the module to import, e.g. ``"matplotlib"`` or
            ``"torch.utils.tensorboard"``.
        extra: the name of agentreel's optional-dependency group that provides
            it, e.g. ``"plot"``; the message says ``pip install "agentreel[plot]"``.

    Returns:
        The imported module.

    Raises:
        ImportError: the module (or one of its own dependencies) cannot be
            imported. The original error is chained as ``__cause__``.
    """
    try:
        return importlib.import_module(module_name)
    except ImportError as err:
        message = (
            f"{module_name} is needed for this feature but is not installed; "
            f'install it with: pip install "agentreel[{extra}]"'
        )
        raise ImportError(message, name=module_name) from err
