"""The durable tests' worker on a DBOSRuntime: ``python dbos_worker.py MODE DSN#SCHEMA ...``.

The modes are ``durable_worker``'s (crash, hitl, timers); only the runtime differs: the journal
argument is a PostgreSQL URL and a schema, joined by ``#``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "durable"))

import durable_worker

from reflow.dbos import DBOSRuntime


def on_postgres(db: str, **options: Any) -> DBOSRuntime:
    dsn, schema = db.rsplit("#", 1)
    return DBOSRuntime(dsn, schema=schema, **options)


if __name__ == "__main__":
    durable_worker.DurableRuntime = on_postgres  # type: ignore[misc,assignment]
    durable_worker.main()
