"""A structured logger bound to the running step; records go to ``logging`` and the stream."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from reflow.runners._events import StepLogEvent
from reflow.runners._identity import current_identity

if TYPE_CHECKING:
    from reflow.runners._config import LogFormat, Runners

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
}


def _kv_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    if not text or any(c in text for c in ' "=\n'):
        return json.dumps(text)
    return text


def format_record(record: dict[str, Any], fmt: LogFormat) -> str:
    if fmt == "json":
        return json.dumps(record, default=str, sort_keys=False)
    return " ".join(f"{key}={_kv_value(value)}" for key, value in record.items())


class StepLogger:
    """``log.info("built", target="x")``: one record with the run, step and attempt.

    Each record is masked, written to the ``logging`` logger ``reflow.runners.step`` as one
    JSON line (or ``key=value`` pairs) and, inside a step, published to the run's stream as a
    :class:`StepLogEvent`. ``bind(**fields)`` returns a logger that adds ``fields``.
    """

    def __init__(self, runners: Runners, fields: dict[str, Any] | None = None) -> None:
        self._runners = runners
        self._fields = dict(fields or {})

    def bind(self, **fields: Any) -> StepLogger:
        return StepLogger(self._runners, {**self._fields, **fields})

    def log(self, level: str, message: str, **fields: Any) -> dict[str, Any]:
        if level not in _LEVELS:
            raise ValueError(f"unknown log level {level!r}; use one of {sorted(_LEVELS)}")
        runners = self._runners
        masker = runners.secrets.masker
        ident = current_identity()
        record: dict[str, Any] = {"time": time.time(), "level": level, "message": message}
        if ident is not None:
            record.update(
                run_id=ident.run_id,
                step=ident.step,
                attempt=ident.attempt,
                trace_id=ident.trace_id,
                span_id=ident.span_id,
            )
        extra = {**self._fields, **fields}
        record.update(extra)
        record = masker.mask_data(record)  # type: ignore[assignment]
        logger = logging.getLogger(runners.logger_name)
        if logger.isEnabledFor(_LEVELS[level]):
            logger.log(_LEVELS[level], format_record(record, runners.log_format))
        if ident is not None and runners.publish_logs:
            ident.context.write_event_to_stream(
                StepLogEvent(
                    level=level,
                    message=record["message"],
                    time=record["time"],
                    run_id=record["run_id"],
                    step=record["step"],
                    attempt=record["attempt"],
                    fields=masker.mask_data(_jsonable(extra)),
                )
            )
        return record

    def debug(self, message: str, **fields: Any) -> None:
        self.log("debug", message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self.log("info", message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self.log("warning", message, **fields)

    def error(self, message: str, **fields: Any) -> None:
        self.log("error", message, **fields)


def _jsonable(fields: dict[str, Any]) -> dict[str, Any]:
    """Fields as JSON values (anything else as its ``str``), so the event can be journaled."""
    return json.loads(json.dumps(fields, default=str))  # type: ignore[no-any-return]
