"""``import``: the time a fresh process takes to ``import reflow`` (or ``import workflows``).

The engine must not be loaded before the clock starts, so this case does not use
``benchmarks._impl``. Reports the import time and how many modules the import loaded.
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Sequence

from benchmarks._common import (
    BenchmarkSetupError,
    emit,
    engine_package,
    engine_version,
    impl_name,
    size_parser,
)

CASE = "import"


def measure(package: str) -> dict[str, float]:
    """Import ``package`` for the first time in this process and time it."""
    if package in sys.modules:
        raise BenchmarkSetupError(f"import: {package!r} was already imported; the time is not cold")
    modules_before = len(sys.modules)
    started = time.perf_counter()
    importlib.import_module(package)
    seconds = time.perf_counter() - started
    return {"import_ms": seconds * 1000, "modules_loaded": len(sys.modules) - modules_before}


def main(argv: Sequence[str] | None = None) -> None:
    # --n is accepted for a uniform command line; one process can only import cold once.
    args = size_parser(__doc__ or CASE, default_n=1).parse_args(argv)
    impl = impl_name()
    emit(CASE, impl, args.n, measure(engine_package(impl)), version=engine_version(impl))


if __name__ == "__main__":
    main()
