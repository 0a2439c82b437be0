"""The options every ``reflow runs`` command shares, and opening the journal they name.

``--db``, ``--url`` and ``--token`` are accepted on the group and after the subcommand alike;
the group keeps them in ``ctx.obj``.
"""

from __future__ import annotations

import re
from typing import Any

import click

from reflow.cli._cluster import cluster_journal, is_cluster
from reflow.cli._errors import F, UsageProblem, debug_option
from reflow.durable._cli import JournalFile
from reflow.durable._errors import JournalError

DB_OPTION_HELP = (
    "The journal file (default runs.db, or $REFLOW_RUNS_DB), or a cluster's postgresql:// URL."
)
SCHEMA_OPTION_HELP = "With --db postgresql://...: the cluster journal's schema (default reflow)."
URL_OPTION_HELP = "A reflow server to ask instead of a journal file (or $REFLOW_SERVER_URL)."
TOKEN_OPTION_HELP = "The server's bearer token (or $REFLOW_SERVER_TOKEN)."
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """``90``, ``90s``, ``15m``, ``12h``, ``7d``, ``2w`` -> seconds."""
    match = _DURATION.match(text)
    if match is None:
        raise UsageProblem(f"--older-than {text!r}: expected a number with s, m, h, d or w")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


def _setter(key: str) -> Any:
    def set_value(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value is not None:
            ctx.ensure_object(dict)[key] = value

    return set_value


def db_option(func: F) -> F:
    """``--db`` (and ``--url``, ``--token``) accepted after the subcommand too."""
    for name, metavar, text in (
        ("schema", "SCHEMA", SCHEMA_OPTION_HELP),
        ("token", "TOKEN", TOKEN_OPTION_HELP),
        ("url", "URL", URL_OPTION_HELP),
        ("db", "PATH", DB_OPTION_HELP),
    ):
        option = click.option(
            f"--{name}",
            default=None,
            metavar=metavar,
            expose_value=False,
            callback=_setter(name),
            help=text,
        )
        func = option(func)
    return debug_option(func)


def is_remote(ctx: click.Context) -> bool:
    return bool(ctx.obj.get("url"))


def open_journal(ctx: click.Context) -> JournalFile:
    if is_remote(ctx):
        raise UsageProblem(f"reflow runs {ctx.info_name} works on a journal file only, not --url")
    path = ctx.obj["db"]
    try:
        if is_cluster(path):
            return JournalFile(path, journal=cluster_journal(path, ctx.obj["schema"]))
        return JournalFile(path)
    except JournalError as exc:
        raise UsageProblem(str(exc)) from exc
