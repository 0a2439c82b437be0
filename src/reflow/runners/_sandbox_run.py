"""``run_plugin``: a manifest's command, confined by the kernel, as a structured result."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from reflow.observability import start_command_span
from reflow.runners import _backends, _seccomp, _zygote
from reflow.runners._config import Runners, default_runners
from reflow.runners._env import merge_env
from reflow.runners._errors import ErrorCode, InvalidCommand, SandboxError
from reflow.runners._exec import Launch, OutputLine, execute
from reflow.runners._identity import current_identity
from reflow.runners._manifest import ResolvedCommand
from reflow.runners._permissions import Permissions
from reflow.runners._result import CommandResult, ErrorInfo
from reflow.runners._shell import (
    check_command,
    check_cwd,
    check_timeout,
    raise_unless_ok,
    stdin_bytes,
    step_variables,
)

log = logging.getLogger("reflow.runners.sandbox")
_ALWAYS_ENV = ("LANG", "LC_ALL", "TZ")


@dataclass(frozen=True, slots=True)
class PluginRun:
    """A plugin command's result with the backend that confined it and what it enforced."""

    result: CommandResult
    backend: _backends.Backend
    report: dict[str, _backends.Enforcement]
    command: ResolvedCommand

    @property
    def ok(self) -> bool:
        return self.result.ok


def _resolve(
    uses: str, runners: Runners, input: Mapping[str, Any] | None, permissions: Permissions | None
) -> ResolvedCommand:
    if uses == "builtin:shell":
        command = (input or {}).get("command")
        argv, text = check_command(command)
        shell = shutil.which("sh", path=_backends.SANDBOX_PATH) or "/bin/sh"
        return ResolvedCommand(
            uses=uses,
            plugin_id="builtin",
            handler="shell",
            argv=tuple(argv if argv is not None else [shell, "-c", text]),
            root=None,
            permissions=permissions or Permissions(),
        )
    if runners.plugins is None:
        raise SandboxError(
            f"cannot resolve {uses!r}: no plugins are registered (Runners(plugins=...))",
            ErrorCode.COMMAND_RESOLUTION_FAILED,
        )
    resolved = runners.plugins.resolve(uses)
    if permissions is not None:
        resolved = ResolvedCommand(
            resolved.uses,
            resolved.plugin_id,
            resolved.handler,
            resolved.argv,
            resolved.root,
            resolved.permissions.override(permissions),
        )
    return resolved


def _absolute(paths: Iterable[str], cwd: str) -> list[str]:
    return [os.path.normpath(os.path.join(cwd, os.path.expanduser(p))) for p in paths]


def _refusal(uses: str, permissions: Permissions, requested: str) -> SandboxError:
    found = _backends.probe()
    lines = [f"reflow: cannot sandbox plugin {uses!r}: no enforcement mechanism on this host."]
    if requested in ("auto", "bwrap") and found.bwrap:
        lines.append(f"  {found.bwrap}")
    if requested in ("auto", "landlock") and found.landlock:
        lines.append(f"  {found.landlock}")
    lines.append(
        f"The manifest requests: read={list(permissions.read)}, write={list(permissions.write)}, "
        f"network={'on' if permissions.network else 'off'}. Refusing to run it unconfined."
    )
    lines.append(
        'To run anyway without isolation, pass sandbox="none" (or Runners(sandbox="none")): '
        "only resource limits, env filtering and a new session apply; this is NOT a security "
        "boundary."
    )
    return SandboxError("\n".join(lines), ErrorCode.SANDBOX_UNAVAILABLE)


async def run_plugin(
    uses: str,
    *,
    input: Mapping[str, Any] | None = None,
    args: Sequence[str] = (),
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, object] | None = None,
    secrets: Iterable[str] = (),
    permissions: Permissions | None = None,
    stdin: str | bytes | None = None,
    timeout: float | None = None,
    grace: float = 2.0,
    check: bool = False,
    on_line: Callable[[OutputLine], object] | None = None,
    sandbox: str | None = None,
    strict: bool | None = None,
    runners: Runners | None = None,
) -> PluginRun:
    """Run a plugin command (``plugin:<id>/<handler>``, ``command:<name>``, ``builtin:shell``).

    The command sees only what its manifest grants (``permissions`` override it key by key;
    for ``builtin:shell`` they are the whole grant set and ``input={"command": ...}``). Its
    environment is the merged one (process < workflow < ``env`` < ``secrets``) filtered to the
    granted names. ``input`` (other than for the shell) is sent as JSON on stdin.
    ``sandbox`` picks the backend (default ``Runners.sandbox``, ``"auto"``); ``strict=True``
    refuses to run when a requested grant is not fully enforced by that backend.
    """
    runners = runners or default_runners()
    resolved = _resolve(uses, runners, input, permissions)
    backend, report = _select(
        uses,
        resolved.permissions,
        sandbox or runners.sandbox,
        runners.strict if strict is None else strict,
    )
    if any(not isinstance(part, str) for part in args):
        raise InvalidCommand("args must be strings")
    grants = resolved.permissions
    timeout = check_timeout(timeout)
    if grants.wall_seconds is not None:
        timeout = min(timeout or grants.wall_seconds, grants.wall_seconds)
    given = check_cwd(cwd)
    ident = current_identity()
    secret_values = runners.secrets.resolve(list(secrets))
    merged = merge_env(inherit=True, workflow=runners.env, step=env, secrets=secret_values)
    argv = [*resolved.argv, *args]
    masker = runners.secrets.masker
    display = masker.mask(f"{uses}: " + " ".join(argv))
    executable = argv[0] if "/" in argv[0] else shutil.which(argv[0], path=_backends.SANDBOX_PATH)
    if executable is None or not os.access(executable, os.X_OK):
        message = masker.mask(f"executable {argv[0]!r} not found or not executable ({uses})")
        result = CommandResult(
            status="failed",
            command=display,
            exit_code=127,
            backend=backend,
            error=ErrorInfo(code=ErrorCode.COMMAND_NOT_FOUND, message=message),
        )
        return PluginRun(raise_unless_ok(result) if check else result, backend, report, resolved)
    payload = stdin_bytes(stdin)
    if payload is None and input is not None and uses != "builtin:shell":
        payload = json.dumps(dict(input)).encode()
    # bwrap gives the command a private tmpfs /tmp; the other backends a private folder.
    private = None if backend == "bwrap" else tempfile.mkdtemp(prefix="reflow-sandbox-")
    fds: tuple[int, ...] = ()
    try:
        confinement = _confine(resolved, backend, executable, argv, given, private, merged)
        confinement.env.update(step_variables(ident))
        # Opened here, not in execute(): bwrap's argv carries the environment it may see.
        span = start_command_span(display, "plugin")
        if span is not None and span.traceparent is not None:
            confinement.env["TRACEPARENT"] = span.traceparent
        spawner = None
        try:
            if backend == "none":
                command = _backends.none_argv(confinement)
            elif backend == "landlock":
                command = [executable, *argv[1:]]
                program = _seccomp.bpf(network=grants.network)
                spawner = _landlock_spawner(confinement, payload, program)
            else:
                fds = (_seccomp.program_fd(network=grants.network),)
                command = _backends.bwrap_argv(confinement, fds[0])
        except BaseException as exc:
            if span is not None:
                span.abandon(exc)
            raise
        launch = Launch(
            argv=command,
            display=display,
            env=confinement.env,
            cwd=given or private or (str(resolved.root) if resolved.root else "/"),
            stdin=payload,
            timeout=timeout,
            grace=grace,
            pass_fds=fds,
            masker=masker,
            on_line=on_line,
            publish=ident.context.write_event_to_stream
            if ident and runners.publish_output
            else None,
            step=ident.step if ident else None,
            spawner=spawner,
            kind="plugin",
            span=span,
        )
        result = await execute(launch)
    finally:
        for fd in fds:
            os.close(fd)
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
    result = result.model_copy(update={"backend": backend})
    return PluginRun(raise_unless_ok(result) if check else result, backend, report, resolved)


def _landlock_spawner(
    confinement: _backends.Confinement, payload: bytes | None, program: bytes
) -> Callable[[dict[str, str]], Awaitable[Any]]:
    async def start(env: dict[str, str]) -> Any:
        seccomp_fd = os.memfd_create("reflow-seccomp", os.MFD_CLOEXEC)
        try:
            os.write(seccomp_fd, program)
            os.lseek(seccomp_fd, 0, os.SEEK_SET)
            return await _zygote.spawn(
                executable=confinement.executable,
                argv=confinement.argv,
                env=env,
                cwd=confinement.cwd,
                policy=_backends.landlock_policy(confinement),
                seccomp_fd=seccomp_fd,
                stdin=payload,
            )
        finally:
            os.close(seccomp_fd)

    return start


def _select(
    uses: str, grants: Permissions, requested: str, strict: bool
) -> tuple[_backends.Backend, dict[str, _backends.Enforcement]]:
    """The backend to run on and its report; refuses when none works or strict mode fails."""
    backend = _backends.choose(requested)
    problem = _backends.probe().problem(backend)
    if problem is not None or (backend == "none" and requested != "none"):
        raise _refusal(uses, grants, requested)
    report = _backends.enforcement(backend, grants)
    weak = {key: value for key, value in report.items() if value != "enforced"}
    if backend == "none":
        log.warning("plugin %s runs with sandbox='none': NO security boundary", uses)
    if weak and strict:
        raise SandboxError(
            f"strict sandbox: backend {backend!r} cannot fully enforce "
            + ", ".join(f"{k} ({v})" for k, v in sorted(weak.items()))
            + f" for {uses!r}",
            ErrorCode.PERMISSION_NOT_ENFORCEABLE,
        )
    if weak:
        log.info("plugin %s on %s: grants not fully enforced: %s", uses, backend, weak)
    return backend, report


def _confine(
    resolved: ResolvedCommand,
    backend: _backends.Backend,
    executable: str,
    argv: list[str],
    given: str | None,
    private: str | None,
    merged: dict[str, str],
) -> _backends.Confinement:
    """What the command may see: its grants, the cwd given, the plugin folder, a private tmp.

    Nothing else is granted implicitly; a cwd given becomes readable. Relative grants are
    relative to that cwd, else the plugin's folder, else the current directory.
    """
    grants = resolved.permissions
    root = str(resolved.root) if resolved.root else None
    anchor = given or root or os.getcwd()
    tmp_inside = private or "/tmp"
    # Only granted names get through; a secret must be granted like any variable.
    env = {k: v for k, v in merged.items() if grants.allows_env(k) or k in _ALWAYS_ENV}
    env.update(PATH=_backends.SANDBOX_PATH, TMPDIR=tmp_inside)
    env.setdefault("HOME", tmp_inside)
    exec_paths = None
    if grants.exec is not None:
        exec_paths = [executable]
        for name in grants.exec:
            found = name if "/" in name else shutil.which(name, path=_backends.SANDBOX_PATH)
            if found:
                exec_paths.append(found)
    read = _absolute(grants.read, anchor) + [p for p in (given, root) if p]
    write = _absolute(grants.write, anchor) + ([private] if private else [])
    return _backends.Confinement(
        argv=argv,
        executable=executable,
        cwd=os.path.realpath(given or root or tmp_inside),
        read=read,
        write=write,
        exec_paths=exec_paths,
        network=grants.network,
        env=env,
        limits=_backends.limits_of(grants),
    )
