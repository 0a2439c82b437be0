"""The served flow's state: what a snapshot holds, and a socket that falls too far behind."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from reflow.server._flow_state import COMPLETED_KEPT, SUBSCRIBER_BACKLOG, FlowState

notices = st.lists(
    st.tuples(
        st.sampled_from(["node_started", "node_completed", "node_failed"]), st.sampled_from("abc")
    ),
    max_size=40,
)


@given(notices)
def test_a_node_is_executing_exactly_when_its_last_notice_was_a_start(
    seen: list[tuple[str, str]],
) -> None:
    state = FlowState("f", 3)
    last: dict[str, str] = {}
    for kind, node_id in seen:
        state.observe(kind, {"node_id": node_id, "node_type": "t"})
        last[node_id] = kind
    snapshot = state.snapshot()
    assert set(snapshot["executing_nodes"]) == {n for n, k in last.items() if k == "node_started"}
    completed = [k for k, _ in seen].count("node_completed")
    assert snapshot["completed_count"] == completed
    assert len(snapshot["completed_nodes"]) == min(completed, COMPLETED_KEPT)
    assert all(c["duration"] >= 0 for c in snapshot["completed_nodes"])


async def test_a_subscriber_too_far_behind_is_cut_off_and_told() -> None:
    state = FlowState("f", 1)
    slow, other = state.subscribe(), state.subscribe()
    for index in range(SUBSCRIBER_BACKLOG):
        state.publish({"type": "n", "i": index})
    other.get_nowait()  # this one keeps up
    state.publish({"type": "n", "i": SUBSCRIBER_BACKLOG})
    assert slow not in state.subscribers and other in state.subscribers
    drained = [slow.get_nowait() for _ in range(slow.qsize())]
    assert drained[-1] is None  # the pump sends an error and closes
    state.run_started()
    state.run_ended("failed", "boom")
    assert state.snapshot()["status"] == "failed" and state.snapshot()["error"] == "boom"
