"""Generated handler ids work as command-line arguments."""

from __future__ import annotations

import re

from reflow.server._runs import new_handler_id


def test_generated_ids_never_start_with_an_option_dash() -> None:
    # token_urlsafe starts with '-' or '_' one time in 32; 2,000 draws miss that with odds 1e-28.
    ids = [new_handler_id() for _ in range(2_000)]
    assert all(re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{19}", i) for i in ids)
    assert len(set(ids)) == len(ids)
