"""The sandbox against both backends, as root and as a throw-away non-root user.

One probe (``sandbox_probe.py``) runs inside the sandbox and tries: reading and writing its
grants, writing outside them and into a read-only grant, reading outside them, TCP to Redis
and PostgreSQL, PostgreSQL's Unix socket, UDP, an allowed and a forbidden executable, an
allocation over the memory limit, and an allowed and a forbidden environment variable.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reflow.runners import Runners
from reflow.runners._backends import probe
from reflow.runners._permissions import Permissions
from reflow.runners._sandbox_run import run_plugin

from ._support import require

HERE = Path(__file__).parent
SRC = HERE.parents[1] / "src"
PG_DIR = "/var/run/postgresql"
PG_SOCKET = f"{PG_DIR}/.s.PGSQL.5432"
DENIED = {"ENOENT", "EACCES", "EPERM", "EROFS", "ECONNREFUSED", "ENETUNREACH"}


def need_backend(backend: str) -> None:
    require(getattr(probe(), backend), f"the {backend} sandbox backend")


def need_services() -> None:
    problem = None if os.path.exists(PG_SOCKET) else f"no PostgreSQL socket at {PG_SOCKET}"
    require(problem, "PostgreSQL's Unix socket")


class Layout:
    """A grant tree under a fresh /tmp folder, owned by the user that runs reflow."""

    def __init__(self, uid: int) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="reflow-sbx-test-"))
        self.read = self.base / "read"
        self.write = self.base / "write"
        self.outside = self.base / "outside"
        self.tmp = self.base / "tmp"
        for folder in (self.read, self.write, self.outside, self.tmp):
            folder.mkdir()
        (self.read / "data.txt").write_text("granted")
        (self.outside / "secret.txt").write_text("not granted")
        shutil.copy(HERE / "sandbox_probe.py", self.read / "probe.py")
        os.chmod(self.base, 0o755)
        for path in [self.base, *self.base.rglob("*")]:
            os.chown(path, uid, uid)
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(self.outside / "secret.txt", 0o600)

    def permissions(self, network: bool) -> dict[str, Any]:
        return {
            "read": [str(self.read), PG_DIR],
            "write": [str(self.write)],
            "network": network,
            "env": ["ALLOWED_ENV"],
            "exec": ["python3", "true"],
            "memory_mb": 256,
            "open_files": 64,
            "cpu_seconds": 20,
            "processes": 16,
        }

    def command(self) -> list[str]:
        probe_args = {
            "read_ok": str(self.read / "data.txt"),
            "write_ok": str(self.write / "out.txt"),
            "write_outside": str(self.outside / "evil.txt"),
            "write_read_only": str(self.read / "evil.txt"),
            "read_outside": str(self.outside / "secret.txt"),
            "tcp": [6379, 5432],
            "unix": PG_SOCKET,
            "exec_allowed": "/usr/bin/true",
            "exec_denied": "/usr/bin/sh",
            "alloc_mb": 400,
            "forks": 40,
            "files": 100,
        }
        return ["python3", str(self.read / "probe.py"), json.dumps(probe_args)]


@pytest.fixture
def layout() -> Iterator[Layout]:
    made = Layout(os.getuid())
    yield made
    shutil.rmtree(made.base, ignore_errors=True)


ENV = {"ALLOWED_ENV": "visible", "DENIED_ENV": "hidden"}


async def _probe_as_me(layout: Layout, backend: str, network: bool) -> dict[str, Any]:
    run = await run_plugin(
        "builtin:shell",
        input={"command": layout.command()},
        permissions=Permissions(**layout.permissions(network)),
        sandbox=backend,
        env=ENV,
        timeout=60,
        runners=Runners(artifacts_root=layout.tmp),
    )
    assert run.backend == backend
    assert run.result.status == "success", run.result.stderr
    return json.loads(run.result.stdout)  # type: ignore[no-any-return]


def _python_for(uid: int) -> str:
    """An interpreter that user can run with reflow's dependencies importable."""
    site = next(Path(sys.prefix).glob("lib/python*/site-packages"))
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if not candidate:
            continue
        try:
            done = subprocess.run(
                [candidate, "-c", "import pydantic, pyseccomp, reflow.runners"],
                user=uid,
                group=uid,
                extra_groups=[],
                capture_output=True,
                check=False,
                env={"PYTHONPATH": f"{SRC}:{site}", "PATH": os.environ["PATH"]},
            )
        except OSError:  # not even executable for that user (a home directory it cannot enter)
            continue
        if done.returncode == 0:
            return candidate
    pytest.fail("no Python interpreter usable by the throw-away user")


def _probe_as_user(backend: str, network: bool) -> dict[str, Any]:
    uid = random.randint(40000, 59999)
    layout = Layout(uid)
    try:
        site = next(Path(sys.prefix).glob("lib/python*/site-packages"))
        config = {
            "command": layout.command(),
            "permissions": layout.permissions(network),
            "backend": backend,
            "env": ENV,
            "tmp": str(layout.tmp),
        }
        done = subprocess.run(
            [_python_for(uid), str(HERE / "sandbox_driver.py"), json.dumps(config)],
            user=uid,
            group=uid,
            extra_groups=[],
            capture_output=True,
            check=False,
            cwd=layout.base,
            timeout=120,
            env={"PYTHONPATH": f"{SRC}:{site}", "PATH": os.environ["PATH"]},
        )
        assert done.returncode == 0, done.stderr.decode()
        run = json.loads(done.stdout)
        assert run["backend"] == backend
        assert run["status"] == "success", run["stderr"]
        found: dict[str, Any] = json.loads(run["stdout"])
        assert found["uid"] == uid or backend == "bwrap"
        assert (layout.write / "out.txt").stat().st_uid == uid
        return found
    finally:
        shutil.rmtree(layout.base, ignore_errors=True)


def _check_confined(found: dict[str, Any], layout: Layout | None = None) -> None:
    assert found["read_grant"] == "ok"
    assert found["write_grant"] == "ok"
    assert found["exec_allowed"] == "ok"
    assert found["env_allowed"] == "visible"
    denied = (
        "write_outside",
        "write_into_read_grant",
        "read_outside",
        "tcp_6379",
        "tcp_5432",
        "unix_postgres",
        "udp",
        "exec_denied",
    )
    for key in denied:
        assert found[key] in DENIED, (key, found[key])
    assert found["memory"] == "MemoryError"
    assert found["open_files"] == "EMFILE"  # open_files=64
    # RLIMIT_NPROC binds every user but root (the kernel exempts uid 0).
    assert found["processes"] == ("ok" if found["uid"] == 0 else "EAGAIN")
    assert found["env_denied"] == "absent"
    if layout is not None:
        assert not (layout.outside / "evil.txt").exists()
        assert not (layout.read / "evil.txt").exists()
        assert (layout.write / "out.txt").read_text() == "written from the sandbox"


BACKENDS = ["bwrap", "landlock"]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_confinement_as_the_current_user(backend: str, layout: Layout) -> None:
    need_backend(backend)
    need_services()
    _check_confined(await _probe_as_me(layout, backend, network=False), layout)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_network_grant_allows_tcp_and_unix_sockets(backend: str, layout: Layout) -> None:
    need_backend(backend)
    need_services()
    found = await _probe_as_me(layout, backend, network=True)
    assert found["tcp_6379"] == "ok" and found["tcp_5432"] == "ok"
    assert found["unix_postgres"] == "ok"
    assert found["read_outside"] in DENIED and found["exec_denied"] in DENIED


@pytest.mark.parametrize("backend", BACKENDS)
def test_confinement_as_a_throw_away_non_root_user(backend: str) -> None:
    if os.getuid() != 0:
        pytest.skip("switching to a throw-away user needs root; the other tests run as non-root")
    need_backend(backend)
    need_services()
    _check_confined(_probe_as_user(backend, network=False))


@pytest.mark.parametrize("backend", BACKENDS)
async def test_cpu_time_limit_ends_a_busy_loop(backend: str) -> None:
    need_backend(backend)
    run = await run_plugin(
        "builtin:shell",
        input={"command": ["python3", "-c", "while True: pass"]},
        permissions=Permissions(cpu_seconds=1, exec=["python3"]),
        sandbox=backend,
        timeout=60,
    )
    assert run.result.status == "failed"
    # SIGKILL (soft = hard limit), or bwrap reporting its child's death by that signal.
    assert run.result.signal == 9 or run.result.exit_code in (137, 128 + 9)
    assert run.report["cpu_seconds"] == "enforced"
