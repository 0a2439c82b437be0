"""Benchmarks that run the same workflow source against reflow and the peer engine.

Each module in ``benchmarks.cases`` measures one shape inside its own process and prints one JSON
line; ``benchmarks.run`` runs them in alternation and prints the comparison table. See
``docs/performance.md``.
"""
