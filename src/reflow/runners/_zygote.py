"""reflow's side of the Landlock fork server (``_sandbox_zygote.py``).

``spawn(...)`` sends one request and returns a :class:`ServedProcess` that ``_exec.execute``
drives like an asyncio subprocess: pid, stdout and stderr readers, exit code.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

_SERVER = Path(__file__).with_name("_sandbox_zygote.py")


class _Server:
    """The fork server of this process, started on first use and again if it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    def _start(self) -> socket.socket:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._proc = subprocess.Popen(
            [sys.executable, "-E", "-s", "-S", str(_SERVER), str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            env={},  # each command gets its environment with its request, nothing else
        )
        theirs.close()
        self._sock = ours
        return ours

    def send(self, fds: list[int]) -> None:
        with self._lock:
            for _ in range(2):
                sock = self._sock
                if sock is None or self._proc is None or self._proc.poll() is not None:
                    if sock is not None:
                        sock.close()
                    sock = self._start()
                try:
                    socket.send_fds(sock, [b"run"], fds)
                    return
                except OSError:
                    sock.close()
                    self._sock = None
            raise OSError("the sandbox fork server could not be started")


_server = _Server()


def _forget_server() -> None:
    # A forked copy of reflow starts a server of its own instead of sharing the parent's.
    global _server
    _server = _Server()


os.register_at_fork(after_in_child=_forget_server)


class ServedProcess:
    """A command the fork server started (not our child: its exit code comes by pipe)."""

    def __init__(
        self,
        pid: int,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
        status: asyncio.StreamReader,
        transports: list[asyncio.BaseTransport],
    ) -> None:
        self.pid = pid
        self.stdout = stdout
        self.stderr = stderr
        self.stdin: asyncio.StreamWriter | None = None
        self.returncode: int | None = None
        self._status = status
        self._transports = transports

    async def wait_exit(self) -> None:
        if self.returncode is None:
            line = await self._status.readline()
            self.returncode = int(line) if line.strip() else -9
        for transport in self._transports:
            transport.close()


async def _reader(fd: int) -> tuple[asyncio.StreamReader, asyncio.BaseTransport]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 16)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(fd, "rb", buffering=0)
    )
    return reader, transport


async def spawn(
    *,
    executable: str,
    argv: list[str],
    env: dict[str, str],
    cwd: str,
    policy: str,
    seccomp_fd: int,
    stdin: bytes | None,
) -> ServedProcess:
    """Start ``argv`` confined by ``policy`` through the fork server."""
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    status_r, status_w = os.pipe2(os.O_CLOEXEC)
    mine = [out_w, err_w, status_w]
    try:
        names = {"stdout": out_w, "stderr": err_w, "status": status_w, "seccomp": seccomp_fd}
        if stdin is not None:
            data = os.memfd_create("reflow-stdin", os.MFD_CLOEXEC)
            mine.append(data)
            os.write(data, stdin)
            os.lseek(data, 0, os.SEEK_SET)
            names["stdin"] = data
        request = {
            "executable": executable,
            "argv": argv,
            "env": env,
            "cwd": cwd,
            "policy": policy,
            "fds": {name: index + 1 for index, name in enumerate(names)},
        }
        body = os.memfd_create("reflow-request", os.MFD_CLOEXEC)
        mine.append(body)
        os.write(body, json.dumps(request).encode())
        os.lseek(body, 0, os.SEEK_SET)
        _server.send([body, *names.values()])
    except BaseException:
        for fd in (out_r, err_r, status_r):
            os.close(fd)
        raise
    finally:
        for fd in mine:
            os.close(fd)
    status, status_t = await _reader(status_r)
    stdout, stdout_t = await _reader(out_r)
    stderr, stderr_t = await _reader(err_r)
    line = await status.readline()
    if not line.strip():
        for transport in (status_t, stdout_t, stderr_t):
            transport.close()
        raise OSError("the sandbox fork server did not start the command")
    return ServedProcess(int(line), stdout, stderr, status, [status_t])
