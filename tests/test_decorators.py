"""``@step`` / ``@catch_error`` signature rules, ``StepConfig`` contents and step registration.

Expected messages were measured on llama-index-workflows 2.26.1.  This module uses postponed
annotations on purpose: every event class defined inside a test must still resolve.
"""

# The typing.Optional / Union / List spellings are under test, so keep them.
# ruff: noqa: UP006, UP007, UP035, UP045
from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Any, List, Optional, Union

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from reflow._steps.collect import WorkflowMeta, add_step_to, collect_step_functions
from reflow._steps.signature import is_free_function, parse_return_annotation
from reflow.collect import All, Cardinality, Collect, Take
from reflow.context import Context
from reflow.decorators import StepConfig, catch_error, step
from reflow.errors import WorkflowValidationError
from reflow.events import Event, StartEvent, StepFailedEvent, StopEvent
from reflow.resource import Resource, ResourceConfig


class A(Event):
    pass


class B(Event):
    pass


class C(Event):
    pass


class State(BaseModel):
    count: int = 0


def make_connection() -> int:
    return 1


class FakeWorkflow(metaclass=WorkflowMeta):
    """Stands in for ``Workflow``: only the registration surface ``@step`` needs."""

    @classmethod
    def add_step(cls, func: Any) -> None:
        add_step_to(cls, func)


def config_of(func: Any) -> StepConfig:
    config = func._step_config
    assert isinstance(config, StepConfig)
    return config


def raises_message(message: str) -> Any:
    # pytest matches the message and then the exception's notes (where the step is), one a line.
    return pytest.raises(WorkflowValidationError, match="(?s)^" + re.escape(message) + r"(\n.*)?$")


# -- StepConfig ------------------------------------------------------------------------------


def test_step_config_fields_match_the_peer_then_add_reflow_fields() -> None:
    names = [f.name for f in dataclasses.fields(StepConfig)]
    assert names == [
        "accepted_events",
        "event_name",
        "return_types",
        "context_parameter",
        "num_workers",
        "retry_policy",
        "resources",
        "context_state_type",
        "skip_graph_checks",
        "collect_params",
        "is_fan_out",
        "bare_return_types",
        "collection_param",
        "collection_policy",
        "role",
        "catch_error_for_steps",
        "catch_error_max_recoveries",
        "accept_event_subclasses",
        "timeout",
        "is_async",
        "name",
    ]


def test_bare_step_on_a_method_records_everything() -> None:
    class W:
        @step
        async def first(
            self,
            ctx: Context[State],
            ev: StartEvent,
            conn: Annotated[int, Resource(make_connection)],
            untyped,  # type: ignore[no-untyped-def]
        ) -> A | B: ...

    config = config_of(W.first)
    assert config.accepted_events == [StartEvent]
    assert config.event_name == "ev"
    assert config.return_types == [A, B]
    assert config.bare_return_types == (A, B)
    assert config.context_parameter == "ctx"
    assert config.context_state_type is State
    assert [(r.name, r.type_annotation) for r in config.resources] == [("conn", int)]
    assert config.num_workers == 4
    assert config.retry_policy is None
    assert config.skip_graph_checks == []
    assert config.role == "step"
    assert config.is_async is True
    assert config.name == "first"
    assert config.timeout is None
    assert config.collect_params is None and config.collection_param is None
    assert config.is_fan_out is False


def test_called_step_on_a_sync_method() -> None:
    class W:
        @step(num_workers=2, accept_event_subclasses=True, timeout=1.5)
        def second(self, ev: Optional[A]) -> StopEvent: ...

    config = config_of(W.second)
    assert config.accepted_events == [A]
    assert config.num_workers == 2
    assert config.accept_event_subclasses is True
    assert config.timeout == 1.5
    assert config.is_async is False


def test_union_input_and_none_return() -> None:
    class W:
        @step
        async def s(self, ev: Union[B, A]) -> None: ...

    config = config_of(W.s)
    assert config.accepted_events == [B, A]
    assert config.return_types == [type(None)]
    assert config.bare_return_types == ()


def test_step_returns_the_same_function() -> None:
    async def s(self: Any, ev: A) -> None: ...

    s.__qualname__ = "Holder.s"
    assert step(s) is s


def test_annotations_that_are_real_classes_work_too() -> None:
    def s(self: Any, ev: Any) -> Any: ...

    s.__qualname__ = "Holder.s"
    s.__annotations__ = {"ev": A, "return": StopEvent}
    assert config_of(step(s)).accepted_events == [A]


# -- local names -----------------------------------------------------------------------------


def test_events_defined_in_the_test_resolve() -> None:
    class Local(Event):
        pass

    class W:
        @step
        async def s(self, ev: Local) -> StopEvent: ...

    assert config_of(W.s).accepted_events == [Local]


def test_events_defined_two_scopes_out_resolve() -> None:
    class Outer(Event):
        pass

    def build() -> Any:
        class W:
            @step(num_workers=1)
            async def s(self, ev: Outer) -> StopEvent: ...

        return W

    assert config_of(build().s).accepted_events == [Outer]


def test_a_name_defined_after_the_decorator_is_reported() -> None:
    with raises_message(
        "Failed to resolve type annotations for "
        "test_a_name_defined_after_the_decorator_is_reported.<locals>.W.s. Missing name: Later. "
        "If you are using 'from __future__ import annotations' or string annotations, ensure "
        "referenced names are available in module scope or in the scope where the @step "
        "decorator is applied."
    ):

        class W:
            @step
            async def s(self, ev: Later) -> StopEvent: ...

    class Later(Event):
        pass


def test_a_broken_string_annotation_is_a_validation_error() -> None:
    with pytest.raises(WorkflowValidationError, match="Failed to resolve type annotations"):

        class W:
            @step
            async def s(self, ev: A) -> "1 +": ...  # noqa: F722


# -- signature errors ------------------------------------------------------------------------


def test_no_event_parameter() -> None:
    with raises_message("Step signature must have at least one parameter annotated as type Event"):

        class W:
            @step
            async def s(self, x: int, y: A | int, z: type[A], w: Annotated[A, "x"]) -> None: ...


def test_missing_return_annotation() -> None:
    with raises_message(
        "Return types of workflows step functions must be annotated with their type."
    ):

        class W:
            @step
            async def s(self, ev: A): ...  # type: ignore[no-untyped-def]


def test_event_error_comes_before_return_error() -> None:
    with raises_message("Step signature must have at least one parameter annotated as type Event"):

        class W:
            @step
            async def s(self, ev): ...  # type: ignore[no-untyped-def]


@pytest.mark.parametrize("bad", [0, -1, "2", 2.0, None])
def test_num_workers_must_be_a_positive_int(bad: Any) -> None:
    with raises_message("num_workers must be an integer greater than 0"):

        class W:
            @step(num_workers=bad)
            async def s(self, ev: A) -> None: ...


def test_num_workers_is_checked_before_the_signature() -> None:
    with raises_message("num_workers must be an integer greater than 0"):

        @step(workflow=FakeWorkflow, num_workers=0)
        def s(ev) -> None: ...  # type: ignore[no-untyped-def]


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), True, "1"])
def test_timeout_must_be_a_positive_number(bad: Any) -> None:
    with pytest.raises(WorkflowValidationError, match="timeout must be a positive number"):

        class W:
            @step(timeout=bad)
            async def s(self, ev: A) -> None: ...


def test_step_skip_graph_checks_are_checked() -> None:
    class W:
        @step(skip_graph_checks=["dead_end", "reachability"])
        async def s(self, ev: A) -> None: ...

    assert config_of(W.s).skip_graph_checks == ["dead_end", "reachability"]
    with raises_message(
        "Unknown step graph check names: bogus, terminal_event. "
        "Valid names are: dead_end, reachability"
    ):

        class V:
            @step(skip_graph_checks=["terminal_event", "bogus"])  # type: ignore[list-item]
            async def s(self, ev: A) -> None: ...


def test_retry_policy_must_have_next() -> None:
    with pytest.raises(WorkflowValidationError, match="retry_policy must be a RetryPolicy"):

        class W:
            @step(retry_policy=5)  # type: ignore[arg-type]
            async def s(self, ev: A) -> None: ...


def test_non_callables_are_rejected() -> None:
    with pytest.raises(TypeError, match=r"^Expected a callable object, got int$"):
        step(5)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match=r"^Expected a callable object, got int$"):
        catch_error(5)  # type: ignore[call-overload]


# -- context parameter -----------------------------------------------------------------------


def test_context_is_detected_by_class_name_and_the_last_one_wins() -> None:
    class Context:  # a different class that happens to share the name
        pass

    class W:
        @step
        async def s(self, c: Context, d: Context, ev: A) -> None: ...

    assert config_of(W.s).context_parameter == "d"
    assert config_of(W.s).context_state_type is None


def test_optional_or_annotated_context_is_not_the_context() -> None:
    class W:
        @step
        async def s(self, c: Optional[Context], d: Annotated[Context, "x"], ev: A) -> None: ...

    assert config_of(W.s).context_parameter is None


def test_a_resource_typed_as_context_is_a_resource() -> None:
    class W:
        @step
        async def s(self, ev: A, c: Annotated[Context, Resource(make_connection)]) -> None: ...

    config = config_of(W.s)
    assert config.context_parameter is None
    assert [r.name for r in config.resources] == ["c"]


def test_resource_config_and_metadata_position() -> None:
    class Cfg(BaseModel):
        a: int = 1

    class W:
        @step
        async def s(
            self,
            ev: A,
            r: Annotated[int, "x", Resource(make_connection)],
            c: Annotated[Cfg, ResourceConfig(config_file="x.json")],
        ) -> None: ...

    assert [(r.name, r.type_annotation) for r in config_of(W.s).resources] == [
        ("r", int),
        ("c", Cfg),
    ]


def test_an_event_parameter_marked_as_a_resource_is_not_an_event() -> None:
    with raises_message("Step signature must have at least one parameter annotated as type Event"):

        class W:
            @step
            async def s(self, ev: Annotated[A, Resource(make_connection)]) -> None: ...


# -- return annotations ----------------------------------------------------------------------

NONE = type(None)


@pytest.mark.parametrize(
    ("annotation", "returns", "bare", "fan_out"),
    [
        (None, [NONE], (), False),
        (Optional[A], [A], (A,), False),
        (Union[B, None, C], [B, C], (B, C), False),
        (Annotated[A, "x"], [A], (A,), False),
        (Union[A, str], [A, str], (A, str), False),
        (Any, [Any], (Any,), False),
        (list, [list], (list,), False),
        (tuple[A, ...], [tuple[A, ...]], (tuple[A, ...],), False),
        (list[A], [A], (), True),
        (Union[list[A], StopEvent], [A, StopEvent], (StopEvent,), True),
        (list[Union[A, B]], [A, B], (), True),
        (Optional[List[A]], [A], (), True),
        (Union[list[B], B], [B], (B,), True),
        (Union[list[B], list[C], A], [B, C, A], (A,), True),
        (list[list[A]], [A], (), True),
        (list[Optional[A]], [A], (), True),
        (list[int], [int], (), True),
    ],
)
def test_return_annotations(annotation: Any, returns: list[Any], bare: Any, fan_out: bool) -> None:
    assert parse_return_annotation(annotation) == (returns, bare, fan_out)


_EVENTS = st.sampled_from([A, B, C, StopEvent])
_MEMBER = st.one_of(_EVENTS, st.lists(_EVENTS, min_size=1, max_size=3).map(lambda m: ("list", m)))


@given(st.lists(_MEMBER, min_size=1, max_size=4))
def test_return_types_cover_every_declared_member(members: list[Any]) -> None:
    parts = [list[Union[tuple(m[1])]] if isinstance(m, tuple) else m for m in members]  # type: ignore[misc]
    annotation = Union[tuple(parts)] if len(parts) > 1 else parts[0]
    returns, bare, fan_out = parse_return_annotation(annotation)
    listed = [e for m in members if isinstance(m, tuple) for e in m[1]]
    plain = [m for m in members if not isinstance(m, tuple)]
    assert set(returns) == set(listed) | set(plain)
    assert len(returns) == len(set(returns))
    assert set(bare) == set(plain)
    assert fan_out == bool(listed)


# -- fan-in and joins ------------------------------------------------------------------------


def test_list_parameter_is_a_fan_in_with_all_by_default() -> None:
    class W:
        @step
        async def s(self, ctx: Context, evs: List[A]) -> list[B]: ...

    config = config_of(W.s)
    assert config.accepted_events == [A]
    assert config.event_name == "evs"
    assert config.collection_param == ("evs", (A,))
    assert config.collection_policy == Collect(All())
    assert config.is_fan_out is True
    assert config.return_types == [B]


@pytest.mark.parametrize(
    ("annotation", "elements", "policy"),
    [
        (Annotated[list[A], Collect(Take(1))], (A,), Collect(Take(1))),
        (Annotated[list[A], Collect()], (A,), Collect(All())),
        (Annotated[list[A], Collect(Take(1)), Collect()], (A,), Collect(Take(1))),
        (Annotated[Optional[list[A]], Collect(Take(2))], (A,), Collect(Take(2))),
        (list[Union[A, B]], (A, B), Collect(All())),
        (Optional[list[A]], (A,), Collect(All())),
        (list[Optional[A]], (A,), Collect(All())),
        (list[StartEvent], (StartEvent,), Collect(All())),
    ],
)
def test_fan_in_forms(annotation: Any, elements: tuple[Any, ...], policy: Collect) -> None:
    def s(self: Any, evs: Any) -> StopEvent: ...

    s.__qualname__ = "Holder.s"
    s.__annotations__ = {"evs": annotation, "return": StopEvent}
    config = config_of(step(s))
    assert config.collection_param == ("evs", elements)
    assert config.collection_policy == policy
    assert config.accepted_events == list(elements)


def test_collect_marker_needs_a_list_of_events() -> None:
    with raises_message(
        "Parameter 'evs' carries a Collect marker but is not annotated as list[E] of an Event "
        "subclass. Collect markers apply only to collection fan-in (list[Event]) parameters."
    ):

        class W:
            @step
            async def s(self, evs: Annotated[A, Collect()]) -> None: ...


@pytest.mark.parametrize("cardinality", ["x", All, Cardinality()])
def test_collect_cardinality_must_be_all_or_take(cardinality: Any) -> None:
    with raises_message(
        "Collect cardinality on 'evs' must be All() or Take(n). "
        "Other cardinalities are not supported."
    ):

        class W:
            @step
            async def s(self, evs: Annotated[list[A], Collect(cardinality)]) -> None: ...


def test_only_one_collection_parameter() -> None:
    with raises_message(
        "A step may declare at most one list[E] collection parameter, but found both 'a' and "
        "'b'. Multi-slot collects are not supported."
    ):

        class W:
            @step
            async def s(self, c: C, a: list[A], b: list[B], d: list[C]) -> None: ...


def test_collection_cannot_mix_with_event_parameters() -> None:
    with raises_message(
        "A list[E] collection parameter cannot be combined with other event parameters. Use a "
        "single list[E] parameter, or multiple single-event parameters for a multi-slot join."
    ):

        class W:
            @step
            async def s(self, a: A, b: Optional[list[A]]) -> None: ...


def test_lists_of_non_events_and_other_sequences_are_ignored() -> None:
    class W:
        @step
        async def s(self, ev: A, x: list[int], y: list[Union[A, int]]) -> None: ...

    assert config_of(W.s).accepted_events == [A]
    assert config_of(W.s).collection_param is None


def test_several_event_parameters_make_a_join() -> None:
    class W:
        @step
        async def s(self, ctx: Context, a: A, b: Optional[B], c: A) -> StopEvent: ...

    config = config_of(W.s)
    assert config.accepted_events == [A, B, A]
    assert config.event_name == "a"
    assert config.collect_params == [("a", A), ("b", B), ("c", A)]


def test_join_parameters_must_have_one_type_each() -> None:
    with raises_message(
        "Collect-mode steps (more than one event parameter) require each event parameter to "
        "declare a single event type, but parameter 'b' declares 2. Union-typed collect "
        "parameters are not supported."
    ):

        class W:
            @step
            async def s(self, a: A, b: Optional[B | C]) -> None: ...


# -- free functions and registration ---------------------------------------------------------


def test_free_function_detection() -> None:
    def local() -> None: ...

    class Holder:
        def method(self) -> None: ...

    assert is_free_function(local)
    assert is_free_function(make_connection)
    assert not is_free_function(Holder.method)


def test_free_function_needs_a_workflow_class() -> None:
    with raises_message("To decorate s please pass a workflow class to the @step decorator."):

        @step
        def s(ev: A) -> None: ...

    with raises_message("To decorate t please pass a workflow class to the @step decorator."):

        @step()
        def t(ev: A) -> None: ...


def test_signature_errors_come_before_the_free_function_error() -> None:
    with pytest.raises(WorkflowValidationError, match=r"^Collect-mode steps"):

        @step
        def s(a: A | B, c: C) -> None: ...


def test_workflow_argument_registers_the_free_function() -> None:
    class W(FakeWorkflow):
        pass

    class Local(Event):
        pass

    @step(workflow=W)
    async def s(ev: Local) -> StopEvent: ...

    assert W._step_functions == {"s": s}
    assert config_of(s).accepted_events == [Local]
    assert FakeWorkflow._step_functions == {}


def test_workflow_argument_is_ignored_for_methods() -> None:
    class W(FakeWorkflow):
        pass

    class Holder:
        @step(workflow=W)
        def s(self, ev: A) -> None: ...

    assert W._step_functions == {}


def test_workflow_argument_must_be_a_workflow_class() -> None:
    with pytest.raises(WorkflowValidationError, match="expects a Workflow subclass"):

        @step(workflow=5)  # type: ignore[arg-type]
        def s(ev: A) -> None: ...


def test_add_step_messages() -> None:
    class W(FakeWorkflow):
        @step
        def taken(self, ev: A) -> None: ...

    def plain(ev: A) -> None: ...

    with raises_message("Step function plain is missing the `@step` decorator."):
        W.add_step(plain)

    @step(workflow=W)
    def extra(ev: A) -> None: ...

    with raises_message(
        "A step extra is already part of this workflow, please choose another name."
    ):
        W.add_step(extra)

    class Other:
        @step
        def taken(self, ev: B) -> None: ...

    with raises_message(
        "A step taken is already part of this workflow, please choose another name."
    ):
        W.add_step(Other.taken)


def test_add_step_rejects_non_functions() -> None:
    with pytest.raises(WorkflowValidationError, match="add_step expects a function"):
        add_step_to(FakeWorkflow, 5)  # type: ignore[arg-type]


def test_collect_step_functions_order_overrides_and_registrations() -> None:
    class Base(FakeWorkflow):
        @step
        def zeta(self, ev: StartEvent) -> A: ...

        @step
        def mid(self, ev: A) -> StopEvent: ...

        @step
        def gone(self, ev: B) -> None: ...

    class Holder:
        @step
        def zz_free(self, ev: A) -> None: ...

        @step
        def a_free(self, ev: A) -> None: ...

    Base.add_step(Holder.zz_free)
    Base.add_step(Holder.a_free)
    assert list(collect_step_functions(Base)) == ["gone", "mid", "zeta", "zz_free", "a_free"]

    class Child(Base):
        def gone(self, ev: B) -> None: ...  # undecorated override removes the step

        @step
        def mid(self, ev: A) -> StopEvent: ...

        @step
        def alpha(self, ev: B) -> None: ...

    steps = collect_step_functions(Child)
    # Registrations belong to the class they were made on, as in llama-index-workflows.
    assert list(steps) == ["alpha", "mid", "zeta"]
    assert steps["mid"] is Child.__dict__["mid"]
    Child.add_step(Holder.a_free)
    assert list(collect_step_functions(Child)) == ["alpha", "mid", "zeta", "a_free"]


# -- catch_error -----------------------------------------------------------------------------


def test_catch_error_config() -> None:
    class W:
        @catch_error(for_steps=["x", "x"], max_recoveries=3)
        async def handler(self, ctx: Context, ev: StepFailedEvent) -> list[A]: ...

    config = config_of(W.handler)
    assert config.role == "catch_error"
    assert config.catch_error_for_steps == ["x", "x"]
    assert config.catch_error_max_recoveries == 3
    assert config.num_workers == 1
    assert config.retry_policy is None
    assert config.context_parameter == "ctx"
    assert config.is_fan_out is True


def test_bare_catch_error_on_a_free_function_needs_no_workflow() -> None:
    @catch_error
    def handler(ev: Optional[StepFailedEvent]) -> StopEvent: ...

    config = config_of(handler)
    assert config.catch_error_for_steps is None
    assert config.catch_error_max_recoveries == 1
    assert config.accepted_events == [StepFailedEvent]


@pytest.mark.parametrize("bad", [0, -1, "2", 1.5])
def test_max_recoveries_is_checked_when_called(bad: Any) -> None:
    with raises_message("@catch_error max_recoveries must be an integer >= 1"):
        catch_error(max_recoveries=bad, for_steps=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["abc", ("a",), [1], 5])
def test_for_steps_must_be_a_list_of_names(bad: Any) -> None:
    with raises_message("@catch_error for_steps must be None or a list of step name strings"):
        catch_error(for_steps=bad)


def test_handler_must_take_exactly_step_failed_event() -> None:
    class Special(StepFailedEvent):
        pass

    message = "@catch_error handler 'h' must accept StepFailedEvent as its event parameter."
    with raises_message(message):

        @catch_error
        def h(ev: A) -> None: ...

    with raises_message(message):

        @catch_error
        def h(ev: Special) -> None: ...

    with raises_message(message):

        @catch_error
        def h(a: StepFailedEvent, b: StepFailedEvent) -> None: ...


def test_handler_signature_errors_come_first() -> None:
    with raises_message(
        "Return types of workflows step functions must be annotated with their type."
    ):

        @catch_error
        def h(ev: A): ...  # type: ignore[no-untyped-def]


# -- collect markers -------------------------------------------------------------------------


def test_collect_reprs_and_equality() -> None:
    assert repr(All()) == "All()"
    assert repr(Take(2)) == "Take(n=2)"
    assert repr(Collect()) == "Collect(cardinality=All())"
    assert repr(Collect(Take(1))) == "Collect(cardinality=Take(n=1))"
    assert Collect() == Collect(All())
    assert hash(Take(2)) == hash(Take(2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        Take(2).n = 3  # type: ignore[misc]


@given(st.one_of(st.integers(-5, 50), st.floats(allow_nan=False), st.text(max_size=2)))
def test_take_accepts_exactly_positive_integers(n: Any) -> None:
    if isinstance(n, int) and n >= 1:
        assert Take(n).n == n
    else:
        with pytest.raises(ValueError, match=r"^Take\(n\) requires an integer n >= 1$"):
            Take(n)
