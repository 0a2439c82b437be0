"""A step's exception as traceback text, built without reading source files.

The engine stays free of I/O, so the text names each frame's file, line and function (as a
Python traceback does) but not the source line, which ``traceback`` would read from disk.
"""

from __future__ import annotations

import traceback


def exception_trace(error: BaseException) -> str:
    """``Traceback (most recent call last): ...`` frames, then ``Type: message``; chained causes
    come first, as Python prints them."""
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    chain: list[tuple[BaseException, str | None]] = []
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if current.__cause__ is not None:
            link = "The above exception was the direct cause of the following exception:"
            chain.append((current, link))
            current = current.__cause__
        elif current.__context__ is not None and not current.__suppress_context__:
            link = "During handling of the above exception, another exception occurred:"
            chain.append((current, link))
            current = current.__context__
        else:
            chain.append((current, None))
            current = None
    chain.reverse()
    for index, (exc, link_text) in enumerate(chain):
        if index:
            parts.append(f"\n{link_text or ''}\n\n")
        frames = [
            f'  File "{frame.f_code.co_filename}", line {line}, in {frame.f_code.co_name}\n'
            for frame, line in traceback.walk_tb(exc.__traceback__)
        ]
        if frames:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(frames)
        message = str(exc)
        parts.append(f"{type(exc).__name__}: {message}" if message else type(exc).__name__)
    return "".join(parts)
