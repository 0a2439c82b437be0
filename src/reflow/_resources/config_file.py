"""Finding, reading and slicing the JSON files behind ``ResourceConfig``."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

ONLY_JSON_MESSAGE = "Only JSON files can be used to load Pydantic-based resources."

# Matches functools' default; the peer keeps the same number of (file, selector) reads.
_READ_CACHE_SIZE = 128


def require_json_suffix(config_file: str) -> None:
    """Reject any file whose suffix is not exactly ``.json`` (case-sensitive)."""
    if Path(config_file).suffix != ".json":
        raise ValueError(ONLY_JSON_MESSAGE)


def locate_config_file(config_file: str) -> str:
    """The absolute path of ``config_file`` (relative to the current directory)."""
    path = Path(config_file)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {config_file}")
    return str(path.resolve())


@functools.lru_cache(maxsize=_READ_CACHE_SIZE)
def load_config_data(config_file: str, path_selector: str | None) -> Any:
    """The parsed JSON of ``config_file``, narrowed by ``path_selector`` when one is given.

    Cached per (file, selector): a file edited after its first read keeps its old content
    until the entry is evicted.
    """
    with open(config_file, encoding="utf-8") as handle:
        data = json.load(handle)
    if path_selector is None:
        return data
    return select_path(data, path_selector, config_file)


def select_path(data: Any, path_selector: str, config_file: str) -> dict[str, Any]:
    """Walk ``data`` along the dot-separated keys of ``path_selector``.

    Every step must land on a JSON object; a missing key counts as ``None``. The error names
    the keys walked so far, empty keys left out.
    """
    current: Any = data
    walked: list[str] = []
    for key in path_selector.split("."):
        if not isinstance(current, dict):
            # Only reachable for the root: later steps are checked right after each lookup.
            raise _not_a_dict(config_file, walked, current)
        current = current.get(key)
        walked.append(key)
        if not isinstance(current, dict):
            raise _not_a_dict(config_file, walked, current)
    selected: dict[str, Any] = current
    return selected


def _not_a_dict(config_file: str, walked: list[str], found: Any) -> ValueError:
    path = ".".join(key for key in walked if key)
    return ValueError(
        f"Expected dictionary for configuration from {config_file} at path {path}, "
        f"got: {type(found)}"
    )
