"""Confining the calling process: rlimits, ``NO_NEW_PRIVS``, Landlock, then seccomp.

Standard library plus ``_landlock`` only: the Landlock backend's fork server imports this
file by path in a bare interpreter. The policy is one directive per line::

    limit <cpu|as|nofile|nproc> <value>
    rule <rights> <path>
    deny_tcp
"""

import ctypes
import os
import resource

if __package__:  # imported as part of reflow (tests, tooling)
    from reflow.runners import _landlock
else:  # run by path in the fork server's bare interpreter: the file next to this one
    import _landlock  # type: ignore[import-not-found, no-redef]

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


def load_seccomp(fd: int) -> None:
    """Load the BPF program that can be read from ``fd`` (compiled by the parent)."""
    program = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        program += chunk
    buffer = ctypes.create_string_buffer(program, len(program))
    prog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, "seccomp: " + os.strerror(err))


def confine(policy: str, seccomp_fd: int) -> None:
    """Apply ``policy`` to this process (irreversibly), then the seccomp program."""
    rules = []
    deny_tcp = False
    for line in policy.split("\n"):
        word, _, rest = line.partition(" ")
        if word == "limit":
            name, value = rest.split(" ")
            resource.setrlimit(_LIMITS[name], (int(value), int(value)))
        elif word == "rule":
            rights, path = rest.split(" ", 1)
            rules.append((path, int(rights)))
        elif word == "deny_tcp":
            deny_tcp = True
    _landlock.restrict(rules, deny_tcp=deny_tcp, scope_signals=True, scope_abstract=deny_tcp)
    load_seccomp(seccomp_fd)
