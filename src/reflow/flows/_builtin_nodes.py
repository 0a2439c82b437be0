"""Built-in blocking, conditional and loop nodes (the seed's identifiers and form fields)."""

from __future__ import annotations

import ast
import asyncio
import importlib
import inspect
import json
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from reflow.flows._expressions import ExpressionError, compile_expression, evaluate
from reflow.flows._nodes import BlockingNode, ConditionalNode, LoopNode, Payload
from reflow.flows._templates import is_template

__all__ = ["BUILTIN_NODES", "flow_function", "parse_json_or_literal"]

_UNIT_SECONDS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400, "months": 2592000}
Unit = Literal["seconds", "minutes", "hours", "days", "months"]


def parse_json_or_literal(text: str) -> Any:
    """JSON first, then a Python literal (``ast.literal_eval``: data only, no code)."""
    try:
        return json.loads(text)
    except ValueError:
        return ast.literal_eval(text)


class StaticDelayConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    interval: float = Field(gt=0)
    unit: Unit = "seconds"


class StaticDelay(BlockingNode[StaticDelayConfig]):
    """Waits ``interval`` units, then passes the data on."""

    type_id = "static-delay-node"
    config_model = StaticDelayConfig

    async def execute(self, payload: Payload, config: StaticDelayConfig) -> Payload:
        seconds = config.interval * _UNIT_SECONDS[config.unit]
        await asyncio.sleep(seconds)
        return Payload(payload.data, {**payload.metadata, "delaySeconds": seconds}, payload.id)


class DynamicDelayConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    total_time: float = Field(gt=0)
    unit: Unit = "seconds"
    executions: int = Field(ge=1)
    jitter_percent: float = Field(default=30, ge=0, le=100)


class DynamicDelay(BlockingNode[DynamicDelayConfig]):
    """Spreads ``executions`` calls over ``total_time`` with random jitter.

    The planned delays sum exactly to the window and are kept in Redis
    (``delay_node:<node id>:delays``, expiring after 1.5 windows), one popped per call.
    """

    type_id = "dynamic-delay-node"
    config_model = DynamicDelayConfig

    async def execute(self, payload: Payload, config: DynamicDelayConfig) -> Payload:
        services = self.context.services
        key = services.key("delay_node", self.node_id, "delays")
        window = config.total_time * _UNIT_SECONDS[config.unit]
        redis = services.redis()
        raw: Any = await redis.lpop(key)
        if raw is None:
            base = window / config.executions
            spread = config.jitter_percent / 100
            delays = [
                base * (1 + random.uniform(-spread, spread)) for _ in range(config.executions)
            ]
            scale = window / sum(delays)
            planned = [d * scale for d in delays]
            raw = str(planned[0]).encode()
            if planned[1:]:
                await redis.rpush(key, *[str(d) for d in planned[1:]])
                await redis.expire(key, max(1, int(window * 1.5)))
        seconds = float(raw)
        await asyncio.sleep(seconds)
        return Payload(payload.data, {**payload.metadata, "delaySeconds": seconds}, payload.id)


class DataTransformerConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    overwrite: bool = True
    output_template: str = Field(min_length=1)


class DataTransformer(BlockingNode[DataTransformerConfig]):
    """Renders ``output_template`` (JSON with templates) and replaces or extends the data."""

    type_id = "data-transformer"
    config_model = DataTransformerConfig

    async def execute(self, payload: Payload, config: DataTransformerConfig) -> Payload:
        try:
            value = json.loads(config.output_template)
        except ValueError as exc:
            raise ValueError(f"Invalid JSON in output template: {exc}") from exc
        if config.overwrite:
            data = value if isinstance(value, dict) else {"data_transformer": value}
            return Payload(data, payload.metadata, payload.id)
        return payload.with_output("data_transformer", value)


class IfConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    condition_expression: str = ""

    @field_validator("condition_expression")
    @classmethod
    def _allowed(cls, value: str) -> str:
        if value.strip() and not is_template(value):
            try:
                compile_expression(value)
            except ExpressionError as exc:
                raise ValueError(str(exc)) from exc
        return value


class IfCondition(ConditionalNode[IfConfig]):
    """``yes`` when the expression is truthy (safe evaluator; an empty one means ``no``)."""

    type_id = "if-condition"
    config_model = IfConfig

    async def execute(self, payload: Payload, config: IfConfig) -> Payload:
        expression = config.condition_expression.strip()
        result = False
        if expression:
            names = {"data": payload.data, "env": self.context.env, "runtime": self.context.runtime}
            try:
                result = bool(evaluate(expression, names))
            except ExpressionError as exc:
                raise ValueError(f"Failed to evaluate condition {expression!r}: {exc}") from exc
        route = "yes" if result else "no"
        out = payload.with_output(
            "if_condition", {"route": route, "expression": expression, "result": result}
        )
        return self.routed(out, result)


class ForEachConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    array_expression: str = Field(min_length=1)


def _dotted(data: Any, path: str) -> Any:
    current = data
    for part in path.strip().split("."):
        if isinstance(current, dict) and part in current:
            current = current[part]
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current


class ForEach(LoopNode[ForEachConfig]):
    """Its ``subdag`` runs once per item; then ``default`` gets ``loop_results``.

    ``array_expression`` (rendered) is read as JSON, then as a Python literal, then as a dotted
    key path into the data (``data.items`` or ``items``); anything but a list gives no items.
    """

    type_id = "for-each"
    config_model = ForEachConfig
    output_key = "forEachNode"

    async def items(self, payload: Payload, config: ForEachConfig) -> list[Any]:
        text = config.array_expression.strip()
        try:
            value = parse_json_or_literal(text)
        except (ValueError, SyntaxError):
            path = text[5:] if text.startswith("data.") else text
            value = _dotted(payload.data, path)
        return value if isinstance(value, list) else []


class FileWriterConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    file_path: str = Field(min_length=1)
    mode: Literal["w", "a"] = "w"
    content: str = ""


class FileWriter(BlockingNode[FileWriterConfig]):
    """Writes ``content`` (or the data as JSON) to a file under the flow's ``files_dir``.

    The path must stay inside that directory (``settings.files_dir``, default ``flow_files``).
    """

    type_id = "file-writer"
    config_model = FileWriterConfig

    async def execute(self, payload: Payload, config: FileWriterConfig) -> Payload:
        base = Path(str(self.context.flow_config.get("files_dir") or "flow_files")).resolve()
        target = (base / config.file_path).resolve()
        if not target.is_relative_to(base):
            raise ValueError(f"file_path {config.file_path!r} leaves the files directory {base}")
        text = config.content or json.dumps(payload.data, default=str)
        if config.mode == "a":
            text += "\n"

        def write() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open(config.mode, encoding="utf-8") as handle:
                handle.write(text)

        await asyncio.to_thread(write)
        return payload


class HttpResponseConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status_code: int = Field(default=200, ge=100, le=599)
    body_source: Literal["from_input", "custom"] = "from_input"
    body_json: Any = None

    @field_validator("body_json", mode="before")
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip():
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value


class HttpResponse(BlockingNode[HttpResponseConfig]):
    """Marks the data as the HTTP answer of an API-mode run."""

    type_id = "http-response"
    config_model = HttpResponseConfig

    async def execute(self, payload: Payload, config: HttpResponseConfig) -> Payload:
        body = payload.data if config.body_source == "from_input" else config.body_json
        data = {"__http_response__": True, "status": config.status_code, "body": body}
        return Payload(data, payload.metadata, payload.id)


F = TypeVar("F", bound=Callable[..., Any])

_FLOW_FUNCTION = "__reflow_flow_function__"


def flow_function(func: F) -> F:
    """Allow flow documents to call ``func`` from a ``python-function`` node.

    Only marked functions can be called, so a flow document cannot reach arbitrary code
    (``os:remove``, ...) just by naming it.
    """
    setattr(func, _FLOW_FUNCTION, True)
    return func


class PythonFunctionConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    function: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class PythonFunction(BlockingNode[PythonFunctionConfig]):
    """Calls ``module:function`` with the data dict; the result goes under ``python_function``.

    The function must be marked with ``@flow_function``; it may be sync or async, and its
    module must be importable where the flow runs.
    """

    type_id = "python-function"
    config_model = PythonFunctionConfig

    async def execute(self, payload: Payload, config: PythonFunctionConfig) -> Payload:
        module_name, _, attribute = config.function.partition(":")
        target: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            target = getattr(target, part)
        if not getattr(target, _FLOW_FUNCTION, False):
            raise PermissionError(
                f"{config.function} is not marked with @reflow.flows.flow_function; "
                "flows may only call functions marked for them"
            )
        result = target(dict(payload.data))
        if inspect.isawaitable(result):
            result = await result
        return payload.with_output("python_function", result)


BUILTIN_NODES = (
    StaticDelay,
    DynamicDelay,
    DataTransformer,
    IfCondition,
    ForEach,
    FileWriter,
    HttpResponse,
    PythonFunction,
)
