"""A small ctypes binding of Linux Landlock (no dependency; the fork server imports it too).

This module must import nothing from reflow: the sandbox fork server loads it by file path
in a bare interpreter. ``abi()`` probes the kernel; ``restrict(...)`` builds a ruleset and
applies it to the calling thread (and, since it is called right before ``execve``, to the
command and everything it starts).
"""

from __future__ import annotations

import ctypes
import os

_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446  # same numbers on every arch
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
_FILE_ONLY = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
READ = READ_FILE | READ_DIR
PR_SET_NO_NEW_PRIVS = 38

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi() -> int:
    """The Landlock ABI version of the running kernel, 0 when Landlock is unavailable."""
    version = _libc.syscall(
        _SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
    )
    return max(int(version), 0)


def fs_rights(version: int) -> int:
    """Every filesystem right the kernel of ABI ``version`` knows."""
    return _FS_BY_ABI.get(version, (1 << 16) - 1)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"landlock {what}: {os.strerror(err)}")
    return result


def restrict(
    rules: list[tuple[str, int]], *, deny_tcp: bool, scope_signals: bool, scope_abstract: bool
) -> int:
    """Allow only ``rules`` (``(path, rights)``) on the filesystem; return the ABI used.

    ``deny_tcp`` forbids TCP bind and connect (ABI >= 4); ``scope_signals`` forbids signals
    to processes outside the sandbox and ``scope_abstract`` connecting to abstract Unix
    sockets outside it (ABI >= 6). A path that does not exist is skipped.
    """
    version = abi()
    if version < 1:
        raise OSError("Landlock is not available in this kernel")
    handled = fs_rights(version)
    attr = _RulesetAttr(handled_access_fs=handled)
    size = 8
    if version >= 4:
        size = 16
        if deny_tcp:
            attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
    if version >= 6:
        size = 24
        attr.scoped = (SCOPE_SIGNAL if scope_signals else 0) | (
            SCOPE_ABSTRACT_UNIX if scope_abstract else 0
        )
    ruleset = _check(
        _libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)),
        "create_ruleset",
    )
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                allowed = rights & handled
                if not os.path.isdir(path):
                    allowed &= _FILE_ONLY
                beneath = _PathBeneath(allowed_access=allowed, parent_fd=fd)
                _check(
                    _libc.syscall(
                        _SYS_ADD_RULE,
                        ctypes.c_int(ruleset),
                        ctypes.c_int(_RULE_PATH_BENEATH),
                        ctypes.byref(beneath),
                        ctypes.c_uint32(0),
                    ),
                    f"add_rule {path}",
                )
            finally:
                os.close(fd)
        _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")
        _check(
            _libc.syscall(_SYS_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)),
            "restrict_self",
        )
    finally:
        os.close(ruleset)
    return version
