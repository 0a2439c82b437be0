"""The OpenTelemetry instruments reflow records to, made once per meter."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry import metrics

from reflow._version import __version__
from reflow.observability._attributes import INSTRUMENTATION_SCOPE

# Step durations range from microseconds (pure steps) to minutes (LLM calls, shell commands).
DURATION_BUCKETS = (0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0, 300.0)


@dataclass(frozen=True, slots=True)
class Instruments:
    runs_started: metrics.Counter
    runs_finished: metrics.Counter
    runs_waiting: metrics.UpDownCounter
    steps_active: metrics.UpDownCounter
    step_duration: metrics.Histogram
    queue_wait: metrics.Histogram
    journal_write: metrics.Histogram


def make_instruments(provider: metrics.MeterProvider | None) -> Instruments:
    meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__, meter_provider=provider)
    return Instruments(
        runs_started=meter.create_counter(
            "reflow.runs.started", unit="{run}", description="Runs started (or resumed)."
        ),
        runs_finished=meter.create_counter(
            "reflow.runs.finished",
            unit="{run}",
            description="Runs that ended, by reflow.run.outcome.",
        ),
        runs_waiting=meter.create_up_down_counter(
            "reflow.runs.waiting",
            unit="{run}",
            description="Runs with at least one step waiting in wait_for_event.",
        ),
        steps_active=meter.create_up_down_counter(
            "reflow.steps.active",
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
