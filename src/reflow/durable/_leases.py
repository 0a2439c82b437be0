"""Which process drives which run: process rows, heartbeats and finding dead processes.

A run's lease is the ``owner`` column of its row: the token of the process driving it, or NULL
when no process holds it (released while waiting, or finished).  A process keeps its leases by
heartbeating its row in ``processes``; every write to a run checks ``owner`` (see ``_ops``).

A process is dead when its heartbeat is older than ``lease_seconds``, or at once when it ran on
this host (same hostname and PID namespace) and its PID no longer exists.  Reaping deletes the
row of a dead process; its runs then have an owner that is not alive, and the next process
that scans (or launches) claims them.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import uuid
from dataclasses import dataclass


def new_owner_token() -> str:
    return uuid.uuid4().hex


def host_identity() -> str:
    """The hostname plus the PID namespace: PIDs are comparable only within one namespace."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        namespace = 0
    return f"{socket.gethostname()}/{namespace}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists on this host (a zombie counts as dead)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


@dataclass(slots=True)
class Register:
    """Insert (or refresh) this process's row; done at launch and by every heartbeat."""

    owner: str
    pid: int
    host: str
    now: float

    def __call__(self, conn: sqlite3.Connection) -> bool:
        """Returns True if the row had to be inserted (at launch, or after being reaped)."""
        updated = conn.execute(
            "UPDATE processes SET heartbeat_at = ? WHERE owner = ?", (self.now, self.owner)
        )
        if updated.rowcount:
            return False
        conn.execute(
            "INSERT INTO processes (owner, pid, host, started_at, heartbeat_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (self.owner, self.pid, self.host, self.now, self.now),
        )
        return True


@dataclass(slots=True)
class Reap:
    """Delete the rows of dead processes; returns their owner tokens."""

    me: str
    host: str
    now: float
    lease_seconds: float

    def __call__(self, conn: sqlite3.Connection) -> list[str]:
        dead: list[str] = []
        stale_before = self.now - self.lease_seconds
        for owner, pid, host, heartbeat_at in conn.execute(
            "SELECT owner, pid, host, heartbeat_at FROM processes"
        ).fetchall():
            if owner == self.me:
                continue
            if heartbeat_at < stale_before or (host == self.host and not pid_alive(int(pid))):
                dead.append(str(owner))
        conn.executemany("DELETE FROM processes WHERE owner = ?", [(o,) for o in dead])
        return dead


@dataclass(slots=True)
class Unregister:
    """Remove this process's row and give back any lease it still holds."""

    owner: str

    def __call__(self, conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM processes WHERE owner = ?", (self.owner,))
        conn.execute("UPDATE runs SET owner = NULL WHERE owner = ?", (self.owner,))
