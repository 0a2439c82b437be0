"""The Landlock backend's launcher: confine this process, then ``execve`` the command.

Run as ``python -E -s -S _sandbox_launch.py POLICY -- ARGV...`` (the command's environment is
the launcher's own). POLICY is one directive per line (no JSON: importing ``json`` pulls in
``re``, and the launcher's start-up is the backend's overhead)::

    limit <cpu|as|nofile|nproc> <value>
    rule <rights> <path>
    deny_tcp
    seccomp <fd>
    exec <path> It imports only the standard library and ``_landlock`` next to it, applies
rlimits, ``NO_NEW_PRIVS``, the Landlock ruleset and the seccomp filter (a BPF program the
parent compiled, read from an inherited fd) in that order, and execs. A re-exec'd launcher
instead of ``preexec_fn`` keeps the parent's fork free of Python code (thread-safe).
"""

import ctypes
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
    rules = []
    deny_tcp = False
    seccomp_fd = None
    executable = ""
    for line in sys.argv[1].split("\n"):
        word, _, rest = line.partition(" ")
        if word == "limit":
            name, value = rest.split(" ")
            resource.setrlimit(_LIMITS[name], (int(value), int(value)))
        elif word == "rule":
            rights, path = rest.split(" ", 1)
            rules.append((path, int(rights)))
        elif word == "deny_tcp":
            deny_tcp = True
        elif word == "seccomp":
            seccomp_fd = int(rest)
        elif word == "exec":
            executable = rest
    argv = sys.argv[3:]  # after "--"
    _landlock.restrict(rules, deny_tcp=deny_tcp, scope_signals=True, scope_abstract=deny_tcp)
    if seccomp_fd is not None:
        _load_seccomp(seccomp_fd)
    try:
        os.execv(executable, argv)
    except OSError as exc:
        sys.stderr.write(f"reflow sandbox: cannot execute {argv[0]}: {exc.strerror}\n")
        os._exit(126 if exc.errno == 13 else 127)


if __name__ == "__main__":
    main()
