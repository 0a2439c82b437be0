"""``reflow_step``, the one DBOS workflow of reflow, and the queues it travels by.

DBOS knows one workflow of reflow's: ``reflow_step`` runs one attempt of one step of any
workflow registered in the process that dequeues it (``workflows``) and returns its result,
encoded.  Each step that may run anywhere has a queue of its own (``queue_name``).
"""

from __future__ import annotations

import os
from typing import Any

from dbos import DBOS

from reflow.dbos._execute import execute

# Every step execution is enqueued under this one partition key.  A queue with a partition
# limit is claimed by DBOS in a SERIALIZABLE transaction, which is what makes its global
# limit hold when workers claim at the same moment: under the REPEATABLE READ claim of a
# queue without partitions, two workers whose snapshots overlap can each count the same
# running executions and claim different rows of equal ``created_at`` (a batch enqueue gives
# many rows the same millisecond), together exceeding ``num_workers``.
PARTITION = "all"
# The workflows of this process by name: what ``reflow_step`` runs, in whichever process.
workflows: dict[str, Any] = {}
# This process's DBOS executor id (set when DBOS launches here), for the execution's span.
executor_id: str | None = None


def queue_name(workflow: str, step: str) -> str:
    return f"reflow:{workflow}:{step}"


@DBOS.workflow(name="reflow_step")
async def reflow_step(
    workflow_name: str,
    step_name: str,
    key: str,
    event_body: str,
    traceparent: str | None = None,
    context: str | None = None,
) -> str:
    """Run one attempt of a step here and return its result, encoded.

    ``traceparent`` (optional, so executions queued without it still run) is the W3C trace
    context of the attempt's span in the process driving the run; ``context`` is given for a
    step that takes a ``Context`` (see ``_capture``).
    """
    workflow = workflows.get(workflow_name)
    if workflow is None:
        raise LookupError(f"workflow {workflow_name!r} is not registered in process {os.getpid()}")
    return await execute(
        workflow,
        step_name,
        key,
        event_body,
        traceparent,
        context,
        queue=queue_name(workflow_name, step_name),
        executor_id=executor_id,
    )
