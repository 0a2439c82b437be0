"""The flow routes fuzzed from their own OpenAPI paths (schemathesis, bounded): never a 5xx.

A live uvicorn (in a thread) serves one flow that ends on its own and has no slow node, on the
real Redis under a random key prefix.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from tests.flows.conftest import REDIS_URL, delete_prefix, require_redis
from tests.flows.test_dev import DOC
from tests.live_server import live_app_in_thread

from reflow.flows import FlowServices
from reflow.server import WorkflowServer

QUICK = {**DOC, "nodes": DOC["nodes"][:3], "edges": DOC["edges"][:2]}


def build_server(prefix: str) -> WorkflowServer:
    server = WorkflowServer(max_body_bytes=4096)
    server.enable_flows(FlowServices(redis_url=REDIS_URL, prefix=prefix))
    server.add_flow(QUICK, name="quick")
    return server


SCHEMA = schemathesis.openapi.from_dict(build_server("unused:").openapi_schema())


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    require_redis()
    prefix = f"reflow-test-flowfuzz:{uuid.uuid4().hex[:12]}:"
    server = build_server(prefix)
    with live_app_in_thread(server.app) as url:
        yield url
    asyncio.run(delete_prefix(prefix))


@SCHEMA.include(path_regex="^/flows").parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_5xx(case: Any, base_url: str) -> None:
    if "name" in (case.path_parameters or {}) and case.path_parameters["name"] != "quick":
        case.path_parameters["name"] = "quick"  # reach the flow, not only its 404
    response = case.call(base_url=base_url, timeout=10)
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
