"""The ``shell`` node: one command through ``reflow.runners.run_shell``.

A string command runs through a shell; a list runs as an argv with no shell, and each of its
items (and each ``env`` value) may be a template of its own, rendered here, so a payload value
becomes one argument and never shell syntax.  A command that does not succeed fails the node
(and so the iteration goes to the dead-letter queue), unless ``check`` is false.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reflow.flows._nodes import BlockingNode, Payload
from reflow.flows._templates import is_template, render_value

__all__ = ["SHELL_NODES", "ShellConfig", "ShellNode"]


class ShellConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    command: str | list[str] = Field(
        description="a shell string, or an argv list run without a shell"
    )
    cwd: str = Field(default="", description="working directory (default: the flow's process)")
    env: dict[str, str] = Field(
        default_factory=dict, description="variables added to the process environment"
    )
    secrets: list[str] = Field(
        default_factory=list, description="secret names passed as variables (and masked)"
    )
    stdin: str = ""
    timeout_seconds: float | None = Field(default=None, gt=0)
    check: bool = Field(default=True, description="fail the node when the command fails")

    @field_validator("command")
    @classmethod
    def _not_empty(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must not be empty")
        if isinstance(value, list) and (not value or not value[0]):
            raise ValueError("must name the executable as its first item")
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_object(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        if value is None:
            return {}
        if isinstance(value, dict):
            return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
        return value

    @field_validator("secrets", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):  # an editor's text field: comma-separated names
            return [name.strip() for name in value.split(",") if name.strip()]
        return value


class ShellNode(BlockingNode[ShellConfig]):
    """Runs ``command``; writes ``shell: {stdout, stderr, exit_code, ok, status, duration_ms}``
    plus the outputs the command printed (``::set-output`` lines, a final JSON object)."""

    type_id = "shell"
    config_model = ShellConfig

    def _render(self, value: str, payload: Payload, field: str) -> str:
        if not is_template(value):
            return value
        context = self.context
        return render_value(value, payload.data, context.env, context.runtime, field=field)

    async def execute(self, payload: Payload, config: ShellConfig) -> Payload:
        from reflow.runners import run_shell

        command: str | list[str] = config.command
        if isinstance(command, list):
            command = [
                self._render(item, payload, f"command[{i}]") for i, item in enumerate(command)
            ]
        env = {key: self._render(value, payload, f"env.{key}") for key, value in config.env.items()}
        result = await run_shell(
            command,
            cwd=config.cwd or None,
            env=env,
            secrets=config.secrets,
            stdin=config.stdin or None,
            timeout=config.timeout_seconds,
            check=config.check,
        )
        output = {
            **result.flat(),
            "status": result.status,
            "duration_ms": result.duration * 1000,
        }
        if result.error is not None:
            output["error"] = {"code": result.error.code.value, "message": result.error.message}
        return payload.with_output("shell", output)


SHELL_NODES = (ShellNode,)
