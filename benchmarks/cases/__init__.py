"""One module per benchmark case; each runs as ``python -m benchmarks.cases.<name> --n N``."""
