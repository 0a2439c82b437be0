"""run_shell with real processes: results, environment, streaming, timeouts, process trees."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reflow.runners import (
    CommandFailed,
    ErrorCode,
    InvalidCommand,
    MissingSecret,
    OutputLine,
    Runners,
    Secrets,
    run_shell,
)

from ._support import alive, wait_gone

PY = sys.executable


async def test_success_captures_both_streams_and_the_last_line_without_newline() -> None:
    result = await run_shell("echo one; echo two >&2; printf three")
    assert result.status == "success" and result.ok
    assert result.exit_code == 0 and result.signal is None and result.error is None
    assert result.stdout == "one\nthree"
    assert result.stderr == "two\n"
    assert result.duration > 0


async def test_non_zero_exit_is_a_failure_with_code_and_stderr() -> None:
    result = await run_shell("echo broken >&2; exit 3")
    assert result.status == "failed"
    assert result.exit_code == 3
    assert result.error is not None and result.error.code is ErrorCode.EXECUTION_FAILED
    assert "exited with code 3" in result.error.message and "broken" in result.error.message


async def test_check_raises_with_exit_code_and_start_of_stderr() -> None:
    with pytest.raises(CommandFailed) as caught:
        await run_shell(["sh", "-c", "echo nope >&2; exit 7"], check=True)
    assert caught.value.code is ErrorCode.EXECUTION_FAILED
    assert caught.value.result is not None and caught.value.result.exit_code == 7
    assert "code 7" in str(caught.value) and "nope" in str(caught.value)


async def test_death_by_signal_reports_the_signal() -> None:
    result = await run_shell("kill -SEGV $$")
    assert result.status == "failed"
    assert result.exit_code is None and result.signal == 11 and result.signal_name == "SIGSEGV"


async def test_argv_list_runs_without_a_shell() -> None:
    result = await run_shell(["echo", "$HOME", "a b"])
    assert result.stdout == "$HOME a b\n"


async def test_environment_precedence_process_workflow_step_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LAYER_A", "process")
    monkeypatch.setenv("LAYER_B", "process")
    monkeypatch.setenv("LAYER_C", "process")
    monkeypatch.setenv("ONLY_PROCESS", "p")
    runners = Runners(
        env={"LAYER_B": "workflow", "LAYER_C": "workflow", "LAYER_D": "workflow"},
        secrets=Secrets({"LAYER_D": "secret-d"}, env=False),
    )
    result = await run_shell(
        'echo "$LAYER_A $LAYER_B $LAYER_C $LAYER_D $ONLY_PROCESS"',
        env={"LAYER_C": "step", "LAYER_D": "step"},
        secrets=["LAYER_D"],
        runners=runners,
    )
    assert result.stdout == "process workflow step *** p\n"  # the secret is masked in output


async def test_inherit_env_false_starts_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAKY", "yes")
    result = await run_shell(
        [PY, "-c", "import os; print(sorted(os.environ))"], inherit_env=False, env={"KEEP": "1"}
    )
    names = eval(result.stdout)  # a list literal printed by the child
    assert "LEAKY" not in names and "KEEP" in names


async def test_cwd_and_stdin(tmp_path: Path) -> None:
    result = await run_shell("pwd; cat", cwd=tmp_path, stdin="from stdin\n")
    assert result.stdout == f"{tmp_path}\nfrom stdin\n"


async def test_binary_output_is_decoded_with_replacement() -> None:
    result = await run_shell([PY, "-c", "import sys; sys.stdout.buffer.write(bytes(range(256)))"])
    assert result.ok
    assert "\ufffd" in result.stdout


async def test_large_output_keeps_the_tail_within_the_limit() -> None:
    script = "import sys\nfor i in range(200000): sys.stdout.write(f'line {i}\\n')"
    lines: list[int] = []
    result = await run_shell(
        [PY, "-c", script], max_capture=10_000, on_line=lambda line: lines.append(line.number)
    )
    assert result.ok and result.stdout_truncated
    assert len(result.stdout.encode()) <= 10_000
    assert result.stdout.endswith("line 199999\n")
    assert lines == list(range(1, 200001))


async def test_lines_stream_in_order_numbered_across_both_streams(tmp_path: Path) -> None:
    # The child writes each line only after the callback saw the previous one (a file per
    # line number), so the order of arrival is fixed whatever the machine's load.
    script = (
        "import os, sys, time\n"
        "def wait(n):\n"
        "    while not os.path.exists(os.path.join(sys.argv[1], str(n))): time.sleep(0.005)\n"
        "for i in range(3):\n"
        "    print(f'out {i}', flush=True); wait(2 * i + 1)\n"
        "    print(f'err {i}', file=sys.stderr, flush=True); wait(2 * i + 2)\n"
        "sys.stdout.write('tail'); sys.stdout.flush()\n"
    )
    seen: list[OutputLine] = []

    def on_line(line: OutputLine) -> None:
        seen.append(line)
        (tmp_path / str(line.number)).touch()

    result = await run_shell([PY, "-c", script, str(tmp_path)], on_line=on_line, timeout=60)
    assert result.ok
    assert [(line.stream, line.number, line.text) for line in seen] == [
        ("stdout", 1, "out 0"),
        ("stderr", 2, "err 0"),
        ("stdout", 3, "out 1"),
        ("stderr", 4, "err 1"),
        ("stdout", 5, "out 2"),
        ("stderr", 6, "err 2"),
        ("stdout", 7, "tail"),
    ]
    assert all(a.time <= b.time for a, b in itertools.pairwise(seen))


async def test_lines_arrive_while_the_command_runs(tmp_path: Path) -> None:
    # The command waits until the callback saw its first line: held-back output would
    # leave it waiting until the timeout.
    marker = tmp_path / "seen"

    def on_line(line: OutputLine) -> None:
        if line.text == "early":
            marker.touch()

    result = await run_shell(
        f"echo early; while [ ! -f {marker} ]; do sleep 0.01; done; echo late",
        on_line=on_line,
        timeout=30,
    )
    assert result.status == "success" and result.stdout == "early\nlate\n"


async def test_timeout_ends_the_command_and_is_never_success() -> None:
    started = time.monotonic()
    result = await run_shell("sleep 30", timeout=0.2, grace=1.0)
    assert time.monotonic() - started < 5
    assert result.status == "timed_out" and not result.ok
    assert result.error is not None and result.error.code is ErrorCode.TIMEOUT
    with pytest.raises(CommandFailed) as caught:
        await run_shell("sleep 30", timeout=0.2, check=True)
    assert caught.value.code is ErrorCode.TIMEOUT


async def test_termination_escalates_to_sigkill_after_grace() -> None:
    # Cancelled once the shell ignores SIGTERM (inherited by its sleep): only SIGKILL ends it.
    cancel = asyncio.Event()
    result = await run_shell(
        ["sh", "-c", "trap '' TERM; echo ready; sleep 30"],
        cancel=cancel,
        grace=0.3,
        on_line=lambda line: cancel.set(),
    )
    assert result.status == "cancelled"
    assert result.signal == 9


DETACHING = (
    # The child starts a grandchild in a new session (it escapes killpg), records its pid,
    # and exits; the command then waits.
    "import os, subprocess, sys, time\n"
    "g = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
    "open(sys.argv[1], 'w').write(str(g.pid))\n"
    "time.sleep(60)\n"
)


async def _pid_from(path: Path) -> int:
    for _ in range(200):
        if path.exists() and path.read_text():
            return int(path.read_text())
        await asyncio.sleep(0.02)
    raise AssertionError("the command never wrote its grandchild's pid")


async def test_timeout_kills_a_grandchild_that_called_setsid(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    # The timeout leaves the child time to start its grandchild even on a loaded machine.
    result = await run_shell([PY, "-c", DETACHING, str(marker)], timeout=3.0, grace=0.5)
    assert result.status == "timed_out"
    assert marker.exists(), "the child did not start its grandchild within the timeout"
    grandchild = int(marker.read_text())
    assert wait_gone([grandchild]) == []


async def test_cancelling_the_task_kills_the_tree_and_propagates(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    task = asyncio.ensure_future(run_shell([PY, "-c", DETACHING, str(marker)], grace=0.5))
    grandchild = await _pid_from(marker)
    assert alive(grandchild)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert wait_gone([grandchild]) == []


async def test_cancel_event_gives_a_cancelled_result(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    cancel = asyncio.Event()
    task = asyncio.ensure_future(
        run_shell([PY, "-c", DETACHING, str(marker)], cancel=cancel, grace=0.5)
    )
    grandchild = await _pid_from(marker)
    cancel.set()
    result = await task
    assert result.status == "cancelled"
    assert result.error is not None and result.error.code is ErrorCode.CANCELLED
    assert wait_gone([grandchild]) == []


async def test_background_leftovers_are_ended_when_the_command_exits(tmp_path: Path) -> None:
    marker = tmp_path / "pid"
    started = time.monotonic()
    result = await run_shell(f"sleep 60 & echo $! > {marker}; echo done")
    assert result.ok and result.stdout == "done\n"
    assert time.monotonic() - started < 10  # did not wait for the background sleep
    assert wait_gone([int(marker.read_text())]) == []


async def test_outputs_from_marker_lines_later_wins_reserved_keys_dropped() -> None:
    result = await run_shell(
        'echo noise; echo \'::reflow-output::{"a": 1, "ok": false}\';'
        " echo 'x ::reflow-output::{\"a\": 2, \"b\": [1]}'; echo '::reflow-output::[1]';"
        " echo '::reflow-output::{broken'"
    )
    assert result.ok
    assert result.outputs == {"a": 2, "b": [1]}
    assert result.flat()["ok"] is True


async def test_outputs_from_a_whole_json_stdout() -> None:
    result = await run_shell(["echo", '  {"version": "1.2", "stdout": "x"} '])
    assert result.outputs == {"version": "1.2"}
    result = await run_shell(["echo", "[1, 2]"])
    assert result.outputs == {}


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ([], "empty argv"),
        (["echo", 3], "command[1]"),
        (42, "string or a list"),
        ([""], "executable"),
    ],
)
async def test_bad_commands_are_refused_naming_the_problem(command: object, needle: str) -> None:
    with pytest.raises(InvalidCommand) as caught:
        await run_shell(command)  # type: ignore[arg-type]
    assert needle in str(caught.value)
    assert caught.value.code is ErrorCode.INVALID_STEP


async def test_missing_executable_and_cwd() -> None:
    result = await run_shell(["definitely-not-a-command-xyz"])
    assert result.status == "failed" and result.exit_code == 127
    assert result.error is not None and result.error.code is ErrorCode.COMMAND_NOT_FOUND
    assert "definitely-not-a-command-xyz" in result.error.message
    with pytest.raises(InvalidCommand, match="cwd"):
        await run_shell("true", cwd="/no/such/dir")
    with pytest.raises(InvalidCommand, match="timeout"):
        await run_shell("true", timeout=0)
    with pytest.raises(MissingSecret, match="secret 'NOT_A_SECRET_X' is not set"):
        await run_shell(
            "true", secrets=["NOT_A_SECRET_X"], runners=Runners(secrets=Secrets(env=False))
        )


@settings(max_examples=15, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["A", "B", "C"]),
        st.sampled_from(["w1", "w2"]),
    ),
    st.dictionaries(st.sampled_from(["A", "B", "C"]), st.sampled_from(["s1", "s2"])),
)
def test_env_layers_last_wins(workflow: dict[str, str], step: dict[str, str]) -> None:
    from reflow.runners._env import merge_env

    env = merge_env(inherit=False, workflow=workflow, step=step, secrets={"C": "secret"})
    for key in ("A", "B"):
        assert env.get(key) == step.get(key, workflow.get(key))
    assert env["C"] == "secret"
    assert set(env) <= {"A", "B", "C"}


def test_no_preexec_fn_in_the_runner_sources() -> None:
    source = Path(__file__).parents[2] / "src" / "reflow" / "runners"
    offenders = [p.name for p in source.glob("*.py") if "preexec_fn=" in p.read_text()]
    assert offenders == []


async def test_processes_of_a_timed_out_tree_are_gone(tmp_path: Path) -> None:
    script = f"for i in 1 2 3; do sleep 60 & echo $! >> {tmp_path}/pids; done; wait"
    result = await run_shell(script, timeout=2.0, grace=0.2)
    assert result.status == "timed_out"
    pids = [int(p) for p in (tmp_path / "pids").read_text().split()]
    assert len(pids) == 3 and wait_gone(pids) == []
    assert os.getpid() not in pids
