"""Every example in ``docs/engine.md`` runs and prints what the page says it prints."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ENGINE_DOC = Path(__file__).resolve().parents[2] / "docs" / "engine.md"
# A python block immediately followed (blank lines allowed) by the text block it prints.
EXAMPLE = re.compile(r"^```python\n(.*?)^```\n\s*^```text\n(.*?)^```", re.MULTILINE | re.DOTALL)


def examples() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in EXAMPLE.finditer(ENGINE_DOC.read_text())]


def test_every_python_block_has_its_output() -> None:
    text = ENGINE_DOC.read_text()
    assert len(examples()) == text.count("```python\n") >= 10


def _workflow_name(source: str) -> str:
    found = re.search(r"^class (\w+)\(Workflow\)", source, re.MULTILINE)
    return found.group(1) if found else "example"


@pytest.mark.parametrize(
    ("source", "expected"), examples(), ids=[_workflow_name(src) for src, _ in examples()]
)
def test_the_example_prints_what_the_page_shows(source: str, expected: str, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(source)
    completed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout == expected
