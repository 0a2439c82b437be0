"""docs/llama-index.md, "Serving agents": its example serves an agent, asks and answers it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "llama-index.md"
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
PRINTED = re.compile(r"It prints:\n\n```text\n(.*?)```", re.DOTALL)


def test_the_serving_example_runs_and_prints_what_the_guide_says(tmp_path: Path) -> None:
    text = DOC.read_text()
    blocks = [b for b in FENCE.findall(text) if "asyncio.run(serve_and_ask())" in b]
    assert len(blocks) == 1
    script = tmp_path / "served_agent.py"
    script.write_text(blocks[0])
    env = {k: v for k, v in os.environ.items() if k != "REFLOW_ALIAS_WORKFLOWS"}
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    printed = PRINTED.search(text[text.index("asyncio.run(serve_and_ask())") :])
    assert printed is not None
    assert done.stdout == printed.group(1)
    assert (tmp_path / "agents.db").exists()
