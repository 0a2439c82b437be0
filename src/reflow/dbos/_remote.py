"""Steps that run on any process of the cluster: which qualify, and how one attempt runs there.

A step qualifies unless it needs the live run: a collecting step, a step with resources (they
live in the process that built them), a step whose code calls ``collect_events`` or
``wait_for_event`` (``_capture.needs_live_run``), or a step named in ``local_steps``.  A step
without a ``Context`` gets only its event; a ``Context`` step also gets the run's store as it
was at dispatch, and its store writes, sends and stream writes come back with its result
(``_capture``).  Its attempts go through the step's DBOS queue, enqueued with the tick that
starts them (``RemoteSteps.starts``, ``_enqueue``); every other step runs in the process driving
the run, as on ``DurableRuntime``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reflow.dbos import _cluster
from reflow.dbos._capture import (
    StayLocal,
    StoreConflict,
    apply_outcome,
    dispatch_context,
    needs_live_run,
)
from reflow.dbos._enqueue import Start
from reflow.dbos._execute import decode_event, encode_event, tracing_module
from reflow.dbos._steps import queue_name
from reflow.engine import CommandRunStep
from reflow.runtime.types.step_call import StepCall, StepWorkerFunction, attempt_key


def runs_anywhere(workflow: Any, step_name: str, local_steps: frozenset[str] = frozenset()) -> bool:
    config = workflow._configs[step_name]
    if step_name in local_steps or f"{workflow.workflow_name}.{step_name}" in local_steps:
        return False
    if config.collection_param is not None or config.collect_params or config.resources:
        return False
    if config.context_parameter is None:
        return True
    return not needs_live_run(workflow._functions.get(step_name))


class RemoteSteps:
    """A workflow's steps that run on the cluster: their routing, and the attempts that a
    journal batch enqueued with the tick that started them (``starts``, ``sent``)."""

    def __init__(
        self,
        workflow: Any,
        steps: Mapping[str, StepWorkerFunction],
        local_steps: frozenset[str] = frozenset(),
    ) -> None:
        self.workflow = workflow
        self.name: str = workflow.workflow_name
        # Whether each step that may run anywhere takes a ``Context``.
        self.with_context = {
            step_name: workflow._configs[step_name].context_parameter is not None
            for step_name, _ in remote_steps(workflow, local_steps)
        }
        # Context steps whose execution elsewhere needed the live run (``StayLocal``) or whose
        # store writes raced another step's (``StoreConflict``): this process runs them itself
        # from then on.
        self.stay: set[str] = set()
        # Attempts enqueued with their tick and not yet awaited by their step call, by key.
        self.sent: dict[str, Start] = {}
        self.routed: dict[str, StepWorkerFunction] = dict(steps)
        for step_name in self.with_context:
            self.routed[step_name] = self._through_queue(step_name, steps[step_name])

    def starts(
        self, run_id: str, store: Any, batch: Sequence[tuple[Any, list[Any]]]
    ) -> list[Start]:
        """The executions that the step attempts started in ``batch`` send to the cluster,
        with the run's ``store`` as it is after the batch; remembered in ``sent``."""
        found = []
        tracing = tracing_module()
        for _, commands in batch:
            for cmd in commands:
                if type(cmd) is not CommandRunStep or cmd.resume_waiter is not None:
                    continue
                step_name = cmd.step_name
                with_context = self.with_context.get(step_name)
                if with_context is None or step_name in self.stay:
                    continue
                key = attempt_key(run_id, step_name, cmd.attempt_id)
                context = (
                    dispatch_context(self.workflow, store, cmd.retry) if with_context else None
                )
                traceparent = None
                if tracing is not None:
                    traceparent = tracing.attempt_traceparent(run_id, cmd.attempt_id)
                start = self._build(step_name, key, cmd.event, context, traceparent, commands)
                self.sent[key] = start
                found.append(start)
        return found

    def forget(self, key: str) -> None:
        self.sent.pop(key, None)

    def _through_queue(self, step_name: str, local: StepWorkerFunction) -> StepWorkerFunction:
        workflow, with_context = self.workflow, self.with_context[step_name]

        async def through_queue(call: StepCall) -> Any:
            start = self.sent.pop(call.idempotency_key, None)
            if start is None:
                # Not enqueued with its tick: replayed by a process that took the run over
                # (its execution is queued already: this attaches to it), or a step that
                # runs here from now on.
                if step_name in self.stay:
                    return await local(call)
                start = self._start(call, with_context)
            result = await _cluster.run_step(start.queue, start.key, start.arguments)
            if start.context is None:
                return decode_event(workflow, result)
            try:
                return await apply_outcome(workflow, call, result, start.context)
            except (StayLocal, StoreConflict):
                # Needs the live run, or writes keys other steps write at the same time:
                # this attempt runs again here, and so does the step from now on.
                self.stay.add(step_name)
                return await local(call)

        return through_queue

    def _start(self, call: StepCall, with_context: bool) -> Start:
        """The execution of an attempt no batch enqueued, as its step call starts it."""
        context = None
        if with_context:
            context = dispatch_context(self.workflow, call.run.get_state_store(), call.retry)
        tracing = tracing_module()
        traceparent = None if tracing is None else tracing.outgoing_traceparent()
        return self._build(
            call.step_name, call.idempotency_key, call.event, context, traceparent, []
        )

    def _build(
        self,
        step_name: str,
        key: str,
        event: Any,
        context: str | None,
        traceparent: str | None,
        commands: list[Any],
    ) -> Start:
        arguments = (
            self.name,
            step_name,
            key,
            encode_event(self.workflow, event),
            traceparent,
            context,
        )
        return Start(queue_name(self.name, step_name), key, arguments, context, commands)


def remote_steps(
    workflow: Any, local_steps: frozenset[str] = frozenset()
) -> Sequence[tuple[str, int]]:
    """(step name, num_workers) of the workflow's steps that may run on any process."""
    found = []
    for step_name, config in workflow._configs.items():
        if runs_anywhere(workflow, step_name, local_steps):
            found.append((step_name, int(config.num_workers or 1)))
    return found
