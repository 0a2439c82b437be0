"""``python durable_shell_worker.py DB DIR``: run (or resume) one durable run of two shell steps.

``first`` appends its idempotency key to DIR/log; ``second`` appends its key, and the first
time it runs records its shell's pid and sleeps (the test SIGKILLs the worker then).
Prints the run's result as JSON when it finishes.
"""

from __future__ import annotations

import asyncio
import json
import sys

from reflow import Workflow
from reflow.durable import DurableRuntime
from reflow.events import StopEvent
from reflow.runners import Runners, ShellStepDone, shell_step


async def main(db: str, folder: str) -> None:
    runtime = DurableRuntime(db, lease_seconds=1.0, poll_interval=0.05)
    runners = Runners(runtime=runtime, env={"DIR": folder})

    class Twice(Workflow):
        first = shell_step('echo "first $REFLOW_IDEMPOTENCY_KEY" >> "$DIR/log"', runners=runners)
        second = shell_step(
            'echo "second $REFLOW_IDEMPOTENCY_KEY" >> "$DIR/log";'
            ' if [ ! -f "$DIR/slept" ]; then echo $$ > "$DIR/slept"; sleep 60; fi',
            accepts=ShellStepDone,
            returns=StopEvent,
            runners=runners,
        )

    workflow = Twice(runtime=runtime, timeout=None)
    await runtime.launch()
    result = await workflow.run(run_id="shell-run")
    sys.stdout.write(json.dumps({"exit_code": result.exit_code}) + "\n")
    sys.stdout.flush()
    await runtime.destroy()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
