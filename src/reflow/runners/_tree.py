"""Finding and ending every process a command started, including ones that left its session.

A command starts in a session of its own (``start_new_session``, done by ``subprocess`` in C,
so it is safe under asyncio). ``killpg`` alone misses descendants that call ``setsid()``, so
the tree is the union of:

- processes in the command's session or process group;
- descendants of the command by parent pid;
- processes whose environment carries the command's tag variable (every descendant inherits
  it unless it clears its environment; readable for processes of our own uid, and for all
  of them as root). This is what finds a detached grandchild whose parent already exited.

The scan reads ``/proc``; off Linux only the process group is signalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterable

TAG_VARIABLE = "REFLOW_PROCESS_TREE"
_PROC = "/proc"


def _stat(pid: int) -> tuple[str, int, int, int] | None:
    """``(state, ppid, pgid, sid)`` of ``pid``, or None when it is gone."""
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    fields = data[data.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[1]), int(fields[2]), int(fields[3])


def _has_tag(pid: int, tag: bytes) -> bool:
    try:
        with open(f"{_PROC}/{pid}/environ", "rb") as handle:
            return tag in handle.read().split(b"\0")
    except OSError:
        return False


def _pids() -> list[int]:
    try:
        return [int(name) for name in os.listdir(_PROC) if name.isdigit()]
    except OSError:
        return []


def tree_members(root: int, tag: str | None) -> set[int]:
    """Live (non-zombie) pids of the tree started as ``root`` (``root`` included if alive)."""
    me = os.getpid()
    table: dict[int, tuple[str, int, int, int]] = {}
    for pid in _pids():
        stat = _stat(pid)
        if stat is not None:
            table[pid] = stat
    members = {pid for pid, (_, _, pgid, sid) in table.items() if root in (pgid, sid)}
    if root in table:
        members.add(root)
    children: dict[int, list[int]] = {}
    for pid, (_, ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    stack = list(members)
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in members:
                members.add(child)
                stack.append(child)
    if tag is not None:
        needle = f"{TAG_VARIABLE}={tag}".encode()
        for pid in table:
            if pid not in members and _has_tag(pid, needle):
                members.add(pid)
    members.discard(me)
    return {pid for pid in members if table.get(pid, ("Z",))[0] not in ("Z", "X")}


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def terminate_tree(root: int, tag: str | None, grace: float) -> None:
    """SIGTERM the whole tree, wait up to ``grace`` seconds, then SIGKILL what is left.

    The tree is scanned again before each signal, so processes forked in between are caught.
    """
    if not os.path.isdir(_PROC):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(root, sig)
            except (ProcessLookupError, PermissionError):
                return
            await asyncio.sleep(grace)
        return
    members = tree_members(root, tag)
    _signal_all(members, signal.SIGTERM)
    signalled = set(members)
    deadline = time.monotonic() + grace
    delay = 0.005
    while members and time.monotonic() < deadline:
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.05)
        members = tree_members(root, tag)
        _signal_all(members - signalled, signal.SIGTERM)  # each process is asked once
        signalled |= members
    # Kill until nothing is left: a fork between two scans is caught by the next one.
    for _ in range(50):
        members = tree_members(root, tag)
        if not members:
            return
        # The root's own group first, in one call: killed one by one, a shell could see its
        # child die and exit on its own (status 137) between two kills, hiding the SIGKILL.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(root, signal.SIGKILL)
        _signal_all(members, signal.SIGKILL)
        await asyncio.sleep(0.01)
