"""A workflow's catalogue: what the command line must know about it without importing it.

Stored in the journal's ``workflows`` table when a process first starts a run of the workflow:
its steps and the event types each accepts (with their fields), and a TARGET that imports it
again (``path/to/file.py:Name``), so ``reflow runs send`` can refuse an event no step takes
and ``reflow runs resume`` can load the workflow of a run.

``check_send`` is the one rule for whether an event may be sent to a run, used by the command
line (on the catalogue) and by the runtime (on the workflow itself, before anything is stored).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from reflow.events import Event, HumanResponseEvent

HUMAN_RESPONSE = f"{HumanResponseEvent.__module__}.{HumanResponseEvent.__qualname__}"


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def default_target(workflow: Any) -> str | None:
    """``file.py:Class`` for a workflow class defined at module level, else None."""
    cls = type(workflow)
    if "<" in cls.__qualname__:
        return None
    try:
        path = inspect.getsourcefile(cls)
    except (TypeError, OSError):
        return None
    return None if path is None else f"{path}:{cls.__qualname__}"


def _fields(cls: type[Event]) -> dict[str, Any]:
    required = [name for name, info in cls.model_fields.items() if info.is_required()]
    if cls is HumanResponseEvent or (issubclass(cls, HumanResponseEvent) and not cls.model_fields):
        required = ["response"]  # the field every answer carries, declared or not
    return {"fields": list(cls.model_fields), "required": required}


def catalogue_of(workflow: Any, target: str | None = None) -> dict[str, Any]:
    """The catalogue of ``workflow`` (a JSON-ready dict)."""
    steps: dict[str, Any] = {}
    events: dict[str, Any] = {HUMAN_RESPONSE: _fields(HumanResponseEvent)}
    for name, config in workflow._configs.items():
        accepted = [t for t in config.accepted_events if isinstance(t, type)]
        steps[name] = {
            "accepts": [qualified(t) for t in accepted],
            "subclasses": bool(config.accept_event_subclasses),
        }
        for event_type in accepted:
            if issubclass(event_type, Event):
                events.setdefault(qualified(event_type), _fields(event_type))
    return {
        "workflow": workflow.workflow_name,
        "target": target or default_target(workflow),
        "steps": steps,
        "events": events,
    }


@dataclass(frozen=True)
class Catalogue:
    """A stored catalogue, read back."""

    workflow: str
    target: str | None
    steps: dict[str, list[str]]
    events: dict[str, dict[str, Any]]

    @classmethod
    def from_json(cls, text: str) -> Catalogue:
        data = json.loads(text)
        return cls(
            workflow=str(data.get("workflow", "")),
            target=data.get("target"),
            steps={name: list(spec["accepts"]) for name, spec in data.get("steps", {}).items()},
            events=dict(data.get("events", {})),
        )

    def resolve(self, type_name: str, waiting_on: list[str]) -> str:
        """The qualified name of the known event type ``type_name`` names (or a SendRefused).

        Known types: those some step accepts, and those the run waits for.
        """
        known = sorted({*self.events, *waiting_on})
        if type_name in known:
            return type_name
        short = [name for name in known if name.rsplit(".", 1)[-1] == type_name]
        if len(short) == 1:
            return short[0]
        shown = ", ".join(name.rsplit(".", 1)[-1] for name in known)
        raise SendRefused(
            f"workflow {self.workflow} has no step that accepts an event of type "
            f"{type_name!r}, and the run does not wait for one; it accepts: {shown}"
        )

    def check(self, type_name: str, fields: dict[str, Any], step: str | None) -> None:
        """Refuse (SendRefused) a step that does not exist or does not take the type, or
        missing required fields."""
        if step is not None:
            accepts = self.steps.get(step)
            if accepts is None:
                raise no_such_step(self.workflow, step, self.steps)
            if type_name not in accepts:
                short = type_name.rsplit(".", 1)[-1]
                raise SendRefused(f"step {step!r} of {self.workflow} does not accept {short}")
        spec = self.events.get(type_name)
        if spec is not None:
            missing = [name for name in spec.get("required", []) if name not in fields]
            if missing:
                short = type_name.rsplit(".", 1)[-1]
                raise SendRefused(
                    f"{short} needs the field{'s' if len(missing) > 1 else ''} "
                    f"{', '.join(repr(name) for name in missing)}"
                )


class SendRefused(ValueError):
    """An event that cannot be sent to a run; nothing was stored."""


def no_such_step(workflow: str, step: str, steps: Iterable[str]) -> SendRefused:
    return SendRefused(
        f"workflow {workflow} has no step {step!r}; its steps: {', '.join(sorted(steps))}"
    )


def check_send(workflow: Any, event: Event, step: str | None) -> None:
    """Refuse, before anything is stored, an event ``workflow`` cannot deliver to ``step``."""
    if step is not None:
        if step not in workflow._configs:
            raise no_such_step(workflow.workflow_name, step, workflow._configs)
        try:
            workflow._check_send_target(event, step)
        except Exception as exc:
            raise SendRefused(str(exc)) from exc
    workflow._check_event_serializable(event)
