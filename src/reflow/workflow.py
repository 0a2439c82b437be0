"""``Workflow``: a container of steps that runs on a runtime."""

from __future__ import annotations

import asyncio
import logging
import secrets
import types
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from reflow._steps.collect import WorkflowMeta, add_step_to, collect_step_functions
from reflow._steps.config import StepConfig, WorkflowGraphCheck
from reflow._steps.notes import with_note
from reflow._steps.runner import make_step_worker
from reflow._steps.specs import compile_specs
from reflow.context._serializability import DEFAULT_VALUE_CHECKER, check_serializable
from reflow.context.context import Context
from reflow.context.serializers import BaseSerializer, JsonSerializer
from reflow.engine import RunConfig, RunState, StepSpec
from reflow.errors import ContextStateError, WorkflowRuntimeError, WorkflowValidationError
from reflow.events import Event, StartEvent, StopEvent
from reflow.handler import WorkflowHandler
from reflow.resource import ResourceManager
from reflow.runtime.basic import basic_runtime
from reflow.runtime.types.plugin import Runtime, current_runtime
from reflow.runtime.types.step_call import StepWorkerFunction

logger = logging.getLogger(__name__)


def _new_run_id() -> str:
    """Ten random alphanumeric characters (40 bits from the OS's CSPRNG, as hex)."""
    return secrets.token_hex(5)


class Workflow(metaclass=WorkflowMeta):
    """Subclass it and decorate methods with ``@step``; ``run()`` starts a run."""

    # Identity hashing, stated so that a subclass that is also a pydantic model (BaseModel sets
    # ``__hash__ = None``) can still be kept in the runtimes' weak sets and caches.
    __hash__ = object.__hash__

    def __init__(
        self,
        timeout: float | None = 45.0,
        disable_validation: bool = False,
        verbose: bool = False,
        resource_manager: ResourceManager | None = None,
        num_concurrent_runs: int | None = None,
        runtime: Runtime | None = None,
        workflow_name: str | None = None,
        skip_graph_checks: set[WorkflowGraphCheck] | None = None,
        serializer: BaseSerializer | None = None,
    ) -> None:
        if num_concurrent_runs is not None and (
            not isinstance(num_concurrent_runs, int)
            or isinstance(num_concurrent_runs, bool)
            or num_concurrent_runs < 1
        ):
            raise WorkflowValidationError(
                "num_concurrent_runs must be an integer greater than 0 or None"
            )
        self._instance_id = id(self)
        self._timeout = timeout
        self._disable_validation = disable_validation
        self._verbose = verbose
        self._resource_manager = resource_manager or ResourceManager()
        # Underscored: a Workflow that is also a pydantic model refuses undeclared public fields.
        self._num_concurrent_runs = num_concurrent_runs
        self._workflow_name = workflow_name
        self._skip_graph_checks: set[WorkflowGraphCheck] = set(skip_graph_checks or ())
        # The checks load with the first Workflow built, not with ``import reflow``.
        from reflow._steps.validation import infer_start_stop, validate_skip_graph_checks

        validate_skip_graph_checks(self._skip_graph_checks)
        self._serializer: BaseSerializer = serializer or JsonSerializer()
        self._serializer_explicit = serializer is not None
        self._inferred_state: tuple[type[BaseModel] | None] | None = None
        self._functions = self._bind_steps()
        self._configs: dict[str, StepConfig] = {
            name: fn._step_config  # type: ignore[attr-defined]
            for name, fn in self._functions.items()
        }
        self._start_event_class, self._stop_event_class = infer_start_stop(
            self._configs, workflow_name=type(self).__name__
        )
        self._validated: bool | None = None
        self._specs: dict[str, StepSpec] | None = None
        self._handler_for_step: dict[str, str] = {}
        self._routes: dict[type[Event], tuple[str, ...]] = {}
        self._workers: dict[str, StepWorkerFunction] | None = None
        self._runtime_locked = False
        chosen = runtime or current_runtime() or basic_runtime
        if verbose:
            from reflow.runtime.verbose import VerboseDecorator

            chosen = VerboseDecorator(chosen)
        self._runtime: Runtime = chosen
        chosen.track_workflow(self)

    def _own_instance_state(self) -> None:
        """Rebind what a shallow copy (pydantic's ``model_copy``) shares with its original.

        Such a copy gets the original's ``__dict__``: steps bound to the original, its step
        workers and runtime registrations. The first run of the copy binds its own.
        """
        if self._instance_id == id(self):
            return
        self._instance_id = id(self)
        self._functions = self._bind_steps()
        self._workers = None
        vars(self).pop("_reflow_registrations", None)
        self._runtime.track_workflow(self)

    def _bind_steps(self) -> dict[str, Callable[..., Any]]:
        bound: dict[str, Callable[..., Any]] = {}
        free = _free_step_names(type(self))
        for name, fn in collect_step_functions(type(self)).items():
            bound[name] = fn if name in free else types.MethodType(fn, self)
        return bound

    # -- public surface ----------------------------------------------------------------------

    @classmethod
    def add_step(cls, func: Callable[..., Any]) -> None:
        add_step_to(cls, func)

    @property
    def runtime(self) -> Runtime:
        return self._runtime

    @property
    def workflow_name(self) -> str:
        if self._workflow_name is not None:
            return self._workflow_name
        return _default_name(type(self))

    @property
    def start_event_class(self) -> type[StartEvent]:
        return self._start_event_class

    @property
    def stop_event_class(self) -> type[StopEvent]:
        return self._stop_event_class

    @property
    def serializer(self) -> BaseSerializer:
        return self._serializer

    @property
    def timeout(self) -> float | None:
        return self._timeout

    @property
    def events(self) -> list[type[Event]]:
        seen: dict[type[Event], None] = {}
        for config in self._configs.values():
            for event_type in [*config.accepted_events, *config.return_types]:
                if isinstance(event_type, type) and issubclass(event_type, Event):
                    seen.setdefault(event_type, None)
        return list(seen)

    def validate(
        self, *, validate_resource_configs: bool = True, validate_resources: bool = False
    ) -> bool:
        """Check the steps and the event graph; returns whether the workflow uses HITL."""
        from reflow._steps.validation import validate_workflow

        self._validated = validate_workflow(
            self._configs,
            skip_graph_checks=self._skip_graph_checks,
            workflow_name=type(self).__name__,
        )
        if validate_resource_configs or validate_resources:
            from reflow._steps.resources import check_resources

            check_resources(self._configs, self._resource_manager, validate_resources)
        return self._validated

    def run(
        self,
        ctx: Context[Any] | None = None,
        start_event: StartEvent | None = None,
        **kwargs: Any,
    ) -> WorkflowHandler:
        """Start a run and return its handler at once (needs a running event loop)."""
        _require_running_loop(type(self).__name__)
        self._own_instance_state()
        run_id = kwargs.pop("run_id", None) or _new_run_id()
        if not self._disable_validation and self._validated is None:
            self.validate()
        self._lock_runtime()
        if ctx is not None and ctx._face.phase == "external" and ctx.is_running:
            raise ContextStateError(
                "Cannot start a new run while context is already running. "
                "Wait for completion or use a new Context."
            )
        if ctx is not None and ctx._face.phase == "internal":
            raise ContextStateError("A step's context cannot start a new run")
        ctx = ctx or Context(self)
        resuming = ctx._face.phase == "pre-run" and ctx.is_running
        event = None if resuming else self._build_start_event(start_event, kwargs)
        store = ctx.store
        init_state = self._initial_state(run_id, ctx)
        adapter = self._runtime.run_workflow(run_id, self, init_state, event, state_store=store)
        ctx._bind_run(adapter, store)
        return WorkflowHandler(self, adapter, ctx)

    # -- runtime contract --------------------------------------------------------------------

    def _lock_runtime(self) -> None:
        self._runtime_locked = True

    def _switch_runtime(self, runtime: Runtime) -> None:
        if self._runtime_locked:
            raise WorkflowRuntimeError("The runtime cannot change after the workflow has run")
        self._runtime.untrack_workflow(self)
        self._runtime = runtime
        runtime.track_workflow(self)

    def _step_specs(self) -> dict[str, StepSpec]:
        if self._specs is None:
            self._specs, self._handler_for_step = compile_specs(
                self._configs, self._start_event_class
            )
        return self._specs

    def _run_config(self, run_id: str) -> RunConfig:
        specs = self._step_specs()
        return RunConfig(
            run_id=run_id,
            steps=specs,
            timeout=self._timeout,
            handler_for_step=self._handler_for_step,
            _routes=self._routes,
        )

    def _step_workers(self) -> Mapping[str, StepWorkerFunction]:
        self._own_instance_state()
        if self._workers is None:
            self._workers = {
                name: make_step_worker(self, name, fn, self._configs[name])
                for name, fn in self._functions.items()
            }
        return self._workers

    def _state_type(self) -> type[BaseModel] | None:
        if self._inferred_state is None:
            from reflow._steps.validation import infer_state_type

            self._inferred_state = (infer_state_type(self._configs),)
        return self._inferred_state[0]

    def _check_send_target(self, event: Event, step: str | None) -> None:
        if step is None:
            return
        config = self._configs.get(step)
        if config is None:
            raise WorkflowRuntimeError(f"Step {step} does not exist")
        if config.collection_param is not None:
            raise WorkflowRuntimeError(
                f"{type(event).__name__} was sent to collect step '{step}' via "
                "send_event(step=...), but a collect step cannot receive targeted events: it "
                "receives only what a fan-out stream produces."
            )
        accepted = tuple(config.accepted_events)
        if type(event) in accepted:
            return
        if config.accept_event_subclasses and isinstance(event, accepted):
            return
        raise WorkflowRuntimeError(f"Step {step} does not accept event of type {type(event)}")

    def _value_checker(self) -> BaseSerializer:
        """The serializer sent events and stored values are checked with."""
        return self._serializer if self._serializer_explicit else DEFAULT_VALUE_CHECKER

    def _check_event_serializable(self, event: Event) -> None:
        check_serializable(event, "event", self._value_checker())

    def _build_start_event(self, start_event: StartEvent | None, kwargs: dict[str, Any]) -> Event:
        if start_event is not None:
            if not isinstance(start_event, StartEvent):
                raise ValueError("The 'start_event' argument must be an instance of 'StartEvent'.")
            if kwargs:
                logger.warning(
                    "run() got a start_event, so these keyword arguments are ignored: %s",
                    kwargs,
                )
            return start_event
        try:
            return self._start_event_class(**kwargs)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'input'}: {error['msg']}"
                for error in exc.errors()
            )
            error = WorkflowRuntimeError(
                f"Failed creating a start event of type '{self._start_event_class.__name__}' "
                f"with the keyword arguments: {kwargs}"
            )
            raise with_note(error, problems) from exc

    def _initial_state(self, run_id: str, ctx: Context[Any]) -> RunState:
        config = self._run_config(run_id)
        snapshot = ctx._snapshot
        if snapshot is not None and snapshot.get("is_running"):
            from reflow.context._snapshot import run_state_from_snapshot

            return run_state_from_snapshot(snapshot, config, ctx._serializer, self)
        return RunState.initial(config)


_DEFAULT_NAMES: dict[type, str] = {}


def _default_name(cls: type) -> str:
    """``module.QualName``, one string per class: every handler keeps its run's name."""
    name = _DEFAULT_NAMES.get(cls)
    if name is None or name != f"{cls.__module__}.{cls.__qualname__}":
        if len(_DEFAULT_NAMES) >= 4096:  # classes made at run time must not pile up here
            _DEFAULT_NAMES.clear()
        name = _DEFAULT_NAMES[cls] = f"{cls.__module__}.{cls.__qualname__}"
    return name


def _require_running_loop(name: str) -> None:
    """``run()`` schedules the run on the running loop: say how to get one when there is none."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise RuntimeError(
            f"{name}().run() needs a running event loop: call it inside an async function and "
            "await the handler it returns, e.g. `async def main(): return await "
            f"{name}().run(...)` then `asyncio.run(main())` (asyncio.run(workflow.run()) calls "
            "run() before the loop starts)"
        ) from None


def _free_step_names(cls: type) -> set[str]:
    names: set[str] = set()
    for klass in cls.__mro__:
        names.update(getattr(klass, "_step_functions", {}) or {})
    return names
