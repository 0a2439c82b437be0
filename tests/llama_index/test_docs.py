"""docs/llama-index.md: its runnable example runs, offline, and prints what the text says."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "llama-index.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def runnable_example() -> str:
    blocks = [block for block in FENCE.findall(DOC.read_text()) if "asyncio.run(main())" in block]
    assert len(blocks) == 1, "the guide has exactly one complete example"
    return blocks[0]


def test_the_guide_example_runs(tmp_path: Path) -> None:
    script = tmp_path / "agent_example.py"
    script.write_text(runnable_example())
    env = {k: v for k, v in os.environ.items() if k != "REFLOW_ALIAS_WORKFLOWS"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, env=env
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert "add{'a': 2, 'b': 3} -> 5" in lines
    assert "multiply{'a': 5, 'b': 4} -> 20" in lines
    assert lines[-1] == "(2 + 3) * 4 = 20"
    assert "(2 + 3) * 4 = 20" in DOC.read_text()
