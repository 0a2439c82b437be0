"""``StepNotice``: a ``StepStateChanged`` notice as plain data, built as an event on demand.

Every step publishes two or three notices.  Kept as a tuple of strings (the step state by its
value, not the enum member, so the tuple holds no object the garbage collector tracks), a
notice costs one small allocation; ``notice_event`` makes the very event the reducer used to
build, when a reader asks for it.
"""

from __future__ import annotations

from reflow.events import StepState, StepStateChanged, construct_trusted

# (step name, StepState value, worker id, input event name, output event name or None)
StepNotice = tuple[str, str, str, str, "str | None"]

_STATES = {state.value: state for state in StepState}
# Every notice sets all five fields, so they can share one fields-set.
_NOTICE_FIELDS = {"name", "step_state", "worker_id", "input_event_name", "output_event_name"}


def notice_event(notice: StepNotice) -> StepStateChanged:
    name, state, worker_id, input_name, output_name = notice
    return construct_trusted(
        StepStateChanged,
        {
            "name": name,
            "step_state": _STATES[state],
            "worker_id": worker_id,
            "input_event_name": input_name,
            "output_event_name": output_name,
        },
        _NOTICE_FIELDS,
    )
