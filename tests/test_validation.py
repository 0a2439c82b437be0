"""Workflow checks over ``StepConfig`` maps: inference, connectivity, catch_error, graph, streams.

Expected messages were measured on llama-index-workflows 2.26.1.  Where the peer lists several
names in set order, reflow sorts them; those tests use names whose order is unambiguous.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from reflow._steps.stream_levels import collect_bindings, compute_levels
from reflow._steps.validation import (
    infer_start_stop,
    infer_state_type,
    validate_skip_graph_checks,
    validate_workflow,
)
from reflow.context import Context
from reflow.decorators import StepConfig, catch_error, step
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)


class A(Event):
    pass


class B(Event):
    pass


class C(Event):
    pass


class D(Event):
    pass


class OtherStart(StartEvent):
    pass


class OtherStop(StopEvent):
    pass


class Base(Event):
    pass


class Sub(Base):
    pass


def configs(*functions: Any) -> dict[str, StepConfig]:
    return {f.__name__: f._step_config for f in functions}


def check(*functions: Any, skip: set[str] | None = None) -> bool:
    return validate_workflow(
        configs(*functions), skip_graph_checks=skip or set(), workflow_name="W"
    )


def fails(message: str, error: type[Exception] = WorkflowValidationError) -> Any:
    return pytest.raises(error, match="^" + re.escape(message) + "$")


def graph_failure(*sections: tuple[str, str, str]) -> str:
    lines = [f"  - [{name}] {what}\n    {hint}" for name, what, hint in sections]
    return "Graph validation failed:\n" + "\n".join(lines)


UNREACHABLE = "Steps must be reachable from StartEvent or HumanResponseEvent."
DEAD_END = "Steps must have a path to StopEvent or InputRequiredEvent."
TERMINAL = "Only StopEvent and InputRequiredEvent may be terminal."


class S:
    """A pool of steps; each test picks the ones that make up its workflow."""

    @step
    def start_to_stop(self, ev: StartEvent) -> StopEvent: ...
    @step
    def start_to_a(self, ev: StartEvent) -> A: ...
    @step
    def start_to_ab(self, ev: StartEvent) -> A | B: ...
    @step
    def start_to_a_or_stop(self, ev: StartEvent) -> A | StopEvent: ...
    @step
    def start_to_other_stop(self, ev: StartEvent) -> OtherStop: ...
    @step
    def other_start_to_stop(self, ev: OtherStart) -> StopEvent: ...
    @step
    def start_none(self, ev: StartEvent) -> None: ...
    @step
    def a_to_stop(self, ev: A) -> StopEvent: ...
    @step
    def b_to_stop(self, ev: B) -> StopEvent: ...
    @step
    def c_to_stop(self, ev: C) -> StopEvent: ...
    @step
    def a_to_b(self, ev: A) -> B: ...
    @step
    def b_to_a(self, ev: B) -> A: ...
    @step
    def c_to_d(self, ev: C) -> D: ...
    @step
    def d_to_c(self, ev: D) -> C: ...
    @step
    def a_none(self, ev: A) -> None: ...
    @step
    def stop_consumer(self, ev: StopEvent) -> None: ...
    @step
    def other_stop_consumer(self, ev: OtherStop) -> None: ...
    @step
    def start_to_hre(self, ev: StartEvent) -> HumanResponseEvent: ...
    @step
    def hre_to_stop(self, ev: HumanResponseEvent) -> StopEvent: ...
    @step
    def start_to_ire(self, ev: StartEvent) -> InputRequiredEvent: ...
    @step
    def ire_consumer(self, ev: InputRequiredEvent) -> StopEvent: ...
    @step
    def sfe_consumer(self, ev: StepFailedEvent) -> StopEvent: ...
    @step
    def start_to_sfe(self, ev: StartEvent) -> StepFailedEvent: ...
    @step
    def start_to_nonevents(self, ev: StartEvent) -> tuple[A, ...] | dict[str, int] | int: ...
    @step
    def start_to_sub(self, ev: StartEvent) -> Sub: ...
    @step
    def start_to_base(self, ev: StartEvent) -> Base: ...
    @step(accept_event_subclasses=True)
    def base_subs(self, ev: Base) -> StopEvent: ...
    @step
    def base_exact(self, ev: Base) -> StopEvent: ...
    @step(accept_event_subclasses=True)
    def sub_subs(self, ev: Sub) -> StopEvent: ...
    @step(accept_event_subclasses=True)
    def anything(self, ev: Event) -> None: ...
    @step(skip_graph_checks=["dead_end"])
    def a_to_b_no_dead_end(self, ev: A) -> B: ...
    @step(skip_graph_checks=["reachability", "dead_end"])
    def c_to_d_skipped(self, ev: C) -> D: ...
    @catch_error
    def wild1(self, ev: StepFailedEvent) -> StopEvent: ...
    @catch_error
    def wild2(self, ev: StepFailedEvent) -> StopEvent: ...
    @catch_error
    def wild_to_a(self, ev: StepFailedEvent) -> A: ...
    @catch_error(for_steps=["nope", "nope2"])
    def unknown(self, ev: StepFailedEvent) -> StopEvent: ...
    @catch_error(for_steps=["wild1"])
    def covers_handler(self, ev: StepFailedEvent) -> StopEvent: ...
    @catch_error(for_steps=["start_to_stop"])
    def claim1(self, ev: StepFailedEvent) -> StopEvent: ...
    @catch_error(for_steps=["start_to_stop"])
    def claim2(self, ev: StepFailedEvent) -> StopEvent: ...
    # fan-out / fan-in / joins
    @step
    def start_to_la(self, ev: StartEvent) -> list[A]: ...
    @step
    def start_to_lb(self, ev: StartEvent) -> list[B]: ...
    @step
    def start_to_lc(self, ev: StartEvent) -> list[C]: ...
    @step
    def start_to_a_lb(self, ev: StartEvent) -> A | list[B]: ...
    @step
    def start_to_lsub(self, ev: StartEvent) -> list[Sub]: ...
    @step
    def a_to_lb(self, ev: A) -> list[B]: ...
    @step
    def c_to_a(self, ev: C) -> A: ...
    @step
    def la_to_stop(self, ev: list[A]) -> StopEvent: ...
    @step
    def lb_to_stop(self, ev: list[B]) -> StopEvent: ...
    @step
    def lab_to_stop(self, ev: list[A | B]) -> StopEvent: ...
    @step
    def lb_to_c(self, ev: list[B]) -> C: ...
    @step
    def lc_to_stop(self, ev: list[C]) -> StopEvent: ...
    @step(accept_event_subclasses=True)
    def lbase_subs(self, ev: list[Base]) -> StopEvent: ...
    @step
    def join_ab(self, a: A, b: B) -> StopEvent: ...
    @step
    def join_ab2(self, a: A, b: B) -> StopEvent: ...
    @step
    def join_ac(self, a: A, c: C) -> StopEvent: ...
    @step
    def join_ha(self, h: HumanResponseEvent, a: A) -> StopEvent: ...


s = S


# -- start / stop inference ------------------------------------------------------------------


def test_infers_the_start_and_stop_classes() -> None:
    assert infer_start_stop(configs(s.start_to_a, s.a_to_stop)) == (StartEvent, StopEvent)
    assert infer_start_stop(configs(s.start_to_other_stop)) == (StartEvent, OtherStop)


def test_no_start_event() -> None:
    with fails(
        "At least one Event of type StartEvent must be received by any step. "
        "(Workflow 'W' has no @step that accepts StartEvent.)",
        WorkflowConfigurationError,
    ):
        infer_start_stop(configs(s.a_to_stop), workflow_name="W")


def test_no_stop_event_is_reported_after_the_start_event() -> None:
    with fails(
        "At least one Event of type StopEvent must be returned by any step. "
        "(Workflow 'Flow' has no @step that returns StopEvent.)",
        WorkflowConfigurationError,
    ):
        infer_start_stop(configs(s.start_to_a, s.a_none), workflow_name="Flow")
    with pytest.raises(WorkflowConfigurationError, match="StartEvent must be received"):
        infer_start_stop(configs(s.a_none), workflow_name="Flow")


def test_two_start_or_stop_classes() -> None:
    with fails(
        "Only one type of StartEvent is allowed per workflow, found 2: "
        f"{{{StartEvent!r}, {OtherStart!r}}} in workflow 'W'.",
        WorkflowConfigurationError,
    ):
        infer_start_stop(configs(s.start_to_stop, s.other_start_to_stop), workflow_name="W")
    with fails(
        "Only one type of StopEvent is allowed per workflow, found 2: "
        f"{{{StopEvent!r}, {OtherStop!r}}} in workflow 'W'.",
        WorkflowConfigurationError,
    ):
        infer_start_stop(configs(s.start_to_stop, s.start_to_other_stop), workflow_name="W")


def test_no_steps_at_all() -> None:
    with fails(
        "Workflow 'W' has no configured steps. Did you forget to annotate methods with @step or "
        "to register free-function steps via @step(workflow=...)?",
        WorkflowConfigurationError,
    ):
        check()


# -- typed state -----------------------------------------------------------------------------


class State1(BaseModel):
    a: int = 0


class State2(State1):
    b: int = 0


class Unrelated(BaseModel):
    c: int = 0


def _typed(state: Any) -> StepConfig:
    config = configs(s.a_none)["a_none"]
    return StepConfig(**{**config.__dict__, "context_state_type": state})


def test_state_type_is_the_most_derived() -> None:
    assert infer_state_type({}) is None
    assert infer_state_type({"x": _typed(None), "y": _typed(dict)}) is None
    assert infer_state_type({"x": _typed(State1), "y": _typed(State2)}) is State2
    assert infer_state_type({"x": _typed(State2), "y": _typed(State1)}) is State2


def test_state_types_must_form_one_chain() -> None:
    with pytest.raises(
        ValueError,
        match="^"
        + re.escape(
            "Multiple state types are not in a compatible inheritance hierarchy. All state types "
            "must share a common inheritance chain. Found: State1, Unrelated"
        )
        + "$",
    ):
        infer_state_type({"x": _typed(State1), "y": _typed(Unrelated)})


def test_state_type_comes_from_the_context_annotation() -> None:
    class W:
        @step
        def first(self, ctx: Context[State1], ev: StartEvent) -> A: ...

        @step
        def second(self, ctx: Context[State2], ev: A) -> StopEvent: ...

    assert infer_state_type(configs(W.first, W.second)) is State2


# -- skip names ------------------------------------------------------------------------------


def test_skip_graph_check_names() -> None:
    validate_skip_graph_checks({"dead_end", "reachability", "terminal_event"})
    validate_skip_graph_checks(None)
    with fails(
        "Unknown graph check names: bogus, zzz. "
        "Valid names are: dead_end, reachability, terminal_event"
    ):
        validate_skip_graph_checks({"zzz", "dead_end", "bogus"})


# -- connectivity ----------------------------------------------------------------------------


def test_a_valid_workflow_passes_and_reports_no_hitl() -> None:
    assert check(s.start_to_stop) is False
    assert check(s.start_to_a_or_stop, s.a_none) is False


def test_steps_may_not_accept_stop_events() -> None:
    with fails(
        "Step 'other_stop_consumer' cannot accept StopEvent. StopEvent signals the end of the "
        "workflow. Use a different Event type instead."
    ):
        check(s.start_to_other_stop, s.other_stop_consumer)


def test_consumed_but_never_produced() -> None:
    with fails("The following events are consumed but never produced: B"):
        check(s.start_to_stop, s.b_to_stop)
    with fails("The following events are consumed but never produced: B, C"):
        check(s.start_to_stop, s.c_to_stop, s.b_to_stop)


def test_produced_but_never_consumed_comes_second() -> None:
    with fails("The following events are produced but never consumed: B"):
        check(s.start_to_ab, s.a_to_stop)
    with fails("The following events are consumed but never produced: C"):
        check(s.start_to_ab, s.a_to_stop, s.c_to_stop)


def test_non_event_return_types_count_as_produced() -> None:
    with fails("The following events are produced but never consumed: dict, int, tuple"):
        check(s.start_to_stop, s.start_to_nonevents)


def test_human_and_failure_events_are_exempt() -> None:
    assert check(s.start_to_stop, s.hre_to_stop) is True
    assert check(s.start_to_stop, s.start_to_ire) is True
    with fails("The following events are produced but never consumed: StepFailedEvent"):
        check(s.start_to_stop, s.start_to_sfe)
    assert check(s.start_to_stop, s.start_to_sfe, s.wild1) is False


def test_subclass_matching_is_per_step() -> None:
    assert check(s.start_to_stop, s.start_to_sub, s.base_subs) is False
    with fails("The following events are consumed but never produced: Base"):
        check(s.start_to_stop, s.start_to_sub, s.base_exact)
    with fails("The following events are consumed but never produced: Base"):
        check(s.start_to_stop, s.start_to_sub, s.base_subs, s.base_exact)
    with fails("The following events are consumed but never produced: Sub"):
        check(s.start_to_stop, s.start_to_base, s.sub_subs)
    assert check(s.start_to_stop, s.anything) is False


# -- catch_error rules -----------------------------------------------------------------------


def test_one_wildcard_handler() -> None:
    with fails(
        "Only one wildcard @catch_error handler is allowed per workflow, found 2: wild1, wild2"
    ):
        check(s.start_to_stop, s.wild2, s.wild1)


def test_catch_error_problems_are_gathered_in_step_order() -> None:
    with fails(
        "Only one wildcard @catch_error handler is allowed per workflow, found 2: wild1, wild2\n"
        "@catch_error handler 'unknown' lists unknown step 'nope' in for_steps.\n"
        "@catch_error handler 'unknown' lists unknown step 'nope2' in for_steps.\n"
        "Step 'start_to_stop' is claimed by two @catch_error handlers: 'claim1' and 'claim2'.\n"
        "@catch_error handler 'covers_handler' cannot cover another handler step 'wild1'."
    ):
        check(s.start_to_stop, s.unknown, s.claim1, s.claim2, s.wild1, s.wild2, s.covers_handler)


def test_connectivity_is_checked_before_catch_error() -> None:
    with fails("The following events are consumed but never produced: B"):
        check(s.start_to_stop, s.b_to_stop, s.wild1, s.wild2)


def test_bad_max_recoveries_is_reported_first() -> None:
    handlers = configs(s.start_to_stop, s.wild1, s.wild2)
    handlers["wild2"] = StepConfig(
        **{**handlers["wild2"].__dict__, "catch_error_max_recoveries": 0}
    )
    with fails("@catch_error handler 'wild2' has max_recoveries=0; must be an integer >= 1."):
        validate_workflow(handlers)


# -- graph checks ----------------------------------------------------------------------------


def test_dead_ends() -> None:
    with fails(graph_failure(("dead_end", "Dead-end steps: a_to_b, b_to_a", DEAD_END))):
        check(s.start_to_a_or_stop, s.a_to_b, s.b_to_a)
    with fails(graph_failure(("dead_end", "Dead-end steps: start_to_a", DEAD_END))):
        check(s.start_to_stop, s.start_to_a, s.a_none)


def test_unreachable_steps_and_the_order_of_sections() -> None:
    expected = graph_failure(
        ("reachability", "Unreachable steps: c_to_d, d_to_c", UNREACHABLE),
        ("dead_end", "Dead-end steps: a_to_b, b_to_a, c_to_d, d_to_c", DEAD_END),
    )
    with fails(expected):
        check(s.start_to_a_or_stop, s.a_to_b, s.b_to_a, s.d_to_c, s.c_to_d)


def test_terminal_events() -> None:
    with fails(
        graph_failure(
            ("terminal_event", "Events produced but never consumed: HumanResponseEvent", TERMINAL),
            ("dead_end", "Dead-end steps: start_to_hre", DEAD_END),
        )
    ):
        check(s.start_to_stop, s.start_to_hre)


def test_roots_are_start_human_responses_and_handlers() -> None:
    assert check(s.start_to_stop, s.hre_to_stop) is True
    assert check(s.start_to_stop, s.wild_to_a, s.a_to_stop) is False
    with fails(graph_failure(("reachability", "Unreachable steps: sfe_consumer", UNREACHABLE))):
        check(s.start_to_stop, s.sfe_consumer)
    with fails(graph_failure(("reachability", "Unreachable steps: ire_consumer", UNREACHABLE))):
        check(s.start_to_stop, s.ire_consumer)
    with fails(graph_failure(("dead_end", "Dead-end steps: wild_to_a", DEAD_END))):
        check(s.start_to_stop, s.wild_to_a, s.a_none)


def test_step_level_opt_outs() -> None:
    with fails(graph_failure(("dead_end", "Dead-end steps: b_to_a", DEAD_END))):
        check(s.start_to_a_or_stop, s.a_to_b_no_dead_end, s.b_to_a)
    with fails(
        graph_failure(
            ("reachability", "Unreachable steps: d_to_c", UNREACHABLE),
            ("dead_end", "Dead-end steps: d_to_c", DEAD_END),
        )
    ):
        check(s.start_to_stop, s.c_to_d_skipped, s.d_to_c)


def test_workflow_level_opt_outs() -> None:
    steps = (s.start_to_a_or_stop, s.a_to_b, s.b_to_a, s.c_to_d, s.d_to_c)
    with fails(graph_failure(("reachability", "Unreachable steps: c_to_d, d_to_c", UNREACHABLE))):
        check(*steps, skip={"dead_end"})
    assert check(*steps, skip={"dead_end", "reachability"}) is False
    assert check(s.start_to_stop, s.start_to_hre, skip={"terminal_event", "dead_end"}) is False


# -- fan-in, fan-out and joins ---------------------------------------------------------------

NO_STREAM = (
    "but no returned-list producer creates a stream for those event types. list[E] fan-in only "
    "consumes events from steps annotated as returning list[E]; use ctx.collect_events for "
    "unstreamed ctx.send_event flows."
)
JOIN_HINT = (
    "A multi-slot join only fires when all of its inputs originate at the same level. To gate "
    "in-stream work on input from another level, use ctx.wait_for_event inside the producing "
    "step instead."
)


def test_fan_out_and_fan_in_validate() -> None:
    assert check(s.start_to_la, s.la_to_stop) is False
    assert check(s.start_to_la, s.a_to_stop) is False
    assert check(s.start_to_la, s.a_to_lb, s.lb_to_c, s.lc_to_stop) is False
    assert check(s.start_to_lsub, s.lbase_subs) is False


def test_fan_in_needs_a_list_producer() -> None:
    with fails(f"Step 'la_to_stop' parameter 'ev' collects list[A], {NO_STREAM}"):
        check(s.start_to_a, s.la_to_stop)
    with fails(f"Step 'lab_to_stop' parameter 'ev' collects list[B], {NO_STREAM}"):
        check(s.start_to_la, s.start_to_ab, s.lab_to_stop)


def test_stream_checks_come_before_connectivity() -> None:
    with fails(f"Step 'la_to_stop' parameter 'ev' collects list[A], {NO_STREAM}"):
        check(s.start_to_a, s.la_to_stop, s.stop_consumer, s.c_to_stop)


def test_join_slots_need_a_common_level() -> None:
    assert check(s.start_to_ab, s.join_ab) is False
    assert check(s.start_to_a_lb, s.join_ab) is False  # bare outputs share the stream level
    with fails(
        "Step 'join_ab' joins event parameters that are never produced at a common stream "
        "level: 'a' (A) is produced at the stream of step 'start_to_la', the top level; 'b' (B) "
        f"is produced at the stream of step 'a_to_lb'. {JOIN_HINT}"
    ):
        check(s.start_to_la, s.start_to_a, s.a_to_lb, s.join_ab)


def test_join_errors_are_gathered_after_fan_in_errors() -> None:
    one = (
        "joins event parameters that are never produced at a common stream level: 'a' (A) is "
        f"produced at the top level; 'b' (B) is produced at the stream of step 'start_to_lb'. "
        f"{JOIN_HINT}"
    )
    with fails(f"Step 'join_ab' {one}\nStep 'join_ab2' {one}"):
        check(s.start_to_a, s.start_to_lb, s.join_ab, s.join_ab2)
    with fails(f"Step 'la_to_stop' parameter 'ev' collects list[A], {NO_STREAM}"):
        check(s.start_to_a, s.start_to_lb, s.join_ab, s.la_to_stop)


def test_handler_outputs_have_no_level() -> None:
    class W:
        @catch_error
        def to_c(self, ev: StepFailedEvent) -> C: ...

        @step
        def join_ca(self, c: C, a: A) -> StopEvent: ...

    with fails(
        "Step 'join_ca' joins event parameters that are never produced at a common stream "
        f"level: 'c' (C) is produced at no level; 'a' (A) is produced at the top level. {JOIN_HINT}"
    ):
        check(s.start_to_a, W.to_c, W.join_ca)
    assert check(s.start_to_a, s.start_to_ire, s.join_ha) is True


def test_levels_and_bindings() -> None:
    steps = configs(s.start_to_la, s.a_to_lb, s.lb_to_c, s.lc_to_stop, s.c_to_a)
    levels = compute_levels(steps, StartEvent)
    assert levels.event_levels[A] == {"start_to_la"}
    assert levels.event_levels[B] == {"a_to_lb"}
    assert levels.event_levels[C] == {"start_to_la"}
    assert levels.parents == {"start_to_la": {None}, "a_to_lb": {"start_to_la"}}
    assert collect_bindings(steps, levels) == {
        "lb_to_c": ["a_to_lb"],
        "lc_to_stop": ["start_to_la"],
    }


# -- properties ------------------------------------------------------------------------------

_EVENTS = [A, B, C, D]


def _random_step(index: int, accepted: type[Event], produced: list[Any]) -> StepConfig:
    returns = produced or [type(None)]
    return StepConfig(
        accepted_events=[accepted],
        event_name="ev",
        return_types=returns,
        context_parameter=None,
        num_workers=1,
        retry_policy=None,
        resources=[],
        bare_return_types=tuple(r for r in returns if r is not type(None)),
        name=f"s{index}",
    )


_STEP = st.tuples(
    st.sampled_from(_EVENTS),
    st.lists(st.sampled_from([*_EVENTS, StopEvent]), max_size=3, unique=True),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_STEP, min_size=1, max_size=6), st.randoms(use_true_random=False))
def test_outcome_does_not_depend_on_step_order(
    specs: list[tuple[type[Event], list[Any]]], rnd: Any
) -> None:
    steps = {"start": _random_step(0, StartEvent, [A, StopEvent])}
    for index, (accepted, produced) in enumerate(specs, start=1):
        steps[f"s{index}"] = _random_step(index, accepted, produced)
    shuffled_names = list(steps)
    rnd.shuffle(shuffled_names)
    shuffled = {name: steps[name] for name in shuffled_names}

    def outcome(candidate: dict[str, StepConfig]) -> Any:
        try:
            return validate_workflow(candidate)
        except (WorkflowValidationError, WorkflowConfigurationError) as exc:
            return type(exc), str(exc)

    assert outcome(steps) == outcome(shuffled)


@given(st.integers(min_value=1, max_value=8))
def test_a_chain_of_any_length_is_valid_until_a_link_is_missing(length: int) -> None:
    events = [type(f"E{i}", (Event,), {}) for i in range(length)]
    steps = {"start": _random_step(0, StartEvent, [events[0], StopEvent])}
    for i, event in enumerate(events):
        produced = [events[i + 1]] if i + 1 < length else [StopEvent]
        steps[f"s{i}"] = _random_step(i, event, produced)
    assert validate_workflow(steps) is False
    del steps[f"s{length - 1}"]
    with fails(f"The following events are produced but never consumed: E{length - 1}"):
        validate_workflow(steps)
