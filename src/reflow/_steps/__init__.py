"""How steps are defined, checked and run: the helpers behind ``@step`` and ``Workflow``.

``config`` (what a step is), ``signature`` (reading it from a function), ``collect`` (a
class's steps), ``validation`` and ``stream_levels`` (whole-workflow checks), ``resources``
(checking declared resources), ``specs`` (what the engine is told about each step),
``runner`` (the worker function the runtime calls) and ``notes`` (hints attached to the
errors they raise).
"""
