"""The run context, its state store and serializers."""

from reflow.context.context import Context
from reflow.context.serializers import BaseSerializer, JsonSerializer, PickleSerializer

__all__ = ["BaseSerializer", "Context", "JsonSerializer", "PickleSerializer"]
