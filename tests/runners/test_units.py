"""Rules that hold for all inputs: line splitting, capture, output parsing; the Landlock binding."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reflow.runners._lines import Capture, pump_lines
from reflow.runners._outputs import MARKER, OutputParser
from reflow.runners._result import RESERVED_OUTPUT_KEYS

from ._support import require


def _split(chunks: list[bytes], max_line: int) -> list[bytes]:
    async def run() -> list[bytes]:
        reader = asyncio.StreamReader()
        for chunk in chunks:
            reader.feed_data(chunk)
        reader.feed_eof()
        lines: list[bytes] = []
        await pump_lines(reader, Capture(1 << 20), lines.append, max_line)
        return lines

    return asyncio.run(run())


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.text(alphabet="ab\n", max_size=40).map(str.encode), max_size=8),
    st.sampled_from([1, 2, 3, 7, 1000]),
)
def test_lines_rebuild_the_stream(chunks: list[bytes], max_line: int) -> None:
    data = b"".join(chunks)
    lines = _split(chunks, max_line)
    assert all(len(line) <= max_line for line in lines)
    assert all(b"\n" not in line for line in lines)
    if max_line == 1000:  # longer than any line: exactly the newline-separated lines
        expected = data.split(b"\n")
        if expected and expected[-1] == b"":
            expected.pop()
        assert lines == expected
    # Without the pieces' boundaries, the bytes are all there in order.
    assert b"".join(lines) == data.replace(b"\n", b"")


@settings(max_examples=50, deadline=None)
@given(st.lists(st.binary(max_size=50), max_size=20), st.integers(min_value=0, max_value=64))
def test_capture_keeps_exactly_the_tail(chunks: list[bytes], limit: int) -> None:
    capture = Capture(limit)
    for chunk in chunks:
        capture.add(chunk)
    data = b"".join(chunks)
    assert capture.value() == (data[-limit:] if limit else b"")
    assert capture.truncated == (len(data) > limit)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(["a", "b", "ok", "stdout", "exit_code", "status"]),
            st.integers(),
            max_size=4,
        ),
        max_size=4,
    )
)
def test_outputs_merge_in_order_and_never_hold_reserved_keys(objects: list[dict[str, int]]) -> None:
    parser = OutputParser()
    for obj in objects:
        parser.feed("noise " + MARKER + json.dumps(obj))
    outputs = parser.finish("")
    expected: dict[str, int] = {}
    for obj in objects:
        expected.update({k: v for k, v in obj.items() if k not in RESERVED_OUTPUT_KEYS})
    assert outputs == expected
    assert not set(outputs) & RESERVED_OUTPUT_KEYS


LANDLOCKED = """
import os, sys
sys.path.insert(0, sys.argv[1])
import _landlock
allowed, outside = sys.argv[2], sys.argv[3]
rules = [(allowed, _landlock.READ), ("/usr", _landlock.READ | _landlock.EXECUTE)]
version = _landlock.restrict(rules, deny_tcp=False, scope_signals=True, scope_abstract=False)
def attempt(action):
    try:
        action()
        return "ok"
    except OSError as exc:
        return exc.__class__.__name__
print(version, attempt(lambda: open(os.path.join(allowed, "f")).read()),
      attempt(lambda: open(os.path.join(allowed, "new"), "w")),
      attempt(lambda: open(os.path.join(outside, "f")).read()))
"""


def test_landlock_binding_confines_a_process(tmp_path: Path) -> None:
    from reflow.runners import _landlock

    require(None if _landlock.abi() >= 1 else "ABI 0", "Landlock")
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    for folder in (allowed, outside):
        folder.mkdir()
        (folder / "f").write_text("x")
    here = Path(_landlock.__file__).parent
    done = subprocess.run(
        [sys.executable, "-c", LANDLOCKED, str(here), str(allowed), str(outside)],
        capture_output=True,
        text=True,
        check=True,
    )
    version, read_ok, write_in, read_out = done.stdout.split()
    assert int(version) == _landlock.abi()
    assert (read_ok, write_in, read_out) == ("ok", "PermissionError", "PermissionError")
