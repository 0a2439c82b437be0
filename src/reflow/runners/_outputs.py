"""Structured outputs a command reports on stdout.

Marker lines: ``::reflow-output::{"key": "value"}`` anywhere in a stdout line; each JSON
object found is merged in order (a later key wins). Without any marker line, a stdout that
is as a whole one JSON object is taken as the outputs. Reserved keys (``stdout``, ``ok``,
``exit_code``, ...) are dropped: outputs never overwrite what describes the run.
"""

from __future__ import annotations

import json
from typing import Any

from reflow.runners._result import RESERVED_OUTPUT_KEYS

MARKER = "::reflow-output::"


class OutputParser:
    __slots__ = ("found_marker", "outputs")

    def __init__(self) -> None:
        self.outputs: dict[str, Any] = {}
        self.found_marker = False

    def feed(self, line: str) -> None:
        at = line.find(MARKER)
        if at < 0:
            return
        self.found_marker = True
        self._merge(line[at + len(MARKER) :])

    def _merge(self, text: str) -> None:
        try:
            value = json.loads(text)
        except ValueError:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                if key not in RESERVED_OUTPUT_KEYS:
                    self.outputs[key] = item

    def finish(self, stdout: str | None) -> dict[str, Any]:
        """The outputs; ``stdout`` (when complete) is tried as one JSON object if no marker."""
        if not self.found_marker and stdout is not None and stdout.strip().startswith("{"):
            self._merge(stdout.strip())
        return self.outputs
