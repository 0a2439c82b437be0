"""The list of benchmark cases the runner knows: which module, which sizes, which engines."""

from __future__ import annotations

from dataclasses import dataclass

REFLOW = "reflow"
PEER = "peer"
ASYNCIO = "asyncio"
BOTH_ENGINES = (REFLOW, PEER)


@dataclass(frozen=True)
class CaseSpec:
    """One benchmark case (with one variant) and the sizes to run it at.

    ``engines`` names what runs it: ``reflow`` and ``peer`` share the source; ``asyncio`` marks a
    floor program, which uses no engine and runs once on reflow's interpreter. ``floor_for`` names
    the case whose rows a floor program's figures belong beside. ``peer_capped`` cases skip the
    peer above the runner's ``--peer-fanout-max`` size, where the peer is known to be quadratic.
    """

    name: str
    module: str
    sizes: tuple[int, ...]
    quick_sizes: tuple[int, ...]
    tiny_size: int
    variant: str | None = None
    variant_flag: str = "--variant"
    engines: tuple[str, ...] = BOTH_ENGINES
    peer_capped: bool = False
    floor_for: str | None = None

    @property
    def label(self) -> str:
        """The name shown in the table, e.g. ``fanout[state]``."""
        return self.name if self.variant is None else f"{self.name}[{self.variant}]"

    def argv(self, size: int) -> list[str]:
        """The command-line arguments that run this case at ``size``."""
        args = ["-m", self.module, "--n", str(size)]
        if self.variant is not None:
            args += [self.variant_flag, self.variant]
        return args


FANOUT_SIZES = (1_000, 10_000, 100_000)
FANOUT_QUICK_SIZES = (200, 1_000)

ENGINE_CASES: tuple[CaseSpec, ...] = (
    CaseSpec("sequential", "benchmarks.cases.sequential", (2_000,), (200,), tiny_size=3),
    CaseSpec("chain", "benchmarks.cases.chain", (200,), (20,), tiny_size=2),
    *(
        CaseSpec(
            "fanout",
            "benchmarks.cases.fanout",
            FANOUT_SIZES,
            FANOUT_QUICK_SIZES,
            tiny_size=5,
            variant=variant,
            peer_capped=True,
        )
        for variant in ("collect", "state", "list")
    ),
    CaseSpec("concurrent", "benchmarks.cases.concurrent", (1_000,), (200,), tiny_size=3),
    CaseSpec("stream", "benchmarks.cases.stream", (50_000,), (5_000,), tiny_size=10),
    CaseSpec("hitl", "benchmarks.cases.hitl", (2_000,), (200,), tiny_size=3),
    CaseSpec("agent", "benchmarks.cases.agent", (200,), (20,), tiny_size=2),
    CaseSpec("import", "benchmarks.cases.import_time", (1,), (1,), tiny_size=1),
)

FLOOR_CASES: tuple[CaseSpec, ...] = (
    CaseSpec(
        "floor",
        "benchmarks.cases.floor",
        (200,),
        (20,),
        tiny_size=2,
        variant="chain",
        variant_flag="--shape",
        engines=(ASYNCIO,),
        floor_for="chain",
    ),
    CaseSpec(
        "floor",
        "benchmarks.cases.floor",
        FANOUT_SIZES,
        FANOUT_QUICK_SIZES,
        tiny_size=5,
        variant="fanout",
        variant_flag="--shape",
        engines=(ASYNCIO,),
        floor_for="fanout",
    ),
    # One SQLite commit per step: beside durable[chain] (200 runs) and durable[sequential]
    # (2,000 one-step runs).
    CaseSpec(
        "floor",
        "benchmarks.cases.floor",
        (200, 2_000),
        (20, 200),
        tiny_size=2,
        variant="commit",
        variant_flag="--shape",
        engines=(ASYNCIO,),
        floor_for="durable",
    ),
)

# The shapes above on ``reflow.durable.DurableRuntime`` (SQLite in a temporary directory, NORMAL
# durability), plus ``three``: three-step runs one after another and all at once. reflow only:
# the peer has no durable mode without DBOS, so its cells read "n/a".
DURABLE_CASES: tuple[CaseSpec, ...] = tuple(
    CaseSpec(
        "durable",
        "benchmarks.cases.durable",
        sizes,
        quick_sizes,
        tiny_size=tiny,
        variant=shape,
        variant_flag="--shape",
        engines=(REFLOW,),
    )
    for shape, sizes, quick_sizes, tiny in (
        ("three", (1_000,), (200,), 3),
        ("sequential", (2_000,), (200,), 3),
        ("chain", (200,), (20,), 2),
        ("fanout", (1_000, 10_000), (200, 1_000), 5),
        ("hitl", (2_000,), (200,), 3),
    )
)

# The chain with observability off, on without an SDK, and on with the OpenTelemetry SDK and
# in-memory exporters (reflow only), and with a llama-index-instrumentation span handler
# listening (both engines) (``benchmarks/cases/traced.py``).
TRACED_CASES: tuple[CaseSpec, ...] = tuple(
    CaseSpec(
        "traced",
        "benchmarks.cases.traced",
        (200,),
        (20,),
        tiny_size=2,
        variant=variant,
        engines=engines,
    )
    for variant, engines in (
        ("off", (REFLOW,)),
        ("noop", (REFLOW,)),
        ("sdk", (REFLOW,)),
        ("llama", BOTH_ENGINES),
    )
)

# ``reflow.runners``: per-command overhead against a bare subprocess, and streaming N MB of
# output through a step. reflow only (the peer has no step runners).
RUNNER_CASES: tuple[CaseSpec, ...] = tuple(
    CaseSpec(
        "runners",
        "benchmarks.cases.runners",
        sizes,
        quick_sizes,
        tiny_size=tiny,
        variant=shape,
        variant_flag="--shape",
        engines=(REFLOW,),
    )
    for shape, sizes, quick_sizes, tiny in (
        ("overhead", (50,), (10,), 2),
        ("stream", (100,), (10,), 1),
    )
)

# Declarative flows (reflow.flows): a producer loop in memory against the same steps written by
# hand, and the Redis queue hop between two loops (needs Redis at 127.0.0.1:6379). reflow only.
FLOWS_CASES: tuple[CaseSpec, ...] = (
    CaseSpec(
        "flows",
        "benchmarks.cases.flows",
        (5_000,),
        (500,),
        tiny_size=5,
        variant="loop",
        variant_flag="--shape",
        engines=(REFLOW,),
    ),
    CaseSpec(
        "flows",
        "benchmarks.cases.flows",
        (20_000,),
        (2_000,),
        tiny_size=5,
        variant="queue",
        variant_flag="--shape",
        engines=(REFLOW,),
    ),
)

# The command line itself: one fan-out through ``reflow run`` in a pseudo-terminal, piped and
# with ``--output json`` (reflow only: the peer has no command line).
CLI_CASES: tuple[CaseSpec, ...] = (
    CaseSpec("cli", "benchmarks.cases.cli", (2_000,), (500,), tiny_size=20, engines=(REFLOW,)),
)

ALL_CASES: tuple[CaseSpec, ...] = (
    *ENGINE_CASES,
    *FLOOR_CASES,
    *DURABLE_CASES,
    *TRACED_CASES,
    *RUNNER_CASES,
    *FLOWS_CASES,
    *CLI_CASES,
)


def select_cases(names: str | None) -> list[CaseSpec]:
    """The cases named in a comma-separated list (by name or label); all of them for None."""
    if names is None or not names.strip():
        return list(ALL_CASES)
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    known = {spec.name for spec in ALL_CASES} | {spec.label for spec in ALL_CASES}
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise ValueError(
            f"unknown benchmark case(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return [spec for spec in ALL_CASES if spec.name in wanted or spec.label in wanted]
