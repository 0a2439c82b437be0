"""``run_shell``: one command from inside any step (or outside one), as a structured result."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence

from reflow.runners._config import Runners, default_runners
from reflow.runners._errors import CommandFailed, ErrorCode, InvalidCommand
from reflow.runners._exec import Launch, OutputLine, execute
from reflow.runners._identity import StepIdentity, current_identity
from reflow.runners._result import CommandResult

DEFAULT_CAPTURE = 1 << 20


def check_command(command: object) -> tuple[list[str] | None, str]:
    """``(argv, display)`` for an argv list, ``(None, text)`` for a shell string."""
    if isinstance(command, str):
        if not command.strip():
            raise InvalidCommand("command is empty: give a shell string or an argv list")
        if "\0" in command:
            raise InvalidCommand("command contains a NUL byte")
        return None, command
    if isinstance(command, Sequence) and not isinstance(command, (bytes, bytearray)):
        argv = list(command)
        if not argv:
            raise InvalidCommand("command is an empty argv list")
        for index, part in enumerate(argv):
            if not isinstance(part, str):
                raise InvalidCommand(
                    f"command[{index}] must be a string, got {type(part).__name__}"
                )
            if "\0" in part:
                raise InvalidCommand(f"command[{index}] contains a NUL byte")
        if not argv[0]:
            raise InvalidCommand("command[0] (the executable) is empty")
        return argv, shlex.join(argv)
    raise InvalidCommand(
        f"command must be a string or a list of strings, got {type(command).__name__}"
    )


def pick_shell(explicit: str | None) -> str:
    for candidate in (explicit, os.environ.get("SHELL"), "bash", "sh"):
        if candidate and shutil.which(candidate):
            return candidate
    raise InvalidCommand("no shell found (tried $SHELL, bash, sh)", ErrorCode.COMMAND_NOT_FOUND)


def check_cwd(cwd: str | os.PathLike[str] | None) -> str | None:
    if cwd is None:
        return None
    path = os.fspath(cwd)
    if not os.path.isdir(path):
        raise InvalidCommand(f"cwd {path!r} does not exist or is not a directory")
    return path


def step_variables(ident: StepIdentity | None) -> dict[str, str]:
    """What a command learns about the step it runs in (the idempotency key above all)."""
    if ident is None:
        return {}
    return {
        "REFLOW_RUN_ID": ident.run_id,
        "REFLOW_STEP": ident.step,
        "REFLOW_ATTEMPT": str(ident.attempt),
        "REFLOW_IDEMPOTENCY_KEY": ident.idempotency_key,
        "REFLOW_TRACE_ID": ident.trace_id,
    }


def stdin_bytes(stdin: str | bytes | None) -> bytes | None:
    if stdin is None or isinstance(stdin, bytes):
        return stdin
    if isinstance(stdin, str):
        return stdin.encode("utf-8")
    raise InvalidCommand(f"stdin must be str or bytes, got {type(stdin).__name__}")


def check_timeout(timeout: float | None, name: str = "timeout") -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise InvalidCommand(f"{name} must be a number of seconds > 0, got {timeout!r}")
    return float(timeout)


def raise_unless_ok(result: CommandResult) -> CommandResult:
    if result.ok:
        return result
    assert result.error is not None
    raise CommandFailed(result.error.message, result.error.code, result)


async def run_shell(
    command: str | Sequence[str],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, object] | None = None,
    inherit_env: bool = True,
    secrets: Iterable[str] = (),
    stdin: str | bytes | None = None,
    timeout: float | None = None,
    grace: float = 2.0,
    check: bool = False,
    on_line: Callable[[OutputLine], object] | None = None,
    publish: bool | None = None,
    max_capture: int = DEFAULT_CAPTURE,
    shell: str | None = None,
    cancel: asyncio.Event | None = None,
    runners: Runners | None = None,
) -> CommandResult:
    """Run ``command`` and return a :class:`CommandResult`.

    A string runs through a shell (``shell``, else ``Runners.shell``, ``$SHELL``, bash, sh);
    a list runs as an argv with no shell. The environment is the process's (unless
    ``inherit_env=False``) < the workflow's ``Runners.env`` < ``env`` < the named ``secrets``.
    Inside a step, ``REFLOW_IDEMPOTENCY_KEY`` (and run id, step, attempt) are set too, and
    each output line is published to the run's stream as an ``OutputLineEvent``.

    ``timeout`` ends the whole process tree (SIGTERM, ``grace`` seconds, SIGKILL) and gives
    status ``timed_out``; so does setting ``cancel`` (status ``cancelled``) or cancelling the
    calling task (which then re-raises ``CancelledError``). ``check=True`` raises
    ``CommandFailed`` for any status but ``success``.
    """
    runners = runners or default_runners()
    argv, display = check_command(command)
    if argv is None:
        argv = [pick_shell(shell or runners.shell), "-c", display]
    timeout = check_timeout(timeout)
    grace = float(grace)
    if grace < 0:
        raise InvalidCommand(f"grace must be >= 0 seconds, got {grace!r}")
    ident = current_identity()
    secret_values = runners.secrets.resolve(list(secrets))
    merged: dict[str, object] = dict(step_variables(ident))
    merged.update(runners.env)
    from reflow.runners._env import merge_env

    environment = merge_env(inherit=inherit_env, workflow=merged, step=env, secrets=secret_values)
    masker = runners.secrets.masker
    do_publish = runners.publish_output if publish is None else publish
    launch = Launch(
        argv=argv,
        display=masker.mask(display),
        env=environment,
        cwd=check_cwd(cwd),
        stdin=stdin_bytes(stdin),
        timeout=timeout,
        grace=grace,
        max_capture=int(max_capture),
        masker=masker,
        on_line=on_line,
        publish=ident.context.write_event_to_stream if ident and do_publish else None,
        step=ident.step if ident else None,
        cancel=cancel,
    )
    result = await execute(launch)
    return raise_unless_ok(result) if check else result
