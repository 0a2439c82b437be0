"""Resources: steps declare what they need (a client, a settings object) and the engine builds
it with a factory and injects it.

Shows ``Annotated[T, Resource(factory)]`` on step parameters, a factory that depends on another
resource, and caching: with ``cache=True`` (the default) both steps get the same client.

    python examples/resources.py
    reflow run examples/resources.py:workflow --arg key=colour
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Annotated

from reflow import Workflow, step
from reflow.events import Event, StartEvent, StopEvent
from reflow.resource import Resource


@dataclass
class Settings:
    namespace: str = "demo"


@dataclass
class KeyValueClient:
    """An in-memory stand-in for a real database client."""

    settings: Settings
    data: dict[str, str] = field(default_factory=dict)
    calls: int = 0

    def put(self, key: str, value: str) -> None:
        self.calls += 1
        self.data[f"{self.settings.namespace}:{key}"] = value

    def get(self, key: str) -> str | None:
        self.calls += 1
        return self.data.get(f"{self.settings.namespace}:{key}")


def get_settings() -> Settings:
    return Settings()


def get_client(settings: Annotated[Settings, Resource(get_settings)]) -> KeyValueClient:
    return KeyValueClient(settings=settings)


class Put(StartEvent):
    key: str = "colour"
    value: str = "teal"


class Stored(Event):
    key: str


class Cache(Workflow):
    """Write a value with one step and read it back with another, through one shared client."""

    @step
    async def write(
        self, ev: Put, client: Annotated[KeyValueClient, Resource(get_client)]
    ) -> Stored:
        client.put(ev.key, ev.value)
        return Stored(key=ev.key)

    @step
    async def read(
        self, ev: Stored, client: Annotated[KeyValueClient, Resource(get_client)]
    ) -> StopEvent:
        return StopEvent(result={"value": client.get(ev.key), "client_calls": client.calls})


workflow = Cache(timeout=30)


async def run_example() -> None:
    print(await workflow.run(key="size", value="large"))


def main() -> None:
    asyncio.run(run_example())


if __name__ == "__main__":
    main()
