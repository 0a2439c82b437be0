"""The benchmark runner's own logic: engine choice, result lines, ratios, rows, scheduling.

None of these need an engine: they feed the runner made-up outcomes or run the floor programs.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import run  # noqa: E402
from benchmarks._common import (  # noqa: E402
    BenchmarkSetupError,
    impl_name,
    percentile,
    result_line,
)
from benchmarks._execute import (  # noqa: E402
    SKIPPED_TOO_SLOW,
    BadResultLine,
    Outcome,
    parse_result_line,
    run_case,
)
from benchmarks._registry import (  # noqa: E402
    ALL_CASES,
    ASYNCIO,
    PEER,
    REFLOW,
    CaseSpec,
    select_cases,
)
from benchmarks._report import Figure, Row, render_plain, summarize  # noqa: E402

CHAIN = CaseSpec("chain", "benchmarks.cases.chain", (200,), (20,), tiny_size=2)
FANOUT = CaseSpec(
    "fanout", "benchmarks.cases.fanout", (10,), (10,), 2, variant="list", peer_capped=True
)
FLOOR_CHAIN = CaseSpec(
    "floor",
    "benchmarks.cases.floor",
    (200,),
    (20,),
    tiny_size=2,
    variant="chain",
    variant_flag="--shape",
    engines=(ASYNCIO,),
    floor_for="chain",
)
positive = st.floats(min_value=1e-6, max_value=1e6, allow_nan=False)


def test_impl_defaults_to_reflow_and_accepts_peer() -> None:
    assert impl_name({}) == "reflow"
    assert impl_name({"BENCH_IMPL": "peer"}) == "peer"


def test_unknown_impl_is_rejected_by_name() -> None:
    with pytest.raises(BenchmarkSetupError, match="'workflows'"):
        impl_name({"BENCH_IMPL": "workflows"})


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False), min_size=1), st.floats(0, 1))
def test_percentile_is_a_sample_within_range(samples: list[float], fraction: float) -> None:
    value = percentile(samples, fraction)
    assert value in samples
    assert percentile(samples, 0.0) <= value <= percentile(samples, 1.0) == max(samples)


def test_result_line_round_trips_through_the_parser() -> None:
    line = result_line("chain", "peer", 20, {"steps_per_s": 5.0, "run_p50_ms": 1.5}, variant="x")
    record = parse_result_line("noise from a library\n" + line + "\n")
    assert record["case"] == "chain"
    assert record["impl"] == "peer"
    assert record["size"] == 20
    assert record["variant"] == "x"
    assert list(record["metrics"]) == ["steps_per_s", "run_p50_ms"]


def test_result_line_refuses_a_non_finite_metric() -> None:
    with pytest.raises(ValueError, match="'seconds'"):
        result_line("fanout", "reflow", 1, {"seconds": math.inf})


@pytest.mark.parametrize(
    ("stdout", "complaint"),
    [
        ("", "printed nothing"),
        ("not json", "not JSON"),
        ("[1, 2]", "not an object"),
        (json.dumps({"case": "c", "impl": "i", "size": 1}), "'metrics'"),
        (json.dumps({"case": "c", "impl": "i", "size": 1, "metrics": {"x": "1"}}), "'x'"),
    ],
)
def test_bad_result_lines_are_rejected(stdout: str, complaint: str) -> None:
    with pytest.raises(BadResultLine, match=complaint):
        parse_result_line(stdout)


@given(positive, positive)
def test_ratio_above_one_means_reflow_is_better(ours: float, theirs: float) -> None:
    rate = Row("c", 1, "runs_per_s", Figure.of([ours]), Figure.of([theirs]))
    time = Row("c", 1, "seconds", Figure.of([ours]), Figure.of([theirs]))
    assert rate.ratio is not None
    assert time.ratio is not None
    assert (rate.ratio > 1) == (ours > theirs)
    assert (time.ratio > 1) == (ours < theirs)


def test_ratio_is_absent_when_one_side_has_no_figure() -> None:
    assert Row("c", 1, "seconds", Figure.of([1.0]), SKIPPED_TOO_SLOW).ratio is None


def test_summary_takes_medians_and_ranges_per_engine() -> None:
    outcomes = [
        Outcome(CHAIN, 20, REFLOW, metrics={"steps_per_s": v}) for v in (10.0, 30.0, 20.0)
    ] + [Outcome(CHAIN, 20, PEER, metrics={"steps_per_s": v}) for v in (1.0, 2.0)]
    [row] = summarize(outcomes)
    assert row.reflow == Figure(20.0, 10.0, 30.0, 3)
    assert row.peer == Figure(1.5, 1.0, 2.0, 2)
    assert row.ratio == pytest.approx(20.0 / 1.5)


def test_summary_puts_floor_figures_beside_their_case() -> None:
    outcomes = [
        Outcome(CHAIN, 20, REFLOW, metrics={"steps_per_s": 10.0}),
        Outcome(FLOOR_CHAIN, 20, ASYNCIO, metrics={"steps_per_s": 1000.0}),
        Outcome(FLOOR_CHAIN, 7, ASYNCIO, metrics={"steps_per_s": 900.0}),
    ]
    rows = summarize(outcomes)
    assert [(row.case, row.size) for row in rows] == [("chain", 20), ("floor[chain]", 7)]
    assert rows[0].floor == Figure.of([1000.0])
    assert rows[1].floor == Figure.of([900.0])
    assert rows[1].reflow is None


def test_the_commit_floor_stands_beside_the_durable_chain_and_sequential_rows() -> None:
    [floor_commit] = [s for s in select_cases("floor[commit]")]
    [durable_chain] = select_cases("durable[chain]")
    [durable_sequential] = select_cases("durable[sequential]")
    floor_metrics = {"steps_per_s": 900.0, "runs_per_s": 900.0, "run_p50_ms": 0.2, "p50_ms": 0.01}
    outcomes = [
        Outcome(durable_chain, 200, REFLOW, metrics={"steps_per_s": 300.0}),
        Outcome(durable_sequential, 2000, REFLOW, metrics={"runs_per_s": 450.0}),
        Outcome(floor_commit, 200, ASYNCIO, metrics=floor_metrics),
        Outcome(floor_commit, 2000, ASYNCIO, metrics=floor_metrics),
    ]
    rows = {(row.case, row.metric): row for row in summarize(outcomes)}
    assert rows[("durable[chain]", "steps_per_s")].floor == Figure.of([900.0])
    assert rows[("durable[sequential]", "runs_per_s")].floor == Figure.of([900.0])
    assert not any(case.startswith("floor") for case, _ in rows)


def test_summary_shows_a_problem_when_no_repetition_succeeded() -> None:
    outcomes = [
        Outcome(FANOUT, 10, REFLOW, metrics={"seconds": 1.0}),
        Outcome(FANOUT, 10, PEER, problem=SKIPPED_TOO_SLOW),
    ]
    [row] = summarize(outcomes)
    assert row.peer == SKIPPED_TOO_SLOW
    assert SKIPPED_TOO_SLOW in render_plain([row])


def test_engines_alternate_which_goes_first() -> None:
    assert run._rotated([REFLOW, PEER], 0) == [REFLOW, PEER]
    assert run._rotated([REFLOW, PEER], 1) == [PEER, REFLOW]
    assert run._rotated([ASYNCIO], 1) == [ASYNCIO]


def test_peer_is_skipped_above_the_fanout_cap_without_a_process() -> None:
    outcomes = run.run_all(
        [FANOUT],
        repeat=1,
        quick=False,
        interpreters={PEER: Path("/nonexistent/python")},
        timeout=5,
        peer_fanout_max=5,
        only=PEER,
    )
    assert [(o.engine, o.problem) for o in outcomes] == [(PEER, SKIPPED_TOO_SLOW)]


def test_case_selection_by_name_or_label() -> None:
    labels = [spec.label for spec in select_cases("fanout[state],floor")]
    assert labels == ["fanout[state]", "floor[chain]", "floor[fanout]", "floor[commit]"]
    assert len(select_cases(None)) == len(ALL_CASES)


def test_unknown_case_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="chian; known: "):
        select_cases("chain,chian")


def test_a_process_over_its_timeout_is_reported_not_raised() -> None:
    outcome = run_case(FLOOR_CHAIN, 2, ASYNCIO, Path(sys.executable), cwd=REPO_ROOT, timeout=1e-3)
    assert outcome.problem == "timeout after 0.001 s"


def test_a_failing_process_reports_its_last_error_line() -> None:
    missing = CaseSpec("missing", "benchmarks.cases.no_such_case", (1,), (1,), tiny_size=1)
    outcome = run_case(missing, 1, REFLOW, Path(sys.executable), cwd=REPO_ROOT, timeout=60)
    assert outcome.problem is not None
    assert outcome.problem.startswith("exit 1:")
    assert "no_such_case" in outcome.problem


def test_runner_end_to_end_on_the_floor_programs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bench.json"
    argv = ["--cases", "floor", "--quick", "--only", REFLOW, "--plain", "--json", str(out)]
    status = run.main([*argv, "--reflow-python", sys.executable])
    assert status == 0
    printed = capsys.readouterr().out
    assert "floor[fanout]" in printed
    data = json.loads(out.read_text())
    assert {row["case"] for row in data["rows"]} == {
        "floor[chain]",
        "floor[fanout]",
        "floor[commit]",
    }
    assert all(row["asyncio"]["median"] > 0 for row in data["rows"])
    assert all(sample["problem"] is None for sample in data["samples"])
