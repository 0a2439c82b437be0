"""Secrets kept out of traces and logs, by the runners' own rule (``reflow.runners.Masker``).

The values to hide are the ones ``reflow.runners`` resolved in this process.  A process that
never imported the runners has resolved none, so they are looked up in ``sys.modules`` rather
than imported: observability never loads the runners, and costs one lookup without them.
"""

from __future__ import annotations

import sys
from typing import Any


def active_masker() -> Any:
    """The runners' process-wide masker when it holds any value, else None."""
    runners = sys.modules.get("reflow.runners")
    if runners is None:
        return None
    masker = runners.secret_masker()
    return masker if masker else None


def mask(text: str) -> str:
    masker = active_masker()
    return text if masker is None else str(masker.mask(text))
