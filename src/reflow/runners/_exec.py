"""Running one process to completion under asyncio: streaming, capture, timeout, tree kill.

Shared by the shell runner and the sandbox (which only changes the argv and environment).
The process starts in a new session (``start_new_session``, set in C by ``subprocess``: no
``preexec_fn``, so it is safe with threads). A timeout or a cancellation ends the whole
process tree: SIGTERM, ``grace`` seconds, SIGKILL (see ``_tree``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from reflow.observability import start_command_span
from reflow.runners._errors import ErrorCode
from reflow.runners._events import OutputLineEvent
from reflow.runners._lines import Capture, pump_lines
from reflow.runners._outputs import OutputParser
from reflow.runners._result import CommandResult, ErrorInfo, Status
from reflow.runners._secrets import Masker
from reflow.runners._tree import TAG_VARIABLE, group_alive, terminate_tree

if TYPE_CHECKING:
    from reflow.observability import CommandSpan

Stream = Literal["stdout", "stderr"]


@dataclass(frozen=True, slots=True)
class OutputLine:
    """One line of output handed to an ``on_line`` callback (secrets masked)."""

    stream: Stream
    number: int
    text: str
    time: float


@dataclass(slots=True)
class Launch:
    """Everything needed to run one process."""

    argv: list[str]
    display: str
    env: dict[str, str]
    cwd: str | None = None
    stdin: bytes | None = None
    timeout: float | None = None
    grace: float = 2.0
    max_capture: int = 1 << 20
    max_line: int = 1 << 16
    pass_fds: tuple[int, ...] = ()
    masker: Masker | None = None
    on_line: Callable[[OutputLine], object] | None = None
    publish: Callable[[OutputLineEvent], None] | None = None
    step: str | None = None
    cancel: asyncio.Event | None = None
    kill_leftovers: bool = True
    spawner: Callable[[dict[str, str]], Awaitable[Any]] | None = None
    """Starts the process instead of ``asyncio.create_subprocess_exec`` (the fork server)."""
    tag: str = field(default_factory=lambda: uuid.uuid4().hex)
    kind: str = "shell"
    """What starts the process (``shell`` or ``plugin``): names its span when tracing."""
    span: CommandSpan | None = None
    """A command span the caller opened (and put in ``env``); None: ``execute`` opens one."""


def _subprocess(launch: Launch) -> Callable[[dict[str, str]], Awaitable[Any]]:
    async def start(env: dict[str, str]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *launch.argv,
            stdin=asyncio.subprocess.PIPE
            if launch.stdin is not None
            else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=launch.cwd,
            env=env,
            start_new_session=True,
            pass_fds=launch.pass_fds,
        )

    return start


def _failure_message(display: str, returncode: int, stderr: str) -> str:
    if returncode < 0:
        what = f"was killed by signal {-returncode}"
    else:
        what = f"exited with code {returncode}"
    head = stderr.strip()[:500]
    return f"command {display!r} {what}" + (f": {head}" if head else "")


async def execute(launch: Launch) -> CommandResult:
    """Run ``launch`` and describe what happened; never raises for a failing command.

    While tracing, the command has a span under the current one (the step attempt's) and
    gets that span as ``TRACEPARENT``, so what it traces itself joins the run's trace.
    """
    span = launch.span
    if span is None:
        span = start_command_span(launch.display, launch.kind)
        if span is None:
            return await _execute(launch)
        if span.traceparent is not None:
            launch = replace(launch, env={**launch.env, "TRACEPARENT": span.traceparent})
    try:
        result = await _execute(launch)
    except BaseException as exc:
        span.abandon(exc)
        raise
    error = result.error
    span.finish(
        result.status,
        result.exit_code,
        result.duration,
        error.code.value if error else None,
        error.message if error else None,
    )
    return result


async def _execute(launch: Launch) -> CommandResult:
    masker = launch.masker
    mask = masker.mask if masker else (lambda text: text)
    env = dict(launch.env)
    env[TAG_VARIABLE] = launch.tag
    started = time.monotonic()
    try:
        proc = await (launch.spawner or _subprocess(launch))(env)
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        reason = "not found" if isinstance(exc, FileNotFoundError) else "not executable"
        message = mask(f"executable {launch.argv[0]!r} {reason} (command {launch.display!r})")
        return CommandResult(
            status="failed",
            command=launch.display,
            exit_code=127 if reason == "not found" else 126,
            duration=time.monotonic() - started,
            error=ErrorInfo(code=ErrorCode.COMMAND_NOT_FOUND, message=message),
        )
    assert proc.stdout is not None and proc.stderr is not None
    counter = 0
    parser = OutputParser()

    def sink(stream: Stream) -> Callable[[bytes], None]:
        def on_line(raw: bytes) -> None:
            nonlocal counter
            counter += 1
            text = mask(raw.decode("utf-8", "replace").rstrip("\r"))
            if stream == "stdout":
                parser.feed(text)
            now = time.time()
            if launch.on_line is not None:
                launch.on_line(OutputLine(stream, counter, text, now))
            if launch.publish is not None:
                launch.publish(
                    OutputLineEvent(
                        stream=stream,
                        number=counter,
                        line=text,
                        time=now,
                        step=launch.step,
                        command=launch.display,
                    )
                )

        return on_line

    out, err = Capture(launch.max_capture), Capture(launch.max_capture)
    pumps = [
        asyncio.create_task(pump_lines(proc.stdout, out, sink("stdout"), launch.max_line)),
        asyncio.create_task(pump_lines(proc.stderr, err, sink("stderr"), launch.max_line)),
    ]
    feeder = asyncio.create_task(_feed(proc, launch.stdin)) if launch.stdin is not None else None
    ended: Status | None = None
    try:
        ended = await _wait(proc, launch)
    except BaseException:
        # The caller's task was cancelled (or the loop is closing): end the tree, then let
        # the cancellation through.
        await asyncio.shield(_stop(proc, launch, pumps, feeder))
        raise
    if ended is not None:
        await terminate_tree(proc.pid, launch.tag, launch.grace)
        await _exited(proc)
    elif launch.kill_leftovers and group_alive(proc.pid):
        # Background children still hold the pipes (and would keep the run waiting): end them.
        await terminate_tree(proc.pid, launch.tag, launch.grace)
    await _drain(pumps, launch)
    if feeder is not None:
        feeder.cancel()
    duration = time.monotonic() - started
    returncode = proc.returncode
    assert returncode is not None
    stdout = mask(out.value().decode("utf-8", "replace"))
    stderr = mask(err.value().decode("utf-8", "replace"))
    outputs = parser.finish(None if out.truncated else stdout)
    status: Status
    error: ErrorInfo | None = None
    if ended == "timed_out":
        status = "timed_out"
        message = f"command {launch.display!r} timed out after {launch.timeout:g}s"
        error = ErrorInfo(code=ErrorCode.TIMEOUT, message=mask(message))
    elif ended == "cancelled":
        status = "cancelled"
        message = f"command {launch.display!r} was cancelled"
        error = ErrorInfo(code=ErrorCode.CANCELLED, message=mask(message))
    elif returncode == 0:
        status = "success"
    else:
        status = "failed"
        message = _failure_message(launch.display, returncode, stderr)
        error = ErrorInfo(code=ErrorCode.EXECUTION_FAILED, message=mask(message))
    return CommandResult(
        status=status,
        command=launch.display,
        exit_code=returncode if returncode >= 0 else None,
        signal=-returncode if returncode < 0 else None,
        stdout=stdout,
        stderr=stderr,
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
        duration=duration,
        outputs=outputs,
        error=error,
    )


async def _wait(proc: Any, launch: Launch) -> Status | None:
    """None when the process exited by itself, else why it must be stopped."""
    waiter = asyncio.ensure_future(_exited(proc))
    watched: set[asyncio.Future[object]] = {waiter}  # type: ignore[arg-type]
    cancel_waiter = None
    if launch.cancel is not None:
        cancel_waiter = asyncio.ensure_future(launch.cancel.wait())
        watched.add(cancel_waiter)  # type: ignore[arg-type]
    try:
        done, _ = await asyncio.wait(
            watched, timeout=launch.timeout, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        if cancel_waiter is not None:
            cancel_waiter.cancel()
        if not waiter.done():
            waiter.cancel()
    if waiter in done:
        return None
    if cancel_waiter is not None and cancel_waiter in done:
        return "cancelled"
    return "timed_out"


async def _exited(proc: Any) -> None:
    """Return once the process exited, even while its pipes are still open.

    ``Process.wait()`` also waits for the pipes to close, which a background grandchild can
    hold open for ever; a pidfd becomes readable at exit itself.
    """
    wait_exit = getattr(proc, "wait_exit", None)
    if wait_exit is not None:  # started by the fork server: it reports the exit code
        await wait_exit()
        return
    loop = asyncio.get_running_loop()
    pidfd = None
    if proc.returncode is None:  # once reaped, the pid may belong to someone else
        try:
            pidfd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):
            pidfd = None
        if pidfd is not None and proc.returncode is not None:
            os.close(pidfd)
            pidfd = None
    if pidfd is not None:
        exited: asyncio.Future[None] = loop.create_future()

        def on_exit() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(pidfd, on_exit)
        try:
            await exited
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)
    delay = 0.0002
    while proc.returncode is None:  # the child watcher reaps it right after exit
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.02)


async def _stop(
    proc: Any,
    launch: Launch,
    pumps: list[asyncio.Task[None]],
    feeder: asyncio.Task[None] | None,
) -> None:
    await terminate_tree(proc.pid, launch.tag, launch.grace)
    await _exited(proc)
    for task in [*pumps, *([feeder] if feeder else [])]:
        task.cancel()


async def _drain(pumps: list[asyncio.Task[None]], launch: Launch) -> None:
    """Read what is left in the pipes; if a survivor still holds one open, stop reading."""
    done, pending = await asyncio.wait(pumps, timeout=max(launch.grace, 0.5))
    for task in pending:
        task.cancel()
    for task in done:
        task.result()


async def _feed(proc: Any, data: bytes | None) -> None:
    stdin = proc.stdin
    if stdin is None or data is None:
        return
    try:
        stdin.write(data)
        await stdin.drain()
    except (BrokenPipeError, ConnectionResetError):
        pass
    finally:
        with contextlib.suppress(OSError):
            stdin.close()
