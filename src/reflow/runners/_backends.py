"""Sandbox backends: which one works here, what each enforces, and the argv each runs.

- ``bwrap``: bubblewrap with every namespace unshared, capabilities dropped, a root built
  only from ``/usr``, a few ``/etc`` files and the grants, plus the seccomp filter and
  rlimits (through ``prlimit``);
- ``landlock``: a fork server (``_sandbox_zygote.py``) whose child applies rlimits, a
  Landlock ruleset and the seccomp filter to itself, then execs the command;
- ``none``: no boundary at all (rlimits, env filtering and a session only), by request.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Literal

from reflow.runners import _landlock, _seccomp
from reflow.runners._permissions import Permissions

Backend = Literal["bwrap", "landlock", "none"]
Enforcement = Literal["enforced", "best-effort", "not enforced"]

SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
_BASE_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ssl",
    "/etc/localtime",
    "/etc/passwd",
    "/etc/group",
    "/etc/nsswitch.conf",
)
_NET_FILES = ("/etc/hosts", "/etc/resolv.conf", "/etc/host.conf", "/etc/gai.conf")
_DEVICES = ("/dev/null", "/dev/zero", "/dev/urandom", "/dev/random")
_BIN_DIRS = ("/usr/bin", "/usr/sbin", "/usr/local/bin", "/usr/local/sbin")
_LIMIT_FLAGS = {"cpu": "--cpu", "as": "--as", "nofile": "--nofile", "nproc": "--nproc"}


@dataclass(frozen=True, slots=True)
class Probe:
    """Whether each backend works on this host, and why not."""

    bwrap: str | None
    landlock: str | None

    def problem(self, backend: Backend) -> str | None:
        return None if backend == "none" else getattr(self, backend)


@functools.lru_cache(maxsize=1)
def probe() -> Probe:
    """Probed once per process: run a trivial command in bwrap; check Landlock and seccomp."""
    return Probe(bwrap=_probe_bwrap(), landlock=_probe_landlock())


def _probe_bwrap() -> str | None:
    exe = shutil.which("bwrap")
    if exe is None:
        return (
            "bubblewrap: not found (install: apt-get install bubblewrap / dnf install bubblewrap)"
        )
    if shutil.which("prlimit") is None:
        return "bubblewrap: prlimit (util-linux) not found, so limits cannot be applied"
    argv = minimal_bwrap_argv(exe)
    try:
        done = subprocess.run(argv, capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap: does not start ({exc})"
    if done.returncode != 0:
        detail = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        return (
            f"bubblewrap: user namespaces unavailable ({detail!r}; on Ubuntu >= 23.10 an admin "
            "must allow them for bwrap)"
        )
    return _seccomp.available()


def minimal_bwrap_argv(exe: str = "bwrap") -> list[str]:
    """bubblewrap's smallest root around ``true``: the probe, and the benchmark's floor."""
    args = [exe, "--unshare-all", "--cap-drop", "ALL", "--die-with-parent"]
    return [*args, "--ro-bind", "/usr", "/usr", *_usr_links(), "/usr/bin/true"]


def _probe_landlock() -> str | None:
    if not sys.platform.startswith("linux"):
        return "Landlock: not on Linux"
    version = _landlock.abi()
    if version < 1:
        return (
            "Landlock: not supported by this kernel (needs Linux >= 5.13 with landlock in the "
            "LSM list; network rules need >= 6.7)"
        )
    return _seccomp.available()


def choose(requested: str) -> Backend:
    """The backend to use for ``requested`` ("auto" picks bwrap, then landlock)."""
    if requested in ("bwrap", "landlock", "none"):
        return requested  # type: ignore[return-value]
    found = probe()
    if found.bwrap is None:
        return "bwrap"
    if found.landlock is None:
        return "landlock"
    return "none"


def enforcement(backend: Backend, permissions: Permissions) -> dict[str, Enforcement]:
    """For each requested grant, whether ``backend`` enforces it."""
    root = os.geteuid() == 0
    table: dict[str, Enforcement]
    if backend == "none":
        table = {
            "read": "not enforced",
            "write": "not enforced",
            "network": "not enforced",
            "exec": "not enforced",
            "processes": "not enforced" if root else "enforced",
        }
    else:
        # Allowed executables: an allowed interpreter (or ld.so) can still run other code.
        table = {"exec": "best-effort"}
        if root:
            # The kernel exempts uid 0 from RLIMIT_NPROC, and bwrap maps root to itself.
            table["processes"] = "not enforced"
    report: dict[str, Enforcement] = {}
    for key, value in permissions.requested().items():
        if key == "network" and value:
            continue  # granted: nothing to enforce
        report[key] = table.get(key, "enforced")
    return report


@dataclass(slots=True)
class Confinement:
    """The paths, executables, environment and limits of one sandboxed command."""

    argv: list[str]
    executable: str
    cwd: str
    read: list[str]
    write: list[str]
    exec_paths: list[str] | None
    network: bool
    env: dict[str, str]
    limits: dict[str, int] = field(default_factory=dict)


def limits_of(permissions: Permissions) -> dict[str, int]:
    limits: dict[str, int] = {}
    if permissions.cpu_seconds is not None:
        limits["cpu"] = permissions.cpu_seconds
    if permissions.memory_mb is not None:
        limits["as"] = permissions.memory_mb * 1024 * 1024
    if permissions.open_files is not None:
        limits["nofile"] = permissions.open_files
    if permissions.processes is not None:
        limits["nproc"] = permissions.processes
    return limits


def _prlimit(limits: dict[str, int]) -> list[str]:
    if not limits:
        return []
    prlimit = shutil.which("prlimit") or "prlimit"
    return [prlimit, *(f"{_LIMIT_FLAGS[k]}={v}" for k, v in limits.items()), "--"]


def _usr_links() -> list[str]:
    links: list[str] = []
    for top in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        path = f"/{top}"
        if os.path.islink(path):
            links += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            links += ["--ro-bind", path, path]
    return links


def bwrap_argv(c: Confinement, seccomp_fd: int) -> list[str]:
    args = [
        shutil.which("bwrap") or "bwrap",
        "--unshare-all",
        "--cap-drop",
        "ALL",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
    ]
    if c.network:
        args.append("--share-net")
    for key, value in c.env.items():
        args += ["--setenv", key, value]
    args += ["--ro-bind", "/usr", "/usr"]
    if c.exec_paths is not None:
        # Only the allowed executables are visible in the bin directories.
        bound: set[str] = set()
        for folder in _BIN_DIRS:
            if os.path.isdir(folder):
                args += ["--tmpfs", folder]
        for path in dict.fromkeys(c.exec_paths):  # once each, in order
            real = os.path.realpath(path)
            if real not in bound:
                args += ["--ro-bind", real, real]
                bound.add(real)
            if path != real and path not in bound:
                args += ["--symlink", real, path]
                bound.add(path)
    args += _usr_links()
    args += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in _BASE_FILES + (_NET_FILES if c.network else ()):
        args += ["--ro-bind-try", path, path]
    for path in c.read:
        args += ["--ro-bind-try", path, path]
    for path in c.write:
        args += ["--bind-try", path, path]
    args += ["--chdir", c.cwd, "--seccomp", str(seccomp_fd), "--", c.executable, *c.argv[1:]]
    return _prlimit(c.limits) + args


def _loaders() -> list[str]:
    found: set[str] = set()
    for pattern in (
        "/lib64/ld-linux*.so*",
        "/lib/ld-linux*.so*",
        "/lib/*/ld-linux*.so*",
        "/lib/ld-musl*.so*",
    ):
        found.update(os.path.realpath(path) for path in glob.glob(pattern))
    return sorted(found)


def landlock_policy(c: Confinement) -> str:
    """The directives ``_confine.confine`` applies in the fork server's child."""
    rights = _landlock.fs_rights(_landlock.abi())
    read = _landlock.READ
    rules: list[tuple[str, int]] = []
    rules.append(("/usr", read | (_landlock.EXECUTE if c.exec_paths is None else 0)))
    for path in _BASE_FILES + (_NET_FILES if c.network else ()):
        rules.append((path, read))
    for path in _DEVICES:
        rules.append((path, _landlock.READ_FILE | _landlock.WRITE_FILE))
    rules += [(path, read) for path in c.read]
    rules += [(path, rights & ~_landlock.EXECUTE) for path in c.write]
    if c.exec_paths is not None:
        for path in [*c.exec_paths, *_loaders()]:
            rules.append((os.path.realpath(path), read | _landlock.EXECUTE))
    rules.append((os.path.realpath(c.executable), read | _landlock.EXECUTE))
    lines = [f"limit {name} {value}" for name, value in c.limits.items()]
    lines += [f"rule {rights} {path}" for path, rights in rules if "\n" not in path]
    if not c.network:
        lines.append("deny_tcp")
    return "\n".join(lines)


def none_argv(c: Confinement) -> list[str]:
    return [*_prlimit(c.limits), c.executable, *c.argv[1:]]
