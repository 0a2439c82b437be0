"""``python -m reflow``: the same as the ``reflow`` command."""

from reflow.cli import main

main(prog_name="reflow")
