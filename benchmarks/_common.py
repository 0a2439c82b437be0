"""What every case shares: engine selection, the command line, measuring and the JSON line.

This module must not import any engine (nor pydantic): the ``import`` case times a cold import of
the engine and relies on nothing having loaded it before.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import sys
from collections.abc import Mapping, Sequence
from importlib import metadata
from typing import Literal

ImplName = Literal["reflow", "peer"]

IMPL_ENV_VAR = "BENCH_IMPL"

# The import package and the distribution name of each implementation.
ENGINE_PACKAGES: dict[ImplName, tuple[str, str]] = {
    "reflow": ("reflow", "reflow"),
    "peer": ("workflows", "llama-index-workflows"),
}


class BenchmarkSetupError(RuntimeError):
    """The benchmark was started with a setting it cannot work with."""


def impl_name(environ: Mapping[str, str] | None = None) -> ImplName:
    """The implementation chosen by ``BENCH_IMPL`` (``reflow`` when unset)."""
    env = os.environ if environ is None else environ
    value = env.get(IMPL_ENV_VAR, "reflow").strip() or "reflow"
    if value == "reflow":
        return "reflow"
    if value == "peer":
        return "peer"
    raise BenchmarkSetupError(
        f"{IMPL_ENV_VAR}={value!r} is not a known implementation; use 'reflow' or 'peer'"
    )


def engine_package(impl: ImplName) -> str:
    """The top-level package to import for ``impl`` (``reflow`` or ``workflows``)."""
    return ENGINE_PACKAGES[impl][0]


def engine_version(impl: ImplName) -> str | None:
    """The installed distribution version of ``impl``, or None when it is not installed."""
    try:
        return metadata.version(ENGINE_PACKAGES[impl][1])
    except metadata.PackageNotFoundError:
        return None


def size_parser(description: str, default_n: int) -> argparse.ArgumentParser:
    """An argument parser with the ``--n`` size option every case takes."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--n", type=positive_int, default=default_n, help=f"size (default {default_n})"
    )
    return parser


def positive_int(text: str) -> int:
    """Parse a command-line integer that must be at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of ``samples`` (``fraction`` in [0, 1])."""
    if not samples:
        raise ValueError("percentile of an empty sample list")
    if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"percentile fraction must be within [0, 1], got {fraction}")
    ordered = sorted(samples)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def peak_rss_bytes() -> int:
    """The process's peak resident set size so far."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kilobytes, macOS reports bytes.
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024


def current_rss_bytes() -> int:
    """The process's resident set size now (the peak where /proc is unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            resident_pages = int(statm.read().split()[1])
    except (OSError, ValueError, IndexError):
        return peak_rss_bytes()
    return resident_pages * os.sysconf("SC_PAGE_SIZE")


def result_line(
    case: str,
    impl: str,
    size: int,
    metrics: Mapping[str, float],
    *,
    variant: str | None = None,
    version: str | None = None,
) -> str:
    """The single JSON line a case prints: what ran, at which size, and what it measured."""
    for name, value in metrics.items():
        if not math.isfinite(value):
            raise ValueError(f"metric {name!r} of case {case!r} is not finite: {value}")
    record = {
        "case": case,
        "impl": impl,
        "variant": variant,
        "size": size,
        "metrics": {name: float(value) for name, value in metrics.items()},
        "version": version,
        "python": platform.python_version(),
    }
    # Keys stay in the order written here, metrics in the order the case chose.
    return json.dumps(record)


def emit(
    case: str,
    impl: str,
    size: int,
    metrics: Mapping[str, float],
    *,
    variant: str | None = None,
    version: str | None = None,
) -> None:
    """Print the case's JSON line to stdout."""
    line = result_line(case, impl, size, metrics, variant=variant, version=version)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
