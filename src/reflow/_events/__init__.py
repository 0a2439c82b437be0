"""Internals of ``reflow.events``: how an event is built cheaply and reads like a mapping.

The public classes stay in ``reflow.events`` (the peer's module path); these modules hold what
they are made of.
"""
