"""The OpenTelemetry instruments reflow records to, made once per meter."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from reflow._version import __version__
from reflow.observability._attributes import INSTRUMENTATION_SCOPE, WORKFLOW

# Step durations range from microseconds (pure steps) to minutes (LLM calls, shell commands).
DURATION_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0)


@dataclass(slots=True)
class Levels:
    """Per-workflow levels, read by observable instruments only when metrics are collected.

    A step changes a plain integer here instead of recording two measurements per attempt.
    """

    steps_active: dict[str, int] = field(default_factory=dict)
    runs_waiting: dict[str, int] = field(default_factory=dict)

    @staticmethod
    def change(level: dict[str, int], workflow: str, by: int) -> None:
        level[workflow] = level.get(workflow, 0) + by


def _observe(level: dict[str, int]) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(options: CallbackOptions) -> Iterable[Observation]:
        return [Observation(value, {WORKFLOW: name}) for name, value in list(level.items())]

    return observe


@dataclass(frozen=True, slots=True)
class Instruments:
    levels: Levels
    runs_started: metrics.Counter
    runs_finished: metrics.Counter
    runs_waiting: metrics.ObservableUpDownCounter
    steps_active: metrics.ObservableUpDownCounter
    step_duration: metrics.Histogram
    queue_wait: metrics.Histogram
    journal_write: metrics.Histogram


def make_instruments(provider: metrics.MeterProvider | None) -> Instruments:
    meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__, meter_provider=provider)
    levels = Levels()
    return Instruments(
        levels=levels,
        runs_started=meter.create_counter(
            "reflow.runs.started", unit="{run}", description="Runs started (or resumed)."
        ),
        runs_finished=meter.create_counter(
            "reflow.runs.finished",
            unit="{run}",
            description="Runs that ended, by reflow.run.outcome.",
        ),
        runs_waiting=meter.create_observable_up_down_counter(
            "reflow.runs.waiting",
            callbacks=[_observe(levels.runs_waiting)],
            unit="{run}",
            description="Runs with at least one step waiting in wait_for_event.",
        ),
        steps_active=meter.create_observable_up_down_counter(
            "reflow.steps.active",
            callbacks=[_observe(levels.steps_active)],
            unit="{attempt}",
            description="Step attempts holding a worker slot.",
        ),
        step_duration=meter.create_histogram(
            "reflow.step.duration",
            unit="s",
            description="Duration of step attempts, by reflow.step.outcome.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        ),
        queue_wait=meter.create_histogram(
            "reflow.step.queue_wait",
            unit="s",
            description="Time from an event entering a run to the step attempt that takes it.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        ),
        journal_write=meter.create_histogram(
            "reflow.journal.write.duration",
            unit="s",
            description="Duration of one durable journal write (a batch of ticks).",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
        ),
    )
