"""``Context.to_dict`` / ``from_dict``: the snapshot format.

The snapshot keeps the peer's layout (version 2; version 1 is read too: ``state``,
``is_running``, ``workers`` with per-step queues, in-progress events, collected events and
waiters) so tools that read it keep working, and adds a ``reflow`` key holding the exact
engine state (timers, attempt ids, waiter requirements), from which a run resumes precisely,
in this process or another one.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from reflow.context._faces import ExternalFace, PreRunFace
from reflow.context._peer_view import state_from_workers, workers_view
from reflow.context.serializers import BaseSerializer
from reflow.engine import RunConfig, RunState
from reflow.engine.codec import EventCodec, registry_for, state_from_json, state_to_json
from reflow.errors import ContextSerdeError

if TYPE_CHECKING:
    from collections.abc import Callable

    from reflow.context._faces import Face
    from reflow.context._host import WorkflowHost

SNAPSHOT_VERSION = 2
_INVALID = "Context dict specified in an invalid format"


def validate_snapshot(data: Any) -> None:
    """Reject a payload that cannot be a snapshot, saying which part is wrong."""
    if not isinstance(data, dict):
        raise ContextSerdeError(f"{_INVALID}: expected a dict, got {type(data).__name__}")
    version = data.get("version")
    if version is None:
        return  # legacy (version 0) payloads are read best-effort
    if version not in (1, SNAPSHOT_VERSION):
        raise ContextSerdeError(f"{_INVALID}: unsupported version {version!r}")
    expected = {"state": dict, "is_running": bool, "workers": dict}
    for key, kind in expected.items():
        if key in data and not isinstance(data[key], kind):
            raise ContextSerdeError(
                f"{_INVALID}: {key!r} must be a {kind.__name__}, got {type(data[key]).__name__}"
            )
    if "reflow" in data and not isinstance(data["reflow"], dict):
        raise ContextSerdeError(f"{_INVALID}: 'reflow' must be a dict")


def snapshot_from_context(
    face: Face,
    workflow: WorkflowHost,
    state_dict: Callable[[], dict[str, Any]],
    include_state: bool,
    serializer: BaseSerializer,
) -> dict[str, Any]:
    """The snapshot of a context seen through ``face``; ``state_dict`` serializes its store."""
    if isinstance(face, PreRunFace):
        if face.snapshot is not None:
            return dict(face.snapshot)
        state: RunState | None = RunState.initial(workflow._run_config(""))
        is_running = False
        include_state = include_state and face.store is not None
    else:
        assert isinstance(face, ExternalFace)
        state = face.adapter.snapshot()
        is_running = state.is_running if state is not None else False
    snapshot: dict[str, Any] = {"version": SNAPSHOT_VERSION}
    snapshot["state"] = state_dict() if include_state else {}
    snapshot["is_running"] = is_running
    snapshot["workers"] = {} if state is None else workers_view(state, serializer)
    if state is not None:
        # Waiter requirements JSON cannot hold go through the snapshot's serializer.
        codec = EventCodec(registry_for(state.config), values=serializer)
        snapshot["reflow"] = state_to_json(state, codec)
    return snapshot


def run_state_from_snapshot(
    snapshot: dict[str, Any], config: RunConfig, serializer: BaseSerializer, workflow: WorkflowHost
) -> RunState:
    """Rebuild the engine state to resume from; in-flight attempts are queued again."""
    try:
        if "reflow" in snapshot:
            codec = EventCodec(registry_for(config), values=serializer)
            return state_from_json(snapshot["reflow"], config, codec)
        return state_from_workers(snapshot.get("workers", {}), config, serializer, time.time())
    except ContextSerdeError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise ContextSerdeError(f"{_INVALID}: {exc}") from exc
