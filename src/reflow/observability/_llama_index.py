"""The peer's instrumentation, for LlamaIndex observability integrations after the import swap.

llama-index-workflows reports to llama-index-instrumentation's dispatcher: a span per run
(``{WorkflowClass}.run-{uuid}``, the workflow as its instance) and a child span per step
attempt (``{step function qualname}-{uuid}``), with instrument tags ``llamaindex.run_id``,
``llamaindex.step.input_event`` and ``llamaindex.step.input_summary``; the events
``step.output`` and ``workflow.output`` carry a summary of what a step or the run returned; a
failure drops the span after a ``SpanDropEvent``; a cancelled step and a run cancelled by the
user exit theirs after a ``SpanCancelledEvent``; a step suspended in ``wait_for_event`` exits
its span.  The instrument tags active around ``run()`` are seen inside the steps.  This
listener dispatches the same, at the same points, from the run's ticks.
"""

from __future__ import annotations

import inspect
import uuid
import weakref
from collections.abc import Sequence
from typing import Any

from llama_index_instrumentation import get_dispatcher
from llama_index_instrumentation.base import BaseEvent
from llama_index_instrumentation.dispatcher import active_instrument_tags, instrument_tags
from llama_index_instrumentation.events.span import SpanDropEvent
from llama_index_instrumentation.span import active_span_id

from reflow.engine import (
    Command,
    CommandCancelStep,
    CommandCompleteRun,
    CommandFailRun,
    CommandHaltRun,
    CommandRunStep,
    RunState,
    TickStartRun,
    TickStepFailed,
    TickStepReturned,
    TickStepWaiting,
    WorkflowTick,
)
from reflow.errors import WorkflowCancelledByUser
from reflow.observability._guarded import GuardedListener
from reflow.observability._summary import summarize_event
from reflow.runtime.listeners import RunListener
from reflow.runtime.types.step_call import StepCall

_dispatcher = get_dispatcher("reflow.workflow")


class SpanCancelledEvent(BaseEvent):
    """A span exits because its work was cancelled."""

    reason: str

    @classmethod
    def class_name(cls) -> str:
        return "SpanCancelledEvent"


class WorkflowStepOutputEvent(BaseEvent):
    """What a step attempt returned, summarized."""

    output: str

    @classmethod
    def class_name(cls) -> str:
        return "step.output"


class WorkflowRunOutputEvent(BaseEvent):
    """What a run returned, summarized."""

    output: str

    @classmethod
    def class_name(cls) -> str:
        return "workflow.output"


def run_workflow(init_state: Any, start_event: Any = None, tags: Any = None) -> None:
    """The signature the run span's bound arguments follow (the peer's run function)."""


_RUN_SIGNATURE = inspect.signature(run_workflow)


class _StepSpan:
    __slots__ = ("bound", "id", "tags")

    def __init__(self, span_id: str, bound: inspect.BoundArguments, tags: dict[str, Any]):
        self.id = span_id
        self.bound = bound
        self.tags = tags


class LlamaIndexRunListener(GuardedListener):
    def __init__(self, driver: Any, workflow: Any) -> None:
        self._workflow = workflow
        run_id: str = driver.run_id
        self._tags: dict[str, Any] = {**active_instrument_tags.get(), "llamaindex.run_id": run_id}
        self._parent: str | None = active_span_id.get()
        self._span_id = f"{type(workflow).__name__}.run-{uuid.uuid4()}"
        self._bound: inspect.BoundArguments | None = None
        self._steps: dict[int, _StepSpan] = {}
        self._ended = False
        # The run's own context: its steps inherit the tags and see the run span as parent.
        active_instrument_tags.set(self._tags)
        active_span_id.set(self._span_id)

    def _on_tick(self, state: RunState, tick: WorkflowTick, commands: Sequence[Command]) -> None:
        kind = type(tick)
        if kind is TickStartRun:
            assert isinstance(tick, TickStartRun)
            self._enter_run(state, tick)
        elif kind is TickStepReturned:
            assert isinstance(tick, TickStepReturned)
            span = self._steps.pop(tick.attempt_id, None)
            if span is not None:
                self._emit(WorkflowStepOutputEvent(output=_summary(tick.result)), span)
                _dispatcher.span_exit(id_=span.id, bound_args=span.bound, result=tick.result)
        elif kind is TickStepFailed:
            assert isinstance(tick, TickStepFailed)
            self._drop_step(tick.attempt_id, tick.exception)
        elif kind is TickStepWaiting:
            assert isinstance(tick, TickStepWaiting)
            # The peer leaves a waiting step and runs it again: an exit, not a drop.
            span = self._steps.pop(tick.attempt_id, None)
            if span is not None:
                _dispatcher.span_exit(id_=span.id, bound_args=span.bound, result=None)
        for cmd in commands:
            ckind = type(cmd)
            if ckind is CommandRunStep:
                assert isinstance(cmd, CommandRunStep)
                if cmd.resume_waiter is not None and cmd.attempt_id not in self._steps:
                    self._enter_step(cmd.attempt_id, cmd.step_name, cmd.event)
            elif ckind is CommandCancelStep:
                assert isinstance(cmd, CommandCancelStep)
                self._cancel_step(cmd.attempt_id)
            elif isinstance(cmd, (CommandCompleteRun, CommandFailRun, CommandHaltRun)):
                self._end_run(cmd)
                return

    def _on_attempt(self, call: StepCall) -> None:
        span = self._steps.get(call.attempt_id)
        if span is None:
            span = self._enter_step(call.attempt_id, call.step_name, call.event)
        # This is the attempt task's own context: the step's own spans and events nest here.
        active_instrument_tags.set(span.tags)
        active_span_id.set(span.id)

    # -- spans ---------------------------------------------------------------------------

    def _enter_run(self, state: RunState, tick: TickStartRun) -> None:
        self._bound = _RUN_SIGNATURE.bind(state, tick.start_event, dict(self._tags))
        tags = dict(self._tags)
        if tick.start_event is not None:
            tags["llamaindex.start_event"] = summarize_event(tick.start_event)
        with instrument_tags(tags):
            _dispatcher.span_enter(
                id_=self._span_id,
                bound_args=self._bound,
                instance=self._workflow,
                parent_id=self._parent,
            )

    def _enter_step(self, attempt_id: int, step: str, event: Any) -> _StepSpan:
        qualname, signature, event_name = _step_info(self._workflow, step)
        if event_name is None:
            bound = signature.bind_partial()
        else:
            bound = signature.bind_partial(**{event_name: event})
        tags = {
            **self._tags,
            "llamaindex.step.input_event": type(event).__name__,
            "llamaindex.step.input_summary": summarize_event(event),
        }
        span = self._steps[attempt_id] = _StepSpan(f"{qualname}-{uuid.uuid4()}", bound, tags)
        _dispatcher.span_enter(
            id_=span.id, bound_args=bound, instance=None, parent_id=self._span_id, tags=tags
        )
        return span

    def _drop_step(self, attempt_id: int, error: BaseException) -> None:
        span = self._steps.pop(attempt_id, None)
        if span is not None:
            self._emit(SpanDropEvent(err_str=str(error)), span)
            _dispatcher.span_drop(id_=span.id, bound_args=span.bound, err=error)

    def _cancel_step(self, attempt_id: int) -> None:
        span = self._steps.pop(attempt_id, None)
        if span is not None:
            self._emit(SpanCancelledEvent(reason="step cancelled"), span)
            _dispatcher.span_exit(id_=span.id, bound_args=span.bound, result=None)

    def _end_run(self, cmd: Command) -> None:
        self._ended = True
        for attempt_id in list(self._steps):
            self._cancel_step(attempt_id)
        bound = self._bound or _RUN_SIGNATURE.bind(None)
        run = _StepSpan(self._span_id, bound, self._tags)
        if isinstance(cmd, CommandCompleteRun):
            self._emit(WorkflowRunOutputEvent(output=summarize_event(cmd.result)), run)
            _dispatcher.span_exit(
                id_=run.id, bound_args=bound, instance=self._workflow, result=cmd.result
            )
            return
        assert isinstance(cmd, (CommandFailRun, CommandHaltRun))
        error = cmd.exception
        if isinstance(error, WorkflowCancelledByUser):
            self._emit(SpanCancelledEvent(reason="workflow cancelled by user"), run)
            _dispatcher.span_exit(id_=run.id, bound_args=bound, instance=self._workflow)
        else:
            self._emit(SpanDropEvent(err_str=str(error)), run)
            _dispatcher.span_drop(id_=run.id, bound_args=bound, instance=self._workflow, err=error)

    @staticmethod
    def _emit(event: BaseEvent, span: _StepSpan) -> None:
        event.span_id = span.id
        with instrument_tags(span.tags):
            _dispatcher.event(event)


def _summary(result: Any) -> str:
    if isinstance(result, list):
        return "[" + ", ".join(summarize_event(event) for event in result) + "]"
    return "None" if result is None else summarize_event(result)


_StepInfo = tuple[str, inspect.Signature, str | None]
_step_infos: weakref.WeakKeyDictionary[Any, dict[str, _StepInfo]] = weakref.WeakKeyDictionary()


def _step_info(workflow: Any, step: str) -> _StepInfo:
    """The step function's qualified name and signature, and the name of its event parameter.

    Computed once per workflow and step: reading a signature costs more than the rest of a
    span.
    """
    known = _step_infos.get(workflow)
    if known is None:
        known = _step_infos[workflow] = {}
    info = known.get(step)
    if info is None:
        function = getattr(workflow, "_functions", {}).get(step)
        if function is None:
            info = (f"{type(workflow).__qualname__}.{step}", _RUN_SIGNATURE, None)
        else:
            signature = inspect.signature(function)
            name = getattr(getattr(workflow, "_configs", {}).get(step), "event_name", None)
            usable = isinstance(name, str) and name in signature.parameters
            info = (function.__qualname__, signature, name if usable else None)
        known[step] = info
    return info


def llama_index_factory(driver: Any, workflow: Any) -> RunListener | None:
    if workflow is None:
        return None
    return LlamaIndexRunListener(driver, workflow)
