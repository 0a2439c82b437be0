"""No lost answers: questions of a durable run asked once, only while open, through real processes.

Issue 8, problems 1-3: an answer queued with ``runs send`` is used on resume and never asked
again; a closed stdin (or ``--detach``) leaves the run waiting with the commands that answer and
follow it; a prompt answered or ended from another shell is withdrawn.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from process_support import Terminal, reflow, sample


def _db(tmp_path: Path) -> str:
    return str(tmp_path / "runs.db")


def _start_waiting(db: str, run_id: str) -> subprocess.CompletedProcess[str]:
    started = reflow("run", sample("Ask"), "--db", db, "--run-id", run_id)
    assert started.returncode == 0, started.stderr
    return started


def _printed_command(output: str, label: str) -> list[str]:
    """The arguments of the ``reflow ...`` command printed after ``label``."""
    line = next(line for line in output.splitlines() if line.strip().startswith(label))
    words = shlex.split(line.split(label, 1)[1])
    assert words[0] == "reflow"
    return words[1:]


def test_closed_stdin_leaves_the_run_waiting_with_the_commands_that_answer_it(
    tmp_path: Path,
) -> None:
    db = _db(tmp_path)
    started = _start_waiting(db, "wait-1")
    assert "run wait-1 is waiting for an answer to 'Your name?'" in started.stdout
    shown = reflow("runs", "show", "wait-1", "--db", db)
    assert "status: running" in shown.stdout
    assert "waiting on: HumanResponseEvent" in shown.stdout
    # The printed commands are the exact ones: run them as printed (with an answer filled in).
    answer = _printed_command(started.stdout, "answer it:")
    answer[answer.index("--event") + 1] = json.dumps({"response": "Linus"})
    assert reflow(*answer).returncode == 0
    follow = reflow(*_printed_command(started.stdout, "follow it:"))
    assert follow.returncode == 0, follow.stderr
    assert "hi Linus" in follow.stdout
    assert "status: completed" in reflow("runs", "show", "wait-1", "--db", db).stdout
    # Attaching to the finished run shows its whole stream as history, and its result.
    again = reflow("run", sample("Ask"), "--db", db, "--run-id", "wait-1", "--verbose")
    assert "── end of the stored history ──" in again.stdout
    assert "resumed" not in again.stdout
    assert "hi Linus" in again.stdout


def test_a_queued_answer_is_used_on_resume_and_the_question_never_asked_again(
    tmp_path: Path,
) -> None:
    db = _db(tmp_path)
    _start_waiting(db, "wait-2")
    assert (
        reflow("runs", "send", "wait-2", "--db", db, "--event", '{"response": "Ada"}').returncode
        == 0
    )
    # Resumed as the issue did it: `reflow run FILE --run-id ID` with stdin closed.
    resumed = reflow("run", sample("Ask"), "--db", db, "--run-id", "wait-2", "--verbose")
    assert resumed.returncode == 0, resumed.stderr
    assert "Your name?" not in resumed.stdout
    assert "hi Ada" in resumed.stdout
    # The history is shown once, marked, and without made-up durations.
    assert resumed.stdout.count("── history of the run, as stored ──") == 1
    assert "  history │ ✓ ask done → InputRequiredEvent" in resumed.stdout
    assert "── resumed: live from here ──" in resumed.stdout
    assert resumed.stdout.count("ask started") == 1


def test_a_queued_answer_is_used_on_resume_in_a_terminal(tmp_path: Path) -> None:
    db = _db(tmp_path)
    _start_waiting(db, "wait-3")
    reflow("runs", "send", "wait-3", "--db", db, "--event", '{"response": "Grace"}')
    terminal = Terminal("runs", "resume", "wait-3", "--db", db)
    assert terminal.wait() == 0
    assert "hi Grace" in terminal.text
    assert "Your name?" not in terminal.text


def test_detach_leaves_the_run_at_its_first_question_without_asking(tmp_path: Path) -> None:
    db = _db(tmp_path)
    detached = reflow(
        "run",
        sample("Ask"),
        "--db",
        db,
        "--run-id",
        "wait-4",
        "--detach",
        "--output",
        "json",
        stdin="typed but never read\n",
    )
    assert detached.returncode == 0, detached.stderr
    document = json.loads(detached.stdout)
    assert document["status"] == "waiting"
    assert document["waiting_for"] == "Your name?"
    assert document["answer_with"].startswith("reflow runs send wait-4 --db ")
    assert document["resume_with"].startswith("reflow runs resume wait-4 --db ")
    assert "Your name?" not in detached.stderr  # not asked


def test_a_prompt_answered_from_another_shell_is_withdrawn(tmp_path: Path) -> None:
    db = _db(tmp_path)
    terminal = Terminal("run", sample("Ask"), "--db", db, "--run-id", "ask-1")
    terminal.expect("Your name?")
    sent = reflow("runs", "send", "ask-1", "--db", db, "--event", '{"response": "elsewhere"}')
    assert sent.returncode == 0, sent.stderr
    terminal.expect("withdrawn: it was answered from elsewhere")
    assert terminal.wait() == 0
    assert "hi elsewhere" in terminal.text


def test_a_prompt_of_a_run_cancelled_from_another_shell_is_withdrawn(tmp_path: Path) -> None:
    db = _db(tmp_path)
    terminal = Terminal("run", sample("Ask"), "--db", db, "--run-id", "ask-2")
    terminal.expect("Your name?")
    assert reflow("runs", "cancel", "ask-2", "--db", db).returncode == 0
    terminal.expect("withdrawn: the run ended")
    assert terminal.wait() == 1
    assert "status: cancelled" in reflow("runs", "show", "ask-2", "--db", db).stdout


def test_an_answer_typed_at_the_prompt_completes_the_run(tmp_path: Path) -> None:
    terminal = Terminal("run", sample("Ask"), "--db", _db(tmp_path))
    terminal.expect("Your name?")
    terminal.send("Typed\n")
    assert terminal.wait() == 0
    assert "hi Typed" in terminal.text
