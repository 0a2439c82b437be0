"""``WorkflowHost``: what a run's context, handler and step runner need of its workflow.

``reflow.workflow`` builds on the context, the handler and the step runner; they see the
workflow only through this protocol, so the imports point one way (workflow -> context).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pydantic import BaseModel

    from reflow.context.serializers import BaseSerializer
    from reflow.engine import RunConfig
    from reflow.events import Event
    from reflow.resource import ResourceManager


class WorkflowHost(Protocol):
    """The face a :class:`reflow.Workflow` shows to the objects of one of its runs."""

    _resource_manager: ResourceManager

    @property
    def workflow_name(self) -> str: ...

    def _run_config(self, run_id: str) -> RunConfig: ...

    def _state_type(self) -> type[BaseModel] | None: ...

    def _value_checker(self) -> BaseSerializer: ...

    def _check_send_target(self, event: Event, step: str | None) -> None: ...

    def _check_event_serializable(self, event: Event) -> None: ...
