"""Secrets: providers, and masking in everything reflow writes during a durable run."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reflow import Workflow, step
from reflow.durable import DurableRuntime
from reflow.events import StartEvent, StopEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from reflow.runners import (
    CommandFailed,
    EnvSecrets,
    FileSecrets,
    Masker,
    Runners,
    Secrets,
    current_step_context,
)

SECRET = "s3cr3t-Value-8c1f"


def test_env_provider_prefers_the_prefixed_name() -> None:
    environ = {"TOKEN": "plain", "REFLOW_SECRET_TOKEN": "prefixed", "OTHER": "o"}
    assert EnvSecrets(environ=environ).get_secret("TOKEN") == "prefixed"
    assert EnvSecrets(environ=environ).get_secret("OTHER") == "o"
    assert EnvSecrets(environ=environ, allow_plain=False).get_secret("OTHER") is None


def test_file_provider_env_and_json_formats(tmp_path: Path) -> None:
    env_file = tmp_path / "s.env"
    env_file.write_text("# comment\nA=1\nB = 'two words'\n\n")
    assert FileSecrets(env_file).get_secret("B") == "two words"
    json_file = tmp_path / "s.json"
    json_file.write_text(json.dumps({"A": "x"}))
    assert FileSecrets(json_file).get_secret("A") == "x"
    bad = tmp_path / "bad.env"
    bad.write_text("A=1\nnot a pair\n")
    with pytest.raises(ValueError, match="line 2"):
        FileSecrets(bad).get_secret("A")
    (tmp_path / "bad.json").write_text('{"A": 3}')
    with pytest.raises(ValueError, match="'A' is not a string"):
        FileSecrets(tmp_path / "bad.json").get_secret("A")
    with pytest.raises(ValueError, match="cannot read"):
        FileSecrets(tmp_path / "missing").get_secret("A")


def test_providers_are_asked_in_order_and_values_get_masked(tmp_path: Path) -> None:
    class Vault:
        def get_secret(self, name: str) -> str | None:
            return {"DB": "from-vault"}.get(name)

    (tmp_path / "f.env").write_text("DB=from-file\nAPI=from-file-api\n")
    secrets = Secrets(providers=[Vault()], file=tmp_path / "f.env", env=False)
    assert secrets.resolve(["DB", "API"]) == {"DB": "from-vault", "API": "from-file-api"}
    assert secrets.mask("x from-vault y from-file-api") == "x *** y ***"
    with pytest.raises(KeyError, match="MISSING"):
        secrets.resolve(["MISSING"])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(alphabet="abcXYZ019-_ \n", min_size=1, max_size=12), min_size=1, max_size=3),
    st.text(alphabet="abcXYZ019-_ \n", max_size=60),
)
def test_masked_text_never_contains_a_secret(values: list[str], filler: str) -> None:
    masker = Masker()
    for value in values:
        masker.add(value)
    text = filler.join([*values, filler])
    masked = masker.mask(text)
    for value in values:
        for part in [value, *value.splitlines()]:
            if part.strip():
                assert part not in masked or part in "***"


async def test_no_secret_in_journal_events_logs_errors_or_artifacts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    journal = tmp_path / "runs.db"
    runtime = DurableRuntime(str(journal))
    runners = Runners(secrets=Secrets({"TOKEN": SECRET}, env=False), runtime=runtime)

    class Leaky(Workflow):
        @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(2)))
        async def leak(self, ev: StartEvent) -> StopEvent:
            sc = current_step_context(runners)
            sc.log.info(f"token is {SECRET}", token=SECRET, nested={"list": [SECRET]})
            sc.artifacts.put("notes.txt", "no secret here")
            # The command receives the value (it checks it) and prints it on both streams.
            checked = await sc.run_shell(
                f'test "$TOKEN" = "{SECRET}" && echo "out $TOKEN" && echo "err $TOKEN" >&2',
                secrets=["TOKEN"],
                check=True,
            )
            if sc.attempt == 1:
                await sc.run_shell(f"echo failing {SECRET} >&2; exit 2", check=True)
            return StopEvent(result={"stdout": checked.stdout, "stderr": checked.stderr})

    workflow = Leaky(runtime=runtime, timeout=30)
    caplog.set_level(logging.DEBUG)
    try:
        await runtime.launch()
        handler = workflow.run(run_id="leaky-1")
        events = [event async for event in handler.stream_events()]
        result: Any = await handler
    finally:
        await runtime.destroy()
    assert result == {"stdout": "out ***\n", "stderr": "err ***\n"}
    written = [json.dumps(e.model_dump(mode="json"), default=str) for e in events]
    written += [record.getMessage() for record in caplog.records]
    written += [str(record.exc_info) for record in caplog.records if record.exc_info]
    assert any("token is ***" in text for text in written)
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), f"secret written to {path}"
    for text in written:
        assert SECRET not in text
    # The journal did record the masked failure, the log record and the output lines.
    journal_bytes = journal.read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("runs.db-*")
    )
    for needle in (b"failing ***", b"token is ***", b"out ***"):
        assert needle in journal_bytes, needle


async def test_error_messages_are_masked() -> None:
    runners = Runners(secrets=Secrets({"T": SECRET}, env=False))
    runners.secrets.get("T")
    from reflow.runners import run_shell

    with pytest.raises(CommandFailed) as caught:
        await run_shell(f"echo {SECRET} >&2; exit 1", check=True, runners=runners)
    assert SECRET not in str(caught.value)
    assert caught.value.result is not None
    assert SECRET not in caught.value.result.model_dump_json()
