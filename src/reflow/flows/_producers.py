"""Built-in producers: counter, string iterator, interval and cron timers, webhook."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reflow.flows._cron import CronError, CronSchedule
from reflow.flows._nodes import Payload, ProducerNode
from reflow.flows._services import FlowServices

__all__ = ["PRODUCER_NODES", "publish_webhook"]


class CounterConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    min_value: int = 0
    max_value: int = 10
    direction: Literal["increment", "decrement"] = "increment"
    step: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _bounds(self) -> CounterConfig:
        if self.min_value > self.max_value:
            raise ValueError("min_value must not be greater than max_value")
        return self


class Counter(ProducerNode[CounterConfig]):
    """Counts from ``min_value`` to ``max_value`` (or down), one value per iteration."""

    type_id = "counter"
    config_model = CounterConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._current: int | None = None
        self._iteration = 0

    async def produce(self, payload: Payload, config: CounterConfig) -> Payload | None:
        up = config.direction == "increment"
        if self._current is None:
            self._current = config.min_value if up else config.max_value
        current = self._current
        if current > config.max_value or current < config.min_value:
            return None
        self._iteration += 1
        self._current = current + config.step if up else current - config.step
        return payload.with_output(
            "counter",
            {
                "current": current,
                "min": config.min_value,
                "max": config.max_value,
                "step": config.step,
                "direction": config.direction,
                "iteration": self._iteration,
            },
        )

    async def cleanup(self) -> None:
        self._current = None
        self._iteration = 0


class StringIteratorConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data_content: str = Field(min_length=1)
    separator_type: Literal["newline", "comma", "custom"] = "newline"
    custom_separator: str = ""

    @model_validator(mode="after")
    def _custom(self) -> StringIteratorConfig:
        if self.separator_type == "custom" and not self.custom_separator:
            raise ValueError("custom_separator is required when separator_type is 'custom'")
        return self


class StringIterator(ProducerNode[StringIteratorConfig]):
    """Emits the parts of a text one per iteration, trimmed, empty parts dropped."""

    type_id = "string-iterator-producer"
    config_model = StringIteratorConfig
    output_key = "string_iterator"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._index = 0

    async def produce(self, payload: Payload, config: StringIteratorConfig) -> Payload | None:
        separator = {"newline": "\n", "comma": ",", "custom": config.custom_separator}[
            config.separator_type
        ]
        parts = [p.strip() for p in config.data_content.split(separator) if p.strip()]
        if self._index >= len(parts):
            return None
        self._index += 1
        return payload.with_output(
            "string_iterator", {"value": parts[self._index - 1], "iteration_index": self._index}
        )

    async def cleanup(self) -> None:
        self._index = 0


class IntervalConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    seconds: float = Field(gt=0, description="Time between iterations.")
    count: int | None = Field(default=None, ge=1, description="Iterations in all; none: forever.")


class Interval(ProducerNode[IntervalConfig]):
    """An iteration every ``seconds`` (the first at once), ``count`` times or until stopped."""

    type_id = "interval"
    config_model = IntervalConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iteration = 0
        self._next = 0.0

    async def produce(self, payload: Payload, config: IntervalConfig) -> Payload | None:
        if config.count is not None and self._iteration >= config.count:
            return None
        if self._iteration and await self.context.sleep_or_stop(self._next - time.monotonic()):
            return None
        self._next = time.monotonic() + config.seconds
        self._iteration += 1
        stamp = datetime.now(timezone.utc).isoformat()
        return payload.with_output("interval", {"iteration": self._iteration, "time": stamp})


class CronConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    expression: str = Field(description="Five fields: minute hour day month weekday (UTC).")
    count: int | None = Field(default=None, ge=1)

    @field_validator("expression")
    @classmethod
    def _parses(cls, value: str) -> str:
        try:
            CronSchedule.parse(value)
        except CronError as exc:
            raise ValueError(str(exc)) from exc
        return value


class Cron(ProducerNode[CronConfig]):
    """An iteration at every minute the cron expression matches (UTC)."""

    type_id = "cron"
    config_model = CronConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._iteration = 0

    async def produce(self, payload: Payload, config: CronConfig) -> Payload | None:
        if config.count is not None and self._iteration >= config.count:
            return None
        now = datetime.now(timezone.utc)
        due = CronSchedule.parse(config.expression).next_after(now)
        if await self.context.sleep_or_stop((due - now).total_seconds()):
            return None
        self._iteration += 1
        return payload.with_output(
            "cron", {"iteration": self._iteration, "scheduled_at": due.isoformat()}
        )


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="ignore")
    webhook_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_-]+$")


def webhook_channel(services: FlowServices, webhook_id: str) -> str:
    return services.key("webhook", webhook_id)


async def publish_webhook(
    services: FlowServices, webhook_id: str, body: Any, **request: Any
) -> int:
    """Deliver a request to a ``webhook-producer``; returns how many listeners got it."""
    message = {"body": body, **request}
    count: int = await services.redis().publish(
        webhook_channel(services, webhook_id), json.dumps(message, default=str)
    )
    return count


class WebhookProducer(ProducerNode[WebhookConfig]):
    """One iteration per message published on the Redis channel ``webhook:<id>``.

    Unlike the seed it stays subscribed between iterations, so a request that arrives while an
    iteration runs is not lost.
    """

    type_id = "webhook-producer"
    config_model = WebhookConfig
    output_key = "webhook"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pubsub: Any = None

    async def produce(self, payload: Payload, config: WebhookConfig) -> Payload | None:
        if self._pubsub is None:
            self._pubsub = self.context.services.redis().pubsub()
            await self._pubsub.subscribe(webhook_channel(self.context.services, config.webhook_id))
        while not self.context.stop.is_set():
            try:
                message = await self._pubsub.get_message(
                    ignore_subscribe_messages=True, timeout=0.2
                )
            except Exception:
                # A broken subscription is dropped; the next call subscribes again.
                await self.cleanup()
                raise
            if message is None:
                await asyncio.sleep(0)
                continue
            try:
                request = json.loads(message["data"])
            except (TypeError, ValueError):
                request = {"body": message["data"].decode("utf-8", "replace")}
            if not isinstance(request, dict):
                request = {"body": request}
            return payload.with_output(
                "webhook",
                {
                    "webhook_id": config.webhook_id,
                    "data": {
                        "body": request.get("body"),
                        "headers": request.get("headers", {}),
                        "method": request.get("method", "POST"),
                        "query_params": request.get("query_params", {}),
                    },
                    "timestamp": datetime.now(timezone.utc).isoformat(),
                },
            )
        return None

    async def cleanup(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            await pubsub.aclose()


PRODUCER_NODES = (Counter, StringIterator, Interval, Cron, WebhookProducer)
