"""The helpers behind :mod:`reflow.resource`: factory type hints and config files."""
