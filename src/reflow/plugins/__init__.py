"""Runtime selection: the default in-memory runtime and the one currently registering."""

from reflow.runtime.basic import BasicRuntime, basic_runtime
from reflow.runtime.types.plugin import Runtime, current_runtime


def get_current_runtime() -> Runtime:
    """The runtime set by ``Runtime.registering()``, else the default ``basic_runtime``."""
    return current_runtime() or basic_runtime


__all__ = ["BasicRuntime", "basic_runtime", "get_current_runtime"]
