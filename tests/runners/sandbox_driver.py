"""Runs the sandbox probe through ``run_plugin`` (used to run reflow as a non-root user)."""

import asyncio
import json
import sys

from reflow.runners import Runners
from reflow.runners._permissions import Permissions
from reflow.runners._sandbox_run import run_plugin


async def main() -> None:
    cfg = json.loads(sys.argv[1])
    run = await run_plugin(
        "builtin:shell",
        input={"command": cfg["command"]},
        permissions=Permissions(**cfg["permissions"]),
        sandbox=cfg["backend"],
        env=cfg["env"],
        timeout=60,
        runners=Runners(artifacts_root=cfg["tmp"]),
    )
    print(
        json.dumps(
            {
                "status": run.result.status,
                "stdout": run.result.stdout,
                "stderr": run.result.stderr,
                "backend": run.backend,
                "report": run.report,
            }
        )
    )


asyncio.run(main())
