"""The Landlock backend's launcher: confine this process, then ``execve`` the command.

Run as ``python -E -s -S _sandbox_launch.py POLICY_JSON`` (the command's environment is the
launcher's own). It imports only the standard library and ``_landlock`` next to it, applies
rlimits, ``NO_NEW_PRIVS``, the Landlock ruleset and the seccomp filter (a BPF program the
parent compiled, read from an inherited fd) in that order, and execs. A re-exec'd launcher
instead of ``preexec_fn`` keeps the parent's fork free of Python code (thread-safe).
"""

import ctypes
import json
import os
import resource
import sys

import _landlock  # type: ignore[import-not-found]  # the file next to this one

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
_LIMITS = {
    "cpu": resource.RLIMIT_CPU,
    "as": resource.RLIMIT_AS,
    "nofile": resource.RLIMIT_NOFILE,
    "nproc": resource.RLIMIT_NPROC,
}


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _load_seccomp(fd: int) -> None:
    program = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        program += chunk
    os.close(fd)
    buffer = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "seccomp: " + os.strerror(err))


def main() -> None:
    policy = json.loads(sys.argv[1])
    for name, value in policy["limits"].items():
        resource.setrlimit(_LIMITS[name], (value, value))
    _landlock.restrict(
        [(path, rights) for path, rights in policy["rules"]],
        deny_tcp=policy["deny_tcp"],
        scope_signals=True,
        scope_abstract=policy["deny_tcp"],
    )
    if policy["seccomp_fd"] is not None:
        _load_seccomp(policy["seccomp_fd"])
    argv = policy["argv"]
    try:
        os.execv(policy["executable"], argv)
    except OSError as exc:
        sys.stderr.write(f"reflow sandbox: cannot execute {argv[0]}: {exc.strerror}\n")
        os._exit(126 if exc.errno == 13 else 127)


if __name__ == "__main__":
    main()
