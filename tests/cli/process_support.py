"""Running ``python -m reflow`` as a real process: piped, with stdin closed, or in a terminal.

``Terminal`` gives the command a pseudo-terminal (``pty``) for stdin, stdout and stderr, as a
user's shell would, and reads what it prints.  Every wait has a deadline so a wedged command
fails its test instead of hanging the suite; none of them measures speed.
"""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

SAMPLES = Path(__file__).with_name("sample_workflows.py")
WAIT_SECONDS = 60.0
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|\r")


def sample(name: str) -> str:
    return f"{SAMPLES}:{name}"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("REFLOW_RUNS_DB", None)
    env["COLUMNS"] = "120"
    return env


def reflow(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m reflow ARGS``; stdin closed unless ``stdin`` text is given."""
    return subprocess.run(
        [sys.executable, "-m", "reflow", *args],
        input=stdin if stdin is not None else None,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=WAIT_SECONDS,
        env=_env(),
        cwd=cwd,
        check=False,
    )


def plain(text: str) -> str:
    """``text`` without terminal escape sequences and carriage returns."""
    return _ANSI.sub("", text)


class Terminal:
    """``python -m reflow ARGS`` attached to a pseudo-terminal."""

    def __init__(self, *args: str, cwd: Path | None = None) -> None:
        controller, attached = pty.openpty()
        self.fd = controller
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reflow", *args],
            stdin=attached,
            stdout=attached,
            stderr=attached,
            env={**_env(), "TERM": "xterm"},
            cwd=cwd,
            close_fds=True,
        )
        os.close(attached)
        self.output = ""

    def _read(self, timeout: float) -> bool | None:
        """True: read something; None: nothing within ``timeout``; False: the end."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return None
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # the other side closed: the process exited
            return False
        if not chunk:
            return False
        self.output += chunk.decode(errors="replace")
        return True

    def expect(self, text: str) -> None:
        """Read until the (escape-free) output contains ``text``."""
        deadline = time.monotonic() + WAIT_SECONDS
        while text not in plain(self.output):
            if time.monotonic() > deadline or self._read(0.2) is False:
                self.process.kill()  # leave nothing running behind a failed test
                self.process.wait()
                raise AssertionError(f"{text!r} never appeared in:\n{plain(self.output)}")

    def send(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def wait(self) -> int:
        """Read everything until the process exits; its exit code."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            if time.monotonic() > deadline:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"the command did not exit:\n{plain(self.output)}")
            got = self._read(0.2)
            if got is False or (got is None and self.process.poll() is not None):
                break
        os.close(self.fd)
        return self.process.wait(timeout=WAIT_SECONDS)

    @property
    def text(self) -> str:
        return plain(self.output)
