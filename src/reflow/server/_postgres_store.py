"""``PostgresWorkflowStore``: handlers, events and ticks in PostgreSQL, readers woken by NOTIFY.

Built for many writers (several servers, and later the distributed runtime, on one database):
an event's sequence comes from a per-run counter row updated in the event's own transaction,
so concurrent appends to one run queue on that row and get consecutive numbers, never a gap
or a duplicate; the NOTIFY sent in the same transaction reaches listeners once it commits.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

from reflow.client.protocol import EventEnvelopeWithMetadata
from reflow.events import StopEvent
from reflow.server._store import (
    AbstractWorkflowStore,
    HandlerQuery,
    PersistentHandler,
    StoredEvent,
    StoredTick,
)

_MIGRATION_LOCK = 0x5EF1_0001
_CHANNEL = "reflow_wf_events"


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"{name!r} is not a valid SQL identifier (letters, digits, '_')")
    return f'"{name}"'


class PostgresWorkflowStore(AbstractWorkflowStore):
    """A store in PostgreSQL at ``dsn`` (asyncpg), in ``schema`` if given (created if missing)."""

    def __init__(
        self,
        dsn: str | None = None,
        schema: str | None = None,
        poll_interval: float = 1.0,
        handlers_table_name: str = "wf_handlers",
        events_table_name: str = "wf_events",
        pool_min_size: int = 2,
        pool_max_size: int = 10,
        auto_migrate: bool = True,
        pool: Any = None,
    ) -> None:
        if dsn is None and pool is None:
            raise ValueError("PostgresWorkflowStore needs a dsn or a pool")
        self.dsn = dsn
        self.schema = schema
        self.poll_interval = poll_interval
        prefix = f"{_ident(schema)}." if schema else ""
        self._schema_sql = _ident(schema) if schema else None
        self.handlers_table = prefix + _ident(handlers_table_name)
        self.events_table = prefix + _ident(events_table_name)
        self.heads_table = prefix + _ident(f"{events_table_name}_heads")
        self.ticks_table = prefix + _ident("wf_ticks")
        self.state_table = prefix + _ident("workflow_state")
        self.pool_min_size = pool_min_size
        self.pool_max_size = pool_max_size
        self.auto_migrate = auto_migrate
        self._pool: Any = pool
        self._owns_pool = pool is None
        self._ready: asyncio.Future[None] | None = None
        self._listener: Any = None
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}

    async def _get_pool(self) -> Any:
        if self._ready is None:
            self._ready = asyncio.get_running_loop().create_future()
            try:
                await self._open()
            except BaseException as exc:
                self._ready.set_exception(exc)
                self._ready.exception()
                self._ready = None
                raise
            self._ready.set_result(None)
        else:
            await asyncio.shield(self._ready)
        return self._pool

    async def _open(self) -> None:
        import asyncpg

        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self.dsn, min_size=self.pool_min_size, max_size=self.pool_max_size
            )
        if self.auto_migrate:
            await self.migrate()

    async def migrate(self) -> None:
        """Create the tables if missing (under an advisory lock: several servers may start)."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            if self._schema_sql:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self._schema_sql}")
            await conn.execute(
                f"""
                CREATE TABLE IF NOT EXISTS {self.handlers_table} (
                    handler_id TEXT PRIMARY KEY,
                    workflow_name TEXT NOT NULL,
                    status TEXT NOT NULL,
                    run_id TEXT,
                    error TEXT,
                    result JSONB,
                    started_at TIMESTAMPTZ,
                    updated_at TIMESTAMPTZ,
                    completed_at TIMESTAMPTZ,
                    idle_since TIMESTAMPTZ
                );
                CREATE INDEX IF NOT EXISTS wf_handlers_run_id ON {self.handlers_table} (run_id);
                CREATE INDEX IF NOT EXISTS wf_handlers_status ON {self.handlers_table} (status);
                CREATE TABLE IF NOT EXISTS {self.heads_table} (
                    run_id TEXT PRIMARY KEY,
                    next_event BIGINT NOT NULL DEFAULT 0,
                    next_tick BIGINT NOT NULL DEFAULT 0
                );
                CREATE TABLE IF NOT EXISTS {self.events_table} (
                    run_id TEXT NOT NULL,
                    sequence BIGINT NOT NULL,
                    ts TIMESTAMPTZ NOT NULL DEFAULT now(),
                    event JSONB NOT NULL,
                    PRIMARY KEY (run_id, sequence)
                );
                CREATE TABLE IF NOT EXISTS {self.ticks_table} (
                    run_id TEXT NOT NULL,
                    sequence BIGINT NOT NULL,
                    ts TIMESTAMPTZ NOT NULL DEFAULT now(),
                    tick_data JSONB NOT NULL,
                    PRIMARY KEY (run_id, sequence)
                );
                CREATE TABLE IF NOT EXISTS {self.state_table} (
                    run_id TEXT PRIMARY KEY,
                    state JSONB NOT NULL,
                    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
                );
                """
            )

    async def close(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
        if self._pool is not None and self._owns_pool:
            await self._pool.close()
            self._pool = None
        self._ready = None

    # -- handlers ----------------------------------------------------------------------------

    async def query(self, query: HandlerQuery) -> list[PersistentHandler]:
        pool = await self._get_pool()
        where, params = [], []
        for column, values in (
            ("handler_id", query.handler_id_in),
            ("run_id", query.run_id_in),
            ("workflow_name", query.workflow_name_in),
            ("status", query.status_in),
        ):
            if values is not None:
                params.append(list(values))
                where.append(f"{column} = ANY(${len(params)}::text[])")
        if query.is_idle is not None:
            where.append(f"idle_since IS {'NOT ' if query.is_idle else ''}NULL")
        sql = f"SELECT * FROM {self.handlers_table}"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started_at NULLS LAST, handler_id"
        rows = await pool.fetch(sql, *params)
        return [self._handler(row) for row in rows]

    @staticmethod
    def _handler(row: Any) -> PersistentHandler:
        result = None
        if row["result"] is not None:
            envelope = EventEnvelopeWithMetadata.model_validate(json.loads(row["result"]))
            try:
                loaded = envelope.load_event([StopEvent])
            except ValueError:
                loaded = StopEvent(result=envelope.value)
            result = loaded if isinstance(loaded, StopEvent) else StopEvent(result=envelope.value)
        return PersistentHandler(
            handler_id=row["handler_id"],
            workflow_name=row["workflow_name"],
            status=row["status"],
            run_id=row["run_id"],
            error=row["error"],
            result=result,
            started_at=row["started_at"],
            updated_at=row["updated_at"],
            completed_at=row["completed_at"],
            idle_since=row["idle_since"],
        )

    async def update(self, handler: PersistentHandler) -> None:
        pool = await self._get_pool()
        result = None
        if handler.result is not None:
            result = EventEnvelopeWithMetadata.from_event(handler.result).model_dump_json()
        await pool.execute(
            f"""
            INSERT INTO {self.handlers_table} (handler_id, workflow_name, status, run_id, error,
                result, started_at, updated_at, completed_at, idle_since)
            VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10)
            ON CONFLICT (handler_id) DO UPDATE SET workflow_name = EXCLUDED.workflow_name,
                status = EXCLUDED.status, run_id = EXCLUDED.run_id, error = EXCLUDED.error,
                result = EXCLUDED.result, started_at = EXCLUDED.started_at,
                updated_at = EXCLUDED.updated_at, completed_at = EXCLUDED.completed_at,
                idle_since = EXCLUDED.idle_since
            """,
            handler.handler_id,
            handler.workflow_name,
            handler.status,
            handler.run_id,
            handler.error,
            result,
            handler.started_at,
            handler.updated_at,
            handler.completed_at,
            handler.idle_since,
        )
        if handler.run_id is not None:
            await pool.execute("SELECT pg_notify($1, $2)", _CHANNEL, handler.run_id)

    async def delete(self, query: HandlerQuery) -> int:
        pool = await self._get_pool()
        doomed = await self.query(query)
        if not doomed:
            return 0
        handler_ids = [h.handler_id for h in doomed]
        run_ids = [h.run_id for h in doomed if h.run_id is not None]
        async with pool.acquire() as conn, conn.transaction():
            for table in (self.events_table, self.ticks_table, self.heads_table, self.state_table):
                await conn.execute(f"DELETE FROM {table} WHERE run_id = ANY($1::text[])", run_ids)
            await conn.execute(
                f"DELETE FROM {self.handlers_table} WHERE handler_id = ANY($1::text[])",
                handler_ids,
            )
        return len(doomed)

    # -- events and ticks --------------------------------------------------------------------

    async def _append(self, column: str, table: str, run_id: str, body: str) -> None:
        pool = await self._get_pool()
        async with pool.acquire() as conn, conn.transaction():
            sequence = await conn.fetchval(
                f"""
                INSERT INTO {self.heads_table} (run_id, {column}) VALUES ($1, 1)
                ON CONFLICT (run_id) DO UPDATE SET {column} = {self.heads_table}.{column} + 1
                RETURNING {column} - 1
                """,
                run_id,
            )
            payload = "event" if table == self.events_table else "tick_data"
            await conn.execute(
                f"INSERT INTO {table} (run_id, sequence, {payload}) VALUES ($1, $2, $3::jsonb)",
                run_id,
                sequence,
                body,
            )
            if table == self.events_table:
                await conn.execute("SELECT pg_notify($1, $2)", _CHANNEL, run_id)

    async def append_event(self, run_id: str, envelope: EventEnvelopeWithMetadata) -> None:
        await self._append("next_event", self.events_table, run_id, envelope.model_dump_json())

    async def query_events(
        self, run_id: str, after_sequence: int | None = None, limit: int | None = None
    ) -> list[StoredEvent]:
        pool = await self._get_pool()
        rows = await pool.fetch(
            f"SELECT sequence, ts, event FROM {self.events_table} WHERE run_id = $1"
            " AND sequence > $2 ORDER BY sequence LIMIT $3",
            run_id,
            -1 if after_sequence is None else after_sequence,
            limit,
        )
        return [
            StoredEvent(
                run_id,
                int(row["sequence"]),
                row["ts"],
                EventEnvelopeWithMetadata.model_validate(json.loads(row["event"])),
            )
            for row in rows
        ]

    async def append_tick(self, run_id: str, tick_data: dict[str, Any]) -> None:
        await self._append("next_tick", self.ticks_table, run_id, json.dumps(tick_data))

    async def get_ticks(self, run_id: str) -> list[StoredTick]:
        pool = await self._get_pool()
        rows = await pool.fetch(
            f"SELECT sequence, ts, tick_data FROM {self.ticks_table} WHERE run_id = $1"
            " ORDER BY sequence",
            run_id,
        )
        return [
            StoredTick(run_id, int(row["sequence"]), row["ts"], json.loads(row["tick_data"]))
            for row in rows
        ]

    # -- waking readers ----------------------------------------------------------------------

    async def _listen(self) -> None:
        if self._listener is not None:
            return
        import asyncpg

        await self._get_pool()
        if self.dsn is None:
            self._listener = await self._pool.acquire()
        else:
            self._listener = await asyncpg.connect(self.dsn)
        await self._listener.add_listener(_CHANNEL, self._notified)

    def _notified(self, connection: Any, pid: int, channel: str, run_id: str) -> None:
        for waiter in self._waiters.pop(run_id, ()):
            if not waiter.done():
                waiter.set_result(None)

    async def wait_for_events(self, run_id: str, after_sequence: int) -> None:
        await self._listen()
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(run_id, []).append(waiter)
        # Re-check after registering: an event committed in between sent its NOTIFY already.
        try:
            if await self.query_events(run_id, after_sequence, limit=1):
                return
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(waiter, self.poll_interval)
        finally:
            waiting = self._waiters.get(run_id)
            if waiting is not None and waiter in waiting:
                waiting.remove(waiter)
                if not waiting:
                    del self._waiters[run_id]
