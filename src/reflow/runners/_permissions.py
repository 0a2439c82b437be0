"""What a plugin command may do: the grants of a manifest, flat so handlers override by key."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Permissions(BaseModel):
    """Grants. Anything not granted is denied (by a backend that can enforce it).

    Paths are absolute or relative to the command's cwd. ``env`` names variables the command
    may see (exact names, or a prefix ending in ``*``). ``exec`` lists the executables it may
    run besides its own (names looked up on ``PATH``, or paths); None allows any under
    ``/usr``. Limits: ``cpu_seconds`` (CPU time), ``memory_mb`` (address space),
    ``wall_seconds``, ``processes``, ``open_files``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()
    network: bool = False
    env: tuple[str, ...] = ()
    exec: tuple[str, ...] | None = None
    cpu_seconds: int | None = Field(default=None, gt=0)
    memory_mb: int | None = Field(default=None, gt=0)
    wall_seconds: float | None = Field(default=None, gt=0)
    processes: int | None = Field(default=None, gt=0)
    open_files: int | None = Field(default=None, gt=0)

    def override(self, handler: Permissions | None) -> Permissions:
        """This plugin-wide set with every key the handler sets replaced by the handler's."""
        if handler is None:
            return self
        return self.model_copy(update=handler.model_dump(exclude_unset=True))

    def allows_env(self, name: str) -> bool:
        return any(
            name == item or (item.endswith("*") and name.startswith(item[:-1])) for item in self.env
        )

    def requested(self) -> dict[str, Any]:
        """The grants that constrain something, for the enforcement report."""
        found: dict[str, Any] = {
            "read": list(self.read),
            "write": list(self.write),
            "network": self.network,
            "env": list(self.env),
        }
        if self.exec is not None:
            found["exec"] = list(self.exec)
        for key in ("cpu_seconds", "memory_mb", "wall_seconds", "processes", "open_files"):
            value = getattr(self, key)
            if value is not None:
                found[key] = value
        return found
