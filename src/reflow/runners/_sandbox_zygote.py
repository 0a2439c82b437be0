"""The Landlock backend's fork server: started once, it forks a confined child per command.

Starting an interpreter per command would cost tens of milliseconds; forking this small,
single-threaded process costs about one. Run as ``python -E -s -S _sandbox_zygote.py FD``
where FD is a SEQPACKET socket to reflow. Each request is one message carrying fds: the
request (JSON in a memfd), the command's stdin (or -), stdout, stderr, a status pipe and the
seccomp program. For each the server forks a *waiter*, which forks the *command*:

- the command: new session, fds 0-2, cwd, ``confine()`` (rlimits, Landlock, seccomp), execve;
- the waiter writes the command's pid to the status pipe, waits for it, writes its exit code
  (negative for a signal) and exits. The server ignores SIGCHLD, so waiters never linger.

The server exits when reflow's end of the socket closes. Python code runs between fork and
exec here, which is safe only because this process has a single thread (unlike reflow's).
"""

import contextlib
import json
import os
import signal
import socket
import sys
from typing import Any

if __package__:  # imported as part of reflow (tests, tooling)
    from reflow.runners import _confine
else:  # run by path in the fork server's bare interpreter: the file next to this one
    import _confine  # type: ignore[import-not-found, no-redef]


def _command(request: dict[str, Any], fds: dict[str, int]) -> None:
    os.setsid()
    stdin = fds.get("stdin")
    if stdin is None:
        stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    os.dup2(fds["stdout"], 1)
    os.dup2(fds["stderr"], 2)
    os.chdir(request["cwd"])
    _confine.confine(request["policy"], fds["seccomp"])
    os.closerange(3, 1 << 20)
    os.execve(request["executable"], request["argv"], request["env"])


def _waiter(request: dict[str, Any], fds: dict[str, int]) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # so this waiter can wait, and the command too
    pid = os.fork()
    if pid == 0:
        try:
            _command(request, fds)
        except BaseException as exc:
            message = f"reflow sandbox: cannot start {request['argv'][0]}: {exc}\n"
            os.write(2, message.encode("utf-8", "replace"))
        finally:
            os._exit(127)
    status = fds["status"]
    os.write(status, f"{pid}\n".encode())
    for name, fd in fds.items():
        if name != "status":
            os.close(fd)
    _, code = os.waitpid(pid, 0)
    os.write(status, f"{os.waitstatus_to_exitcode(code)}\n".encode())


def _handle(received: list[int]) -> None:
    with os.fdopen(received[0], "rb") as handle:
        request = json.loads(handle.read())
    fds = {name: received[index] for name, index in request["fds"].items()}
    if os.fork() == 0:
        try:
            _waiter(request, fds)
        finally:
            os._exit(0)
    for fd in fds.values():
        os.close(fd)


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    while True:
        try:
            message, received, _, _ = socket.recv_fds(sock, 16, 16)
        except InterruptedError:
            continue
        if not message:
            return
        try:
            _handle(received)
        except Exception:
            for fd in received:
                with contextlib.suppress(OSError):
                    os.close(fd)


if __name__ == "__main__":
    main()
