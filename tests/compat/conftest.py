"""Compatibility suite setup.

The tests in this directory import ``reflow`` and pin behaviour observed in the peer package
(llama-index-workflows 2.26.1).  With ``REFLOW_COMPAT_TARGET=peer`` every ``reflow`` and
``reflow.X`` import is answered with the peer's ``workflows`` / ``workflows.X`` module object, so
the same tests can be checked against the peer before the engine exists.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from types import ModuleType

_ALIAS = "reflow"
_PEER = "workflows"


class _AliasLoader(importlib.abc.Loader):
    """Hands back the already imported peer module instead of creating a new one."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._original_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self._target)
        # The import system overwrites ``__spec__`` on the returned module; keep the peer's own.
        self._original_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._original_spec


class _AliasFinder(importlib.abc.MetaPathFinder):
    """Maps ``reflow[.X]`` to ``workflows[.X]`` so both names share one module object."""

    def find_spec(
        self,
        fullname: str,
        path: object = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _ALIAS and not fullname.startswith(_ALIAS + "."):
            return None
        peer_name = _PEER + fullname[len(_ALIAS) :]
        try:
            peer_spec = importlib.util.find_spec(peer_name)
        except ModuleNotFoundError:
            return None
        if peer_spec is None:
            return None
        return importlib.machinery.ModuleSpec(
            fullname,
            _AliasLoader(peer_name),
            is_package=peer_spec.submodule_search_locations is not None,
        )


def _install_peer_alias() -> None:
    # Drop any real reflow modules imported earlier so the alias answers every import.
    for name in list(sys.modules):
        if name == _ALIAS or name.startswith(_ALIAS + "."):
            del sys.modules[name]
    sys.meta_path.insert(0, _AliasFinder())


if os.environ.get("REFLOW_COMPAT_TARGET") == "peer":
    _install_peer_alias()
