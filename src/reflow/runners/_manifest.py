"""Plugin manifests and the ``uses`` references that name their commands.

A manifest (a JSON file or a dict)::

    {"id": "@acme/quality", "version": "1.2.0",
     "permissions": {"read": ["src"], "network": false, "memory_mb": 512},
     "handlers": [{"id": "audit", "command": ["python3", "audit.py"],
                   "permissions": {"write": ["reports"]}}],
     "commands": [{"id": "lint", "command": ["python3", "lint.py"]}]}

References: ``plugin:<id>/<handler>`` (``<id>`` may be scoped, ``@acme/quality``, or short,
``quality``, when only one plugin ends with it), ``command:<name>``, ``builtin:shell``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from reflow.runners._errors import ErrorCode, ManifestError, ResolutionError, RunnerError
from reflow.runners._permissions import Permissions


class HandlerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1)
    command: tuple[str, ...] = Field(min_length=1)
    describe: str = ""
    permissions: Permissions | None = None

    @field_validator("command")
    @classmethod
    def _non_empty_parts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not part for part in value):
            raise ValueError("every part of the command must be a non-empty string")
        return value


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, pattern=r"^(@[A-Za-z0-9._-]+/)?[A-Za-z0-9._-]+$")
    version: str = "0.0.0"
    describe: str = ""
    permissions: Permissions = Permissions()
    handlers: tuple[HandlerSpec, ...] = ()
    commands: tuple[HandlerSpec, ...] = ()


@dataclass(frozen=True, slots=True)
class LoadedPlugin:
    manifest: Manifest
    root: Path


@dataclass(frozen=True, slots=True)
class ResolvedCommand:
    """A ``uses`` reference resolved to what to run and with which grants."""

    uses: str
    plugin_id: str
    handler: str
    argv: tuple[str, ...]
    root: Path | None
    permissions: Permissions


def _describe_errors(source: str, exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"]) or "(root)"
        lines.append(f"  {where}: {error['msg']}")
    return f"invalid plugin manifest {source}:\n" + "\n".join(lines)


def load_manifest(
    source: str | os.PathLike[str] | Mapping[str, Any], root: str | os.PathLike[str] | None = None
) -> LoadedPlugin:
    """Validate a manifest file (its folder is the plugin root) or dict (``root`` required)."""
    if isinstance(source, Mapping):
        if root is None:
            raise ManifestError("a manifest given as a dict needs root= (the plugin's folder)")
        data: Any = dict(source)
        name = f"for {data.get('id', '?')!r}"
        base = Path(root)
    else:
        path = Path(source)
        name = str(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ManifestError(f"cannot read plugin manifest {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise ManifestError(
                f"invalid plugin manifest {path}: not JSON (line {exc.lineno}: {exc.msg})"
            ) from None
        base = Path(root) if root is not None else path.parent
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(_describe_errors(name, exc)) from None
    return LoadedPlugin(manifest, base.resolve())


class PluginRegistry:
    """The plugins ``run_plugin`` can resolve references against."""

    def __init__(self, plugins: Iterable[LoadedPlugin | str | os.PathLike[str]] = ()) -> None:
        self._plugins: list[LoadedPlugin] = []
        for plugin in plugins:
            self.add(plugin)

    def add(
        self,
        plugin: LoadedPlugin | str | os.PathLike[str] | Mapping[str, Any],
        root: str | os.PathLike[str] | None = None,
    ) -> LoadedPlugin:
        loaded = plugin if isinstance(plugin, LoadedPlugin) else load_manifest(plugin, root)
        if any(p.manifest.id == loaded.manifest.id for p in self._plugins):
            raise ManifestError(f"plugin {loaded.manifest.id!r} is already registered")
        self._plugins.append(loaded)
        return loaded

    def find_plugin(self, plugin_id: str) -> LoadedPlugin:
        exact = [p for p in self._plugins if p.manifest.id == plugin_id]
        if exact:
            return exact[0]
        short = [p for p in self._plugins if p.manifest.id.endswith("/" + plugin_id)]
        if len(short) > 1:
            names = ", ".join(sorted(p.manifest.id for p in short))
            raise ResolutionError(f"plugin id {plugin_id!r} is ambiguous: {names}")
        if not short:
            raise ResolutionError(f"plugin not found: {plugin_id!r}")
        return short[0]

    def resolve(self, uses: str) -> ResolvedCommand:
        if not isinstance(uses, str) or not uses:
            raise RunnerError(
                f"uses must be a non-empty string, got {uses!r}", ErrorCode.INVALID_STEP
            )
        kind, sep, rest = uses.partition(":")
        if sep and kind == "plugin":
            return self._resolve_plugin(uses, rest)
        if sep and kind == "command":
            return self._resolve_command(uses, rest)
        raise RunnerError(
            f"unsupported uses {uses!r}: expected 'plugin:<id>/<handler>', "
            "'command:<name>' or 'builtin:shell'",
            ErrorCode.UNSUPPORTED_STEP,
        )

    def _resolve_plugin(self, uses: str, ref: str) -> ResolvedCommand:
        parts = ref.split("/")
        if parts[0].startswith("@") and len(parts) >= 3:
            plugin_id, handler = "/".join(parts[:2]), "/".join(parts[2:])
        elif len(parts) >= 2 and not parts[0].startswith("@"):
            plugin_id, handler = parts[0], "/".join(parts[1:])
        else:
            raise ResolutionError(
                f"invalid plugin reference {uses!r}: expected 'plugin:<id>/<handler>'"
            )
        if not plugin_id or not handler:
            raise ResolutionError(
                f"invalid plugin reference {uses!r}: expected 'plugin:<id>/<handler>'"
            )
        plugin = self.find_plugin(plugin_id)
        for spec in plugin.manifest.handlers:
            if spec.id == handler:
                return self._made(uses, plugin, spec)
        raise ResolutionError(
            f"workflow handler not found: {handler!r} in plugin {plugin.manifest.id!r}"
        )

    def _resolve_command(self, uses: str, name: str) -> ResolvedCommand:
        for plugin in self._plugins:
            for spec in plugin.manifest.commands:
                if spec.id == name:
                    return self._made(uses, plugin, spec)
        raise ResolutionError(f"command not found: {name!r}")

    @staticmethod
    def _made(uses: str, plugin: LoadedPlugin, spec: HandlerSpec) -> ResolvedCommand:
        argv = list(spec.command)
        # A relative path with a slash is a file of the plugin; a bare name is on PATH.
        if "/" in argv[0] and not os.path.isabs(argv[0]):
            argv[0] = str(plugin.root / argv[0])
        return ResolvedCommand(
            uses=uses,
            plugin_id=plugin.manifest.id,
            handler=spec.id,
            argv=tuple(argv),
            root=plugin.root,
            permissions=plugin.manifest.permissions.override(spec.permissions),
        )
