"""The environment a command sees: process < workflow < step < secrets (last wins)."""

from __future__ import annotations

import os
from collections.abc import Mapping


def _checked(layer: str, values: Mapping[str, object] | None) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise TypeError(f"{layer} env must be a mapping of names to strings, got {values!r}")
    found: dict[str, str] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise ValueError(f"{layer} env: invalid variable name {key!r}")
        if value is None:
            value = ""
        elif not isinstance(value, str):
            if isinstance(value, (int, float, bool)):
                value = str(value)
            else:
                raise TypeError(f"{layer} env: value of {key} must be a string, got {value!r}")
        if "\0" in value:
            raise ValueError(f"{layer} env: value of {key} contains a NUL byte")
        found[key] = value
    return found


def merge_env(
    *,
    inherit: bool,
    workflow: Mapping[str, object] | None,
    step: Mapping[str, object] | None,
    secrets: Mapping[str, str] | None,
) -> dict[str, str]:
    env: dict[str, str] = dict(os.environ) if inherit else {}
    env.update(_checked("workflow", workflow))
    env.update(_checked("step", step))
    env.update(_checked("secrets", secrets))
    return env
