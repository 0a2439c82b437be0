"""A distributed durable runtime: runs journaled in PostgreSQL, shared by a cluster of processes.

    from reflow.dbos import DBOSRuntime

    runtime = DBOSRuntime("postgresql://127.0.0.1:5432/app")
    workflow = OrderWorkflow(runtime=runtime)
    await runtime.launch()
    handler = workflow.run(run_id="order-42", qty=3)

See ``docs/distributed.md``.
"""

from reflow.dbos._runtime import DBOSRuntime

__all__ = ["DBOSRuntime"]
