"""The seccomp filter both confining backends load, compiled with libseccomp (pyseccomp).

With the network off it denies creating Internet, Unix, packet and netlink sockets (Landlock
covers neither UDP nor ``connect()`` on a Unix socket path; an empty network namespace does
not hide a bound Unix socket); ``socketpair`` stays allowed. io_uring is always denied: it
can open sockets without the ``socket`` system call.
"""

from __future__ import annotations

import errno
import functools
import os
import socket
import tempfile
from typing import Any

_DENIED_FAMILIES = ("AF_INET", "AF_INET6", "AF_UNIX", "AF_PACKET", "AF_NETLINK")
_IO_URING = ("io_uring_setup", "io_uring_enter", "io_uring_register")


def _pyseccomp() -> Any:
    import pyseccomp  # type: ignore[import-untyped]

    return pyseccomp


def available() -> str | None:
    """None when filters can be built here, else why not."""
    try:
        _pyseccomp()
    except ImportError:
        return "seccomp: pyseccomp is not installed (pip install 'reflow[sandbox]')"
    except OSError as exc:
        return f"seccomp: libseccomp cannot be loaded ({exc}; apt-get install libseccomp2)"
    try:
        bpf(network=False)
    except Exception as exc:  # a libseccomp too old for a rule, an unknown architecture
        return f"seccomp: cannot build the filter ({type(exc).__name__}: {exc})"
    return None


@functools.lru_cache(maxsize=2)
def bpf(*, network: bool) -> bytes:
    """The compiled BPF program for a sandbox with the network on or off."""
    sc = _pyseccomp()
    deny = sc.ERRNO(errno.EPERM)
    flt = sc.SyscallFilter(sc.ALLOW)
    if not network:
        for family in _DENIED_FAMILIES:
            value = getattr(socket, family, None)
            if value is not None:
                flt.add_rule(deny, "socket", sc.Arg(0, sc.EQ, int(value)))
    for name in _IO_URING:
        flt.add_rule(deny, name)
    with tempfile.TemporaryFile() as handle:
        flt.export_bpf(handle)
        handle.seek(0)
        return handle.read()


def program_fd(*, network: bool) -> int:
    """A readable fd positioned at the start of the program (the caller closes it)."""
    data = bpf(network=network)
    fd = os.memfd_create("reflow-seccomp", 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd
