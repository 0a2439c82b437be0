"""llama-index-core's agents on reflow, through the public switch ``reflow.alias.install()``.

The alias is installed here, before any test module imports ``llama_index``: from then on the
``workflows`` package llama-index-core imports is reflow (llama-index-workflows is installed
alongside, as llama-index-core's dependency, and must never load).

Nothing here may reach the network: the LLMs are scripted (``_llm.py``), llama-index-core's
tokenizer reads the cache it ships, and a fixture refuses any socket connection that is not to
the loopback interface.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest

import reflow.alias

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
reflow.alias.install()

_LOOPBACK = ("127.0.0.1", "::1", "localhost")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail any test that opens an outside connection (the tests must run offline)."""
    original = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in _LOOPBACK:
            raise AssertionError(f"a llama_index test tried to reach the network: {address!r}")
        return original(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    yield
