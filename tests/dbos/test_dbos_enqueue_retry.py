"""A dropped connection fails one enqueue transaction, not the steps in it."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
import sqlalchemy.exc

from reflow.dbos import _dispatch


def _wrapped(error: BaseException) -> sqlalchemy.exc.DBAPIError:
    return sqlalchemy.exc.DBAPIError.instance("INSERT ...", {}, error, psycopg.Error)


def test_connection_errors_are_told_from_statement_errors() -> None:
    assert _dispatch.is_connection_error(psycopg.errors.AdminShutdown("terminated"))
    assert _dispatch.is_connection_error(_wrapped(psycopg.OperationalError("server closed")))
    assert not _dispatch.is_connection_error(_wrapped(psycopg.errors.UniqueViolation("dup")))
    assert not _dispatch.is_connection_error(psycopg.errors.SyntaxError("bad"))
    assert not _dispatch.is_connection_error(ValueError("no"))


async def test_an_enqueue_whose_connection_dropped_is_tried_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[int] = []

    def insert(batch: Any) -> set[str]:
        calls.append(len(batch))
        if len(calls) < 3:
            raise _wrapped(psycopg.errors.AdminShutdown("terminating connection"))
        return {"run:step:1"}

    monkeypatch.setattr(_dispatch, "_insert", insert)
    assert await _dispatch._insert_retrying([("q", "run:step:1", ())]) == {"run:step:1"}
    assert calls == [1, 1, 1]


async def test_a_statement_error_is_not_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def insert(batch: Any) -> set[str]:
        calls.append(1)
        raise _wrapped(psycopg.errors.UniqueViolation("duplicate"))

    monkeypatch.setattr(_dispatch, "_insert", insert)
    with pytest.raises(sqlalchemy.exc.DBAPIError):
        await _dispatch._insert_retrying([("q", "run:step:1", ())])
    assert calls == [1]
