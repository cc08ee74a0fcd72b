"""Every docstring example in the package runs and shows what it says."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import agentreel

# Modules whose examples need something a test machine may lack, with the reason.
SKIPPED: dict[str, str] = {}


def all_modules() -> list[str]:
    names = [agentreel.__name__]
    for info in pkgutil.walk_packages(agentreel.__path__, prefix="agentreel."):
        names.append(info.name)
    return sorted(names)


@pytest.mark.parametrize("name", all_modules())
def test_docstring_examples(name, tmp_path, monkeypatch):
    if name in SKIPPED:
        pytest.skip(SKIPPED[name])
    monkeypatch.chdir(tmp_path)  # examples that write files write them here
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
