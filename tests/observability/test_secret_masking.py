"""A secret the runners resolved appears in no exported span (attributes, events, status) and
no log line observability writes: the runners' own masking rule is applied to both."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from tests.observability.conftest import Telemetry

from reflow import Workflow, step
from reflow.events import StartEvent, StopEvent
from reflow.observability import (
    JsonFormatter,
    RunContextFilter,
    disable_log_context,
    enable_log_context,
)
from reflow.runners import Runners, Secrets, mask_secrets, run_shell

app_log = logging.getLogger("tests.observability.secret_app")


def everything_exported(spans: list[ReadableSpan]) -> str:
    """Every string a span exporter would send: names, attributes, events, statuses."""
    parts: list[str] = []
    for span in spans:
        parts.append(span.name)
        parts.append(span.status.description or "")
        parts.extend(f"{k}={v}" for k, v in (span.attributes or {}).items())
        for event in span.events:
            parts.append(event.name)
            parts.extend(f"{k}={v}" for k, v in (event.attributes or {}).items())
    return "\n".join(parts)


class Leaky(Workflow):
    """Everything a careless step does with a secret: logs it, runs a command naming it
    (through settings that do not know it is one) and raises an error quoting it."""

    runners: Runners
    token_name: str

    @step
    async def leak(self, ev: StartEvent) -> StopEvent:
        token = self.runners.secrets.resolve([self.token_name])[self.token_name]
        app_log.warning("calling the API with %s", token)
        try:
            raise ValueError(f"inner failure mentioning {token}")
        except ValueError:
            app_log.exception("it failed")
        await run_shell(f"echo {token} >/dev/null; exit 2", runners=Runners(secrets=Secrets()))
        raise RuntimeError(f"the API refused token {token}")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    json_handler = logging.StreamHandler(stream)
    json_handler.setFormatter(JsonFormatter())
    plain_handler = logging.StreamHandler(stream)
    plain_handler.addFilter(RunContextFilter())
    plain_handler.setFormatter(logging.Formatter("%(message)s run=%(reflow_run_id)s"))
    app_log.addHandler(json_handler)
    app_log.addHandler(plain_handler)
    enable_log_context()
    try:
        yield stream
    finally:
        disable_log_context()
        app_log.removeHandler(json_handler)
        app_log.removeHandler(plain_handler)


async def test_a_secret_reaches_no_span_and_no_log_line(
    telemetry: Telemetry, log_lines: io.StringIO
) -> None:
    value = f"tok-{uuid.uuid4().hex}"
    name = f"API_TOKEN_{uuid.uuid4().hex[:8].upper()}"
    workflow = Leaky()
    workflow.runners = Runners(secrets=Secrets({name: value}, env=False))
    workflow.token_name = name
    with pytest.raises(RuntimeError):
        await workflow.run()

    exported = everything_exported(telemetry.spans())
    assert value not in exported
    # Masked, not dropped: each place still says what happened.
    assert "the API refused token ***" in exported
    [step_span] = telemetry.named("step leak")
    assert step_span.status.status_code is StatusCode.ERROR
    [event] = [e for e in step_span.events if e.name == "exception"]
    assert "token ***" in str((event.attributes or {})["exception.stacktrace"])
    [command] = [s for s in telemetry.spans() if s.name == "shell command"]
    assert (command.attributes or {})["reflow.command.line"] == "echo *** >/dev/null; exit 2"

    logged = log_lines.getvalue()
    assert value not in logged
    records = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    assert records[0]["message"] == "calling the API with ***"
    assert "inner failure mentioning ***" in records[1]["exception"]
    assert "calling the API with *** run=" in logged


def test_mask_secrets_hides_every_value_any_secrets_resolved() -> None:
    value = f"v-{uuid.uuid4().hex}"
    assert mask_secrets(f"a {value} b") == f"a {value} b"  # not a secret yet
    Secrets({"ONE": value}, env=False)
    assert mask_secrets(f"a {value} b") == "a *** b"
