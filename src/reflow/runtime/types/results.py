"""``WaitingForEvent``, under the name llama-index-workflows gives it.

In the peer a step that calls ``ctx.wait_for_event`` may be ended by this exception (to be run
again once the event arrives), and llama-index-core's agents re-raise it when a tool raises it.
reflow never raises it: an in-memory wait parks the step's coroutine and a durable run that is
released cancels it (``asyncio.CancelledError``, which ``except Exception`` does not catch). The
class exists so that code checking for it imports and behaves the same.
"""

from __future__ import annotations

from typing import Any

__all__ = ["WaitingForEvent"]


class WaitingForEvent(Exception):
    """A step stopped to wait for an event (never raised by reflow; see the module doc)."""

    def __init__(self, add: Any = None) -> None:
        super().__init__(add)
        self.add = add
