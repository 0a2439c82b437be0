"""``reflow runs ...`` through real processes: checked sends, orphans after ``kill -9``, resumes,
Ctrl-C, and the command-line conventions (issue 8, problems 4, 6 and 9).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from process_support import WAIT_SECONDS, reflow, sample


def _db(tmp_path: Path) -> str:
    return str(tmp_path / "runs.db")


def _waiting(db: str, run_id: str) -> None:
    started = reflow("run", sample("Ask"), "--db", db, "--run-id", run_id)
    assert started.returncode == 0, started.stderr


def _interruptible() -> None:
    """Give the child the SIGINT a terminal's Ctrl-C delivers.  A test suite started in the
    background by a non-interactive shell (``./scripts/test &``) has SIGINT ignored, and an
    ignored signal stays ignored across exec."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _started(db: str, run_id: str, gate: Path) -> subprocess.Popen[str]:
    """``reflow run Gate`` in the background, once its waiting step has started."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reflow",
            "run",
            sample("Gate"),
            "--db",
            db,
            "--run-id",
            run_id,
            "--arg",
            f"gate={gate}",
            "--verbose",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + WAIT_SECONDS
    for line in process.stdout:
        if "wait_for_gate started" in line:
            return process
        assert time.monotonic() < deadline
    raise AssertionError(
        f"the step never started: {process.stderr.read() if process.stderr else ''}"
    )


def test_sends_are_checked_before_anything_is_stored(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _waiting(db, "s-1")
    for event, extra, complaint in (
        ('{"response": "x"}', ["--step", "bogus"], "has no step 'bogus'; its steps: answer, ask"),
        ('{"type": "Bogus"}', [], "has no step that accepts an event of type 'Bogus'"),
        ('{"type": "nowhere.Thing"}', [], "'nowhere.Thing'"),
        ("{}", [], "HumanResponseEvent needs the field 'response'"),
    ):
        refused = reflow("runs", "send", "s-1", "--db", db, "--event", event, *extra)
        assert refused.returncode == 2, refused.stdout
        assert complaint in refused.stderr
        assert "not sent to run s-1" in refused.stderr
    shown = reflow("runs", "show", "s-1", "--db", db, "--output", "json")
    assert json.loads(shown.stdout)["undelivered"] == []
    # A good one still goes through, and the run completes with it.
    assert (
        reflow("runs", "send", "s-1", "--db", db, "--event", '{"response": "ok"}').returncode == 0
    )
    assert "hi ok" in reflow("runs", "resume", "s-1", "--db", db).stdout


def test_an_orphan_is_explained_cancelled_at_once_and_followers_told(tmp_path: Path) -> None:
    db = _db(tmp_path)
    process = _started(db, "o-1", tmp_path / "gate")
    process.kill()  # kill -9
    process.wait()
    listed = reflow("runs", "list", "--db", db)
    assert "ORPHANED" in listed.stdout
    shown = reflow("runs", "show", "o-1", "--db", db)
    assert f"held by process {process.pid} on" in shown.stdout
    assert f"which is dead (process {process.pid} on this host is gone)" in shown.stdout
    assert "in flight when it died: wait_for_gate" in shown.stdout
    assert "resume it: reflow runs resume o-1 --db " in shown.stdout
    document = json.loads(reflow("runs", "show", "o-1", "--db", db, "--output", "json").stdout)
    assert document["orphaned"] is True
    assert document["held_by"]["pid"] == process.pid

    follower = subprocess.Popen(
        [sys.executable, "-m", "reflow", "runs", "events", "o-1", "--db", db, "--follow"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )
    assert follower.stderr is not None
    warning = follower.stderr.readline()
    assert "run o-1 is orphaned" in warning and "reflow runs resume o-1" in warning
    follower.send_signal(signal.SIGINT)  # Ctrl-C
    assert follower.wait(timeout=WAIT_SECONDS) == 130

    started = time.monotonic()
    cancelled = reflow("runs", "cancel", "o-1", "--db", db)
    assert cancelled.stdout.strip() == "run o-1 cancelled"
    # At once: not after the 15 s lease (a bound for the test, not a speed measurement).
    assert time.monotonic() - started < 10
    assert "status: cancelled" in reflow("runs", "show", "o-1", "--db", db).stdout


def test_a_crashed_run_resumes_from_the_journal(tmp_path: Path) -> None:
    """The crash-recovery recipe of docs/durable.md."""
    db = _db(tmp_path)
    gate = tmp_path / "gate"
    process = _started(db, "c-1", gate)
    process.kill()
    process.wait()
    gate.touch()
    resumed = reflow("runs", "resume", "c-1", "--db", db, "--verbose")
    assert resumed.returncode == 0, resumed.stderr
    assert "── resumed: live from here ──" in resumed.stdout
    assert "through the gate" in resumed.stdout
    assert resumed.stdout.count("prepare started") == 1  # journaled: not run again


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path: Path) -> None:
    db = _db(tmp_path)
    process = _started(db, "i-1", tmp_path / "gate")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=WAIT_SECONDS)
    assert process.returncode == 130
    assert "interrupted: run i-1 stays in" in err
    assert "reflow runs resume i-1 --db " in err


def test_db_and_debug_after_the_subcommand_and_no_file_created(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _waiting(db, "c-2")
    assert "c-2" in reflow("runs", "list", "--db", db, "--debug").stdout
    missing = tmp_path / "typo.db"
    for args in (("list",), ("show", "x"), ("events", "x"), ("cancel", "x")):
        result = reflow("runs", *args, "--db", str(missing))
        assert result.returncode == 2
        assert f"no journal at {missing}" in result.stderr
    assert not missing.exists()


def test_json_documents_share_one_shape(tmp_path: Path) -> None:
    db = _db(tmp_path)
    ran = reflow("run", sample("TypedResult"), "--db", db, "--run-id", "j-1", "--output", "json")
    from_run = json.loads(ran.stdout)
    shown = json.loads(reflow("runs", "show", "j-1", "--db", db, "--output", "json").stdout)
    assert from_run["status"] == shown["status"] == "completed"
    assert from_run["result"] == shown["result"] == {"total": 3}
    assert from_run["result_type"] == shown["result_type"] == "CustomStop"
    assert "__is_pydantic" not in json.dumps(shown)
    events = reflow("runs", "events", "j-1", "--db", db, "--output", "json").stdout
    assert "<class" not in events and "qualified_name" not in events
    asked = reflow("run", sample("Ask"), "--db", db, "--run-id", "j-3", "--detach")
    assert asked.returncode == 0
    stored = reflow("runs", "events", "j-3", "--db", db, "--output", "json").stdout.splitlines()
    documents = [json.loads(line) for line in stored]
    question = next(item for item in documents if item["type"] == "InputRequiredEvent")
    assert question["event"] == {"prefix": "Your name? "}  # no "_data" envelope
    failed = reflow("run", sample("Failing"), "--db", db, "--run-id", "j-2", "--output", "json")
    shown_failed = json.loads(reflow("runs", "show", "j-2", "--db", db, "--output", "json").stdout)
    assert json.loads(failed.stdout)["error"]["type"] == shown_failed["error"]["type"]


def test_a_timeout_is_timed_out_everywhere(tmp_path: Path) -> None:
    db = _db(tmp_path)
    ran = reflow(
        "run", sample("Slow"), "--db", db, "--run-id", "t-1", "--timeout", "0.5", "--output", "json"
    )
    assert ran.returncode == 1
    assert json.loads(ran.stdout)["status"] == "timed_out"
    assert (
        json.loads(reflow("runs", "show", "t-1", "--db", db, "--output", "json").stdout)["status"]
        == "timed_out"
    )


def test_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    db = _db(tmp_path)
    ran = reflow("run", sample("Chatty"), "--db", db, "--run-id", "p-1", "--output", "json")
    assert ran.returncode == 0, ran.stderr
    for command in ("events p-1", "list"):
        piped = subprocess.run(
            f"{sys.executable} -m reflow runs {command} --db {db} | head -n 1",
            shell=True,
            capture_output=True,
            text=True,
            timeout=WAIT_SECONDS,
            check=False,
        )
        assert piped.stdout.count("\n") == 1
        assert piped.stderr == ""
