"""Secrets: resolved by name from providers, handed to commands, masked in everything written.

A :class:`Secrets` holds the providers and every value it ever resolved; its :class:`Masker`
replaces those values with ``***`` in log records, stream events, captured output and error
messages before reflow writes them anywhere (a journal row included).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Protocol, runtime_checkable

from reflow.runners._errors import MissingSecret

MASK = "***"
ENV_PREFIX = "REFLOW_SECRET_"


@runtime_checkable
class SecretProvider(Protocol):
    """Anything that maps a secret name to its value (None when it does not know it)."""

    def get_secret(self, name: str) -> str | None: ...


class EnvSecrets:
    """Secrets from the process environment: ``REFLOW_SECRET_<NAME>``, else ``<NAME>``.

    ``allow_plain=False`` accepts only the prefixed form.
    """

    def __init__(self, *, allow_plain: bool = True, environ: Mapping[str, str] | None = None):
        self._allow_plain = allow_plain
        self._environ = environ

    def get_secret(self, name: str) -> str | None:
        environ = os.environ if self._environ is None else self._environ
        value = environ.get(ENV_PREFIX + name)
        if value is None and self._allow_plain:
            value = environ.get(name)
        return value


class FileSecrets:
    """Secrets from a file: a JSON object of strings, or ``NAME=value`` lines (``#`` comments).

    The file is read on each lookup, so a rotated secret is picked up; an unreadable or
    malformed file raises ``ValueError`` naming the file and the line.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _load(self) -> dict[str, str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ValueError(f"secrets file {self.path}: cannot read it ({exc.strerror})") from None
        if text.lstrip().startswith("{"):
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ValueError(f"secrets file {self.path}: invalid JSON ({exc.msg})") from None
            bad = [key for key, value in data.items() if not isinstance(value, str)]
            if bad:
                raise ValueError(f"secrets file {self.path}: value of {bad[0]!r} is not a string")
            return dict(data)
        found: dict[str, str] = {}
        for number, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            name, sep, value = line.partition("=")
            if not sep or not name.strip():
                raise ValueError(f"secrets file {self.path}, line {number}: expected NAME=value")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            found[name.strip()] = value
        return found

    def get_secret(self, name: str) -> str | None:
        return self._load().get(name)


class Masker:
    """Replaces every registered value with ``***``; values are matched longest first."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, value: str) -> None:
        # Multi-line values are also masked line by line: output is masked one line at a time.
        parts = {value, *(line for line in value.splitlines() if line.strip())}
        new = {part for part in parts if part and part not in self._values}
        if new:
            self._values |= new
            ordered = sorted(self._values, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(item) for item in ordered))

    def __bool__(self) -> bool:
        return self._pattern is not None

    def mask(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None or not text:
            return text
        return pattern.sub(MASK, text)

    def mask_data(self, data: object) -> object:
        """``data`` with every string inside it (dict keys and values, lists) masked."""
        if self._pattern is None:
            return data
        if isinstance(data, str):
            return self.mask(data)
        if isinstance(data, Mapping):
            return {self.mask_data(k): self.mask_data(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return type(data)(self.mask_data(item) for item in data)
        return data


_everywhere = Masker()


def secret_masker() -> Masker:
    """The process-wide :class:`Masker`: every value any :class:`Secrets` resolved or holds.

    What reflow writes outside a command's own result (span attributes, log records of
    ``reflow.observability``) is masked with it, so a secret never leaves through a trace.
    """
    return _everywhere


def mask_secrets(text: str) -> str:
    """``text`` with every secret value this process has resolved replaced by ``***``."""
    return _everywhere.mask(text)


class Secrets:
    """Secret lookup through providers (first that knows the name wins), with masking.

    ``Secrets()`` reads the environment; ``Secrets(values={...})`` holds literal values;
    ``Secrets(file="secrets.env")`` reads a file; ``providers=[...]`` adds any
    :class:`SecretProvider` (a vault client, say). Values given literally are masked at once.
    """

    def __init__(
        self,
        values: Mapping[str, str] | None = None,
        *,
        file: str | os.PathLike[str] | None = None,
        providers: Iterable[SecretProvider] = (),
        env: bool = True,
    ) -> None:
        self._values = dict(values or {})
        chain: list[SecretProvider] = list(providers)
        if file is not None:
            chain.append(FileSecrets(file))
        if env:
            chain.append(EnvSecrets())
        self._providers = chain
        self.masker = Masker()
        for value in self._values.values():
            self._remember(value)

    def _remember(self, value: str) -> None:
        self.masker.add(value)
        _everywhere.add(value)

    def get(self, name: str) -> str | None:
        """The value of ``name`` (registered for masking), or None when no provider has it."""
        value = self._values.get(name)
        if value is None:
            for provider in self._providers:
                value = provider.get_secret(name)
                if value is not None:
                    break
        if value is not None:
            self._remember(value)
        return value

    def resolve(self, names: Iterable[str]) -> dict[str, str]:
        """``{name: value}`` for each name; a name no provider knows raises ``MissingSecret``."""
        found: dict[str, str] = {}
        for name in names:
            value = self.get(name)
            if value is None:
                raise MissingSecret(f"secret {name!r} is not set (no provider has it)")
            found[name] = value
        return found

    def mask(self, text: str) -> str:
        return self.masker.mask(text)
