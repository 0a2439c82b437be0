"""A durable embedded runtime: every run is journaled in a SQLite file and survives ``kill -9``.

    from reflow.durable import DurableRuntime

    runtime = DurableRuntime("runs.db")
    workflow = OrderWorkflow(runtime=runtime)  # any Workflow subclass (docs/durable.md)
    await runtime.launch()
    handler = workflow.run(run_id="order-42", qty=3)

See ``docs/durable.md``.
"""

from reflow.durable._errors import JournalBusy, JournalError, UnknownRun
from reflow.durable._info import RunInfo, StoredEvent
from reflow.durable._runtime import DurableRuntime

__all__ = ["DurableRuntime", "JournalBusy", "JournalError", "RunInfo", "StoredEvent", "UnknownRun"]
