"""Compatibility suite setup.

The tests in this directory import ``reflow`` and pin behaviour observed in the peer package
(llama-index-workflows 2.26.1).  With ``REFLOW_COMPAT_TARGET=peer`` every ``reflow`` and
``reflow.X`` import is answered with the peer's ``workflows`` / ``workflows.X`` module object, so
the same tests can be checked against the peer before the engine exists.
"""

from __future__ import annotations

import os
import sys

# The same finder as ``reflow.alias.install()`` uses (``workflows`` -> ``reflow``), pointed the
# other way.
from reflow._alias_finder import PackageAlias

_ALIAS = "reflow"
_PEER = "workflows"


def _install_peer_alias() -> None:
    # Drop the real reflow modules imported so far so the alias answers every import.
    for name in list(sys.modules):
        if name == _ALIAS or name.startswith(_ALIAS + "."):
            del sys.modules[name]
    sys.meta_path.insert(0, PackageAlias(_ALIAS, _PEER))


if os.environ.get("REFLOW_COMPAT_TARGET") == "peer":
    _install_peer_alias()
