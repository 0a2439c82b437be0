"""``shell_step``: a step declared by its command instead of a function."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pydantic import Field

from reflow.decorators import step as step_decorator
from reflow.events import Event, StartEvent
from reflow.runners._config import Runners
from reflow.runners._result import CommandResult
from reflow.runners._shell import check_command, check_timeout, run_shell

CommandSpec = str | Sequence[str] | Callable[[Event], "str | Sequence[str]"]


class ShellStepDone(Event):
    """What a shell step returns by default: its command's result."""

    step: str
    result: CommandResult = Field(description="the command's result")


def shell_step(
    command: CommandSpec,
    *,
    accepts: type[Event] = StartEvent,
    returns: Callable[[CommandResult], Event] | type[Event] = ShellStepDone,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, object] | None = None,
    inherit_env: bool = True,
    secrets: Iterable[str] = (),
    stdin: str | bytes | None = None,
    timeout: float | None = None,
    check: bool = True,
    runners: Runners | None = None,
    name: str = "shell_step",
    **step_options: Any,
) -> Any:
    """A workflow step that runs ``command`` when an ``accepts`` event arrives.

    ``command`` is a shell string, an argv list, or a function of the event returning one.
    The step returns ``returns``: by default a :class:`ShellStepDone` carrying the
    :class:`CommandResult`; a ``StopEvent`` class gets the result as ``result``; any other
    callable receives the result and returns the event. With ``check=True`` (the default) a
    failure raises ``CommandFailed``, so the step's retry policy and ``@catch_error`` apply.
    ``step_options`` go to ``@step`` (``retry_policy``, ``num_workers``, ``timeout``...).

    Use it as a class attribute: ``build = shell_step("make", returns=StopEvent)``.
    """
    if not callable(command):
        check_command(command)
    check_timeout(timeout)
    secret_names = list(secrets)
    return_type: Any = returns if isinstance(returns, type) else Event

    async def run(self: Any, ev: Event) -> Event:
        spec = command(ev) if callable(command) else command
        result = await run_shell(
            spec,
            cwd=cwd,
            env=env,
            inherit_env=inherit_env,
            secrets=secret_names,
            stdin=stdin,
            timeout=timeout,
            check=check,
            runners=runners,
        )
        if returns is ShellStepDone:
            from reflow.runners._identity import current_identity

            ident = current_identity()
            return ShellStepDone(step=ident.step if ident else "", result=result)
        if isinstance(returns, type):
            made_event: Event = returns(result=result)
            return made_event
        made: Event = returns(result)
        return made

    run.__name__ = name
    run.__qualname__ = f"shell_step.{name}"
    run.__annotations__ = {"self": Any, "ev": accepts, "return": return_type}
    return step_decorator(**step_options)(run)
