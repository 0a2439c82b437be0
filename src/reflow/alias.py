"""Make ``import workflows...`` resolve to ``reflow...`` for the whole process.

Code written for llama-index-workflows (and llama-index-core, which imports it) then runs on
reflow unchanged::

    import reflow.alias

    reflow.alias.install()  # before anything imports ``workflows`` or ``llama_index``

    from llama_index.core.agent.workflow import FunctionAgent  # runs on reflow

or, with no code change, start Python with ``REFLOW_ALIAS_WORKFLOWS=1`` in the environment (the
``reflow-alias.pth`` file installed with reflow calls :func:`install` at interpreter start).

The alias hands out reflow's own module objects under the ``workflows`` names, so
``workflows.Workflow is reflow.Workflow``, and no module of the peer package is ever loaded,
even when it is installed (llama-index-core depends on it): a ``workflows.X`` that reflow does
not have fails to import instead of falling back to the peer's file.
"""

from __future__ import annotations

import sys

from reflow._alias_finder import PackageAlias
from reflow._alias_memory import AgentSerializer

__all__ = [
    "ENV_VAR",
    "AgentSerializer",
    "AliasError",
    "install",
    "install_from_environment",
    "installed",
]

ENV_VAR = "REFLOW_ALIAS_WORKFLOWS"
PEER_PACKAGE = "workflows"
_TRUE_VALUES = frozenset({"1", "true", "yes", "on"})


class AliasError(RuntimeError):
    """The alias cannot be installed (the peer's modules are already in use)."""


def installed() -> bool:
    """Whether this process resolves ``workflows`` to ``reflow``."""
    return any(
        isinstance(finder, PackageAlias) and finder.source == PEER_PACKAGE
        for finder in sys.meta_path
    )


def install() -> None:
    """Resolve ``workflows`` and every ``workflows.X`` to ``reflow`` / ``reflow.X`` from now on.

    Idempotent. Raises :class:`AliasError` when the peer's own ``workflows`` modules were
    imported before: objects from both packages would meet in one process (a peer ``Event`` is
    not a reflow ``Event``), so the alias must come first.
    """
    if installed():
        return
    loaded = sorted(
        name
        for name, module in sys.modules.items()
        if (name == PEER_PACKAGE or name.startswith(PEER_PACKAGE + "."))
        and not getattr(module, "__name__", "").startswith("reflow")
    )
    if loaded:
        shown = ", ".join(loaded[:5]) + (" ..." if len(loaded) > 5 else "")
        raise AliasError(
            "reflow.alias.install() must run before the 'workflows' package is imported, but "
            f"these modules of llama-index-workflows are already loaded: {shown}. Call it at "
            f"the top of your entry point (before importing llama_index), or set {ENV_VAR}=1 "
            "in the environment so it runs at interpreter start."
        )
    sys.meta_path.insert(0, PackageAlias(PEER_PACKAGE, "reflow"))


def install_from_environment() -> bool:
    """Call :func:`install` when ``REFLOW_ALIAS_WORKFLOWS`` is set to a true value.

    Run by the ``reflow-alias.pth`` file at interpreter start. Returns whether it installed.
    An error is printed rather than raised: a ``.pth`` line that raises only prints a traceback
    and is skipped, which would hide the reason.
    """
    import os

    if os.environ.get(ENV_VAR, "").strip().lower() not in _TRUE_VALUES:
        return False
    try:
        install()
    except AliasError as exc:
        print(f"reflow: {ENV_VAR} is set but the alias was not installed: {exc}", file=sys.stderr)
        return False
    return True
