"""The step board rebuilt from ``StepStateChanged`` events."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reflow.cli._steps import RowState, StepBoard
from reflow.events import StepState, StepStateChanged


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def changed(
    state: StepState, worker: str = "0", output: str | None = "<class 'm.Done'>", name: str = "s"
) -> StepStateChanged:
    return StepStateChanged(
        name=name,
        step_state=state,
        worker_id=worker,
        input_event_name="Go",
        output_event_name=output if state == StepState.NOT_RUNNING else None,
    )


def test_a_finished_attempt_records_its_duration_and_output() -> None:
    clock = FakeClock()
    board = StepBoard(clock)
    board.apply(changed(StepState.RUNNING))
    assert board.rows["s"].state == RowState.RUNNING
    clock.now += 1.5
    change = board.apply(changed(StepState.NOT_RUNNING))
    row = board.rows["s"]
    assert (row.state, row.finished, row.last_seconds, row.last_output) == (
        RowState.DONE,
        1,
        1.5,
        "Done",
    )
    assert change.seconds == 1.5
    assert change.output_name == "Done"


def test_returning_none_is_done_without_an_output() -> None:
    board = StepBoard(FakeClock())
    board.apply(changed(StepState.RUNNING))
    change = board.apply(changed(StepState.NOT_RUNNING, output="<class 'NoneType'>"))
    assert board.rows["s"].state == RowState.DONE
    assert change.output_name is None
    assert not change.stopped


def test_an_attempt_without_output_type_is_stopped_until_it_runs_again() -> None:
    board = StepBoard(FakeClock())
    board.apply(changed(StepState.RUNNING))
    change = board.apply(changed(StepState.NOT_RUNNING, output=None))
    assert change.stopped
    assert board.rows["s"].state == RowState.STOPPED
    board.apply(changed(StepState.RUNNING))
    board.apply(changed(StepState.NOT_RUNNING))
    assert board.rows["s"].state == RowState.DONE
    assert board.rows["s"].stopped == 1


def test_mark_failed_shows_failed_until_the_step_runs_again() -> None:
    board = StepBoard(FakeClock())
    board.apply(changed(StepState.RUNNING))
    board.apply(changed(StepState.NOT_RUNNING, output=None))
    board.mark_failed("s")
    assert board.rows["s"].state == RowState.FAILED
    board.apply(changed(StepState.RUNNING))
    assert board.rows["s"].state == RowState.RUNNING


def test_queued_events_show_until_a_worker_takes_them() -> None:
    board = StepBoard(FakeClock())
    board.apply(changed(StepState.RUNNING))
    board.apply(changed(StepState.PREPARING, worker="<enqueued>"))
    assert board.rows["s"].queued == 1
    board.apply(changed(StepState.NOT_RUNNING))
    assert board.rows["s"].state == RowState.QUEUED
    board.apply(changed(StepState.RUNNING))
    assert board.rows["s"].queued == 0


def test_rows_keep_first_seen_order() -> None:
    board = StepBoard(FakeClock())
    for name in ("b", "a", "b", "c"):
        board.apply(changed(StepState.RUNNING, name=name))
    assert [row.name for row in board.snapshot()] == ["b", "a", "c"]


@given(st.lists(st.tuples(st.sampled_from("0123"), st.floats(0, 10)), max_size=30))
def test_totals_add_up_over_any_sequence_of_attempts(attempts: list[tuple[str, float]]) -> None:
    clock = FakeClock()
    board = StepBoard(clock)
    for worker, seconds in attempts:
        board.apply(changed(StepState.RUNNING, worker=worker))
        clock.now += seconds
        board.apply(changed(StepState.NOT_RUNNING, worker=worker))
    if not attempts:
        assert board.rows == {}
        return
    row = board.rows["s"]
    assert row.finished == len(attempts)
    assert row.active == {}
    assert abs(row.total_seconds - sum(s for _, s in attempts)) < 1e-6
    assert row.elapsed(clock.now) == row.total_seconds


@given(st.lists(st.sampled_from("0123"), unique=True, min_size=1))
def test_parallel_workers_are_all_active(workers: list[str]) -> None:
    clock = FakeClock()
    board = StepBoard(clock)
    for worker in workers:
        board.apply(changed(StepState.RUNNING, worker=worker))
    clock.now += 2
    row = board.rows["s"]
    assert len(row.active) == len(workers)
    assert row.elapsed(clock.now) == 2 * len(workers)
    assert row.current(clock.now) == 2
