"""One package answering imports under another package's name (a meta path finder).

``PackageAlias("workflows", "reflow")`` makes ``import workflows.events`` return the module
object ``reflow.events`` itself (not a second copy), so classes and ``isinstance`` checks are
shared between both names. Used by :mod:`reflow.alias`, and the other way round by the
compatibility suite to run reflow's tests against the peer.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
from collections.abc import Sequence
from types import ModuleType


class _AliasLoader(importlib.abc.Loader):
    """Hands back the already imported target module instead of creating a new one."""

    def __init__(self, target: str) -> None:
        self._target = target
        self._own_spec: importlib.machinery.ModuleSpec | None = None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        module = importlib.import_module(self._target)
        # The import system overwrites ``__spec__`` on the module it gets; keep the target's.
        self._own_spec = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self._own_spec


class PackageAlias(importlib.abc.MetaPathFinder):
    """Maps ``source`` and ``source.X`` imports to the modules ``target`` and ``target.X``.

    A ``source.X`` with no ``target.X`` is not found: ``source``'s ``__path__`` is the
    target's, so the normal finders cannot reach the real ``source`` package's files either.
    """

    def __init__(self, source: str, target: str) -> None:
        self.source = source
        self.target = target

    def __repr__(self) -> str:
        return f"PackageAlias({self.source!r} -> {self.target!r})"

    def target_name(self, fullname: str) -> str | None:
        """The module ``fullname`` stands for, or None when it is outside ``source``."""
        if fullname == self.source:
            return self.target
        if fullname.startswith(self.source + "."):
            return self.target + fullname[len(self.source) :]
        return None

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        target_name = self.target_name(fullname)
        if target_name is None:
            return None
        try:
            target_spec = importlib.util.find_spec(target_name)
        except ModuleNotFoundError:
            return None
        if target_spec is None:
            return None
        return importlib.machinery.ModuleSpec(
            fullname,
            _AliasLoader(target_name),
            is_package=target_spec.submodule_search_locations is not None,
        )
