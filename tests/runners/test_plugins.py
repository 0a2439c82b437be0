"""Plugin manifests, references, permission overrides, strict mode and the opt-out."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import pytest

from reflow.runners import (
    ErrorCode,
    ManifestError,
    ResolutionError,
    RunnerError,
    Runners,
    _backends,
)
from reflow.runners._backends import Probe, probe
from reflow.runners._errors import SandboxError
from reflow.runners._manifest import PluginRegistry, load_manifest
from reflow.runners._permissions import Permissions
from reflow.runners._sandbox_run import run_plugin

from ._support import require, wait_gone

HANDLER = """\
import json, os, sys
data = json.load(sys.stdin)
print("::reflow-output::" + json.dumps({"doubled": data["n"] * 2, "ok": False}))
print("cwd", os.getcwd())
print("env", os.environ.get("PLUGIN_TOKEN", "absent"), os.environ.get("OTHER", "absent"))
"""


def write_plugin(root: Path, manifest: dict[str, object]) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "handler.py").write_text(HANDLER)
    path = root / "plugin.json"
    path.write_text(json.dumps(manifest))
    return path


MANIFEST = {
    "id": "@acme/quality",
    "version": "1.0.0",
    "permissions": {"env": ["PLUGIN_*"], "exec": ["python3"], "memory_mb": 512, "network": False},
    "handlers": [
        {"id": "audit", "command": ["python3", "handler.py"]},
        {
            "id": "cli/verify",
            "command": ["python3", "handler.py"],
            "permissions": {"env": ["OTHER"], "network": True},
        },
    ],
    "commands": [{"id": "lint", "command": ["python3", "handler.py"]}],
}


@pytest.fixture
def registry(tmp_path: Path) -> PluginRegistry:
    return PluginRegistry([write_plugin(tmp_path / "quality", MANIFEST)])


def test_references_resolve_scoped_short_nested_and_commands(registry: PluginRegistry) -> None:
    audit = registry.resolve("plugin:@acme/quality/audit")
    assert (audit.plugin_id, audit.handler) == ("@acme/quality", "audit")
    assert audit.argv[1] == "handler.py" and audit.root is not None
    assert registry.resolve("plugin:quality/audit").plugin_id == "@acme/quality"
    nested = registry.resolve("plugin:@acme/quality/cli/verify")
    assert nested.handler == "cli/verify"
    assert registry.resolve("command:lint").handler == "lint"


def test_handler_permissions_replace_plugin_wide_ones_key_by_key(registry: PluginRegistry) -> None:
    nested = registry.resolve("plugin:quality/cli/verify").permissions
    assert nested.env == ("OTHER",) and nested.network is True
    assert nested.memory_mb == 512 and nested.exec == ("python3",)  # kept from the plugin


@pytest.mark.parametrize(
    ("uses", "error", "needle"),
    [
        ("plugin:missing/x", ResolutionError, "plugin not found: 'missing'"),
        ("plugin:quality/nope", ResolutionError, "handler not found: 'nope'"),
        ("plugin:quality", ResolutionError, "expected 'plugin:<id>/<handler>'"),
        ("plugin:@acme/quality", ResolutionError, "expected"),
        ("command:nope", ResolutionError, "command not found: 'nope'"),
        ("docker:x", RunnerError, "unsupported uses"),
    ],
)
def test_bad_references_name_what_is_wrong(
    registry: PluginRegistry, uses: str, error: type[Exception], needle: str
) -> None:
    with pytest.raises(error, match=needle.replace("(", r"\(")) as caught:
        registry.resolve(uses)
    if uses.startswith("docker"):
        assert caught.value.code is ErrorCode.UNSUPPORTED_STEP  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("manifest", "field"),
    [
        ({"version": "1"}, "id: Field required"),
        ({"id": "bad id"}, "id: String should match"),
        ({"id": "p", "handlers": [{"id": "h", "command": []}]}, "handlers.0.command"),
        ({"id": "p", "handlers": [{"id": "h", "command": ["x"], "extra": 1}]}, "handlers.0.extra"),
        ({"id": "p", "permissions": {"memory_mb": -1}}, "permissions.memory_mb"),
        ({"id": "p", "permissions": {"network": "sometimes"}}, "permissions.network"),
    ],
)
def test_malformed_manifests_name_the_field(
    tmp_path: Path, manifest: dict[str, object], field: str
) -> None:
    path = tmp_path / "plugin.json"
    path.write_text(json.dumps(manifest))
    with pytest.raises(ManifestError) as caught:
        load_manifest(path)
    assert field in str(caught.value) and str(path) in str(caught.value)
    assert caught.value.code is ErrorCode.INVALID_MANIFEST


def test_unreadable_and_non_json_manifests(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="cannot read"):
        load_manifest(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(ManifestError, match="not JSON"):
        load_manifest(tmp_path / "bad.json")
    registry = PluginRegistry([load_manifest({"id": "@a/b"}, root=tmp_path)])
    with pytest.raises(ManifestError, match="already registered"):
        registry.add({"id": "@a/b"}, root=tmp_path)
    registry.add({"id": "@c/b"}, root=tmp_path)
    with pytest.raises(ResolutionError, match="ambiguous"):
        registry.find_plugin("b")


def confining_backend() -> str:
    found = probe()
    for backend in ("bwrap", "landlock"):
        if getattr(found, backend) is None:
            return backend
    require("neither bwrap nor Landlock works", "a confining sandbox backend")
    raise AssertionError


async def test_plugin_runs_confined_with_input_outputs_and_filtered_env(
    registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTHER", "process-other")
    runners = Runners(plugins=registry, env={"PLUGIN_TOKEN": "tok"})
    for uses, env_line in [
        ("plugin:quality/audit", "env tok absent"),
        ("plugin:quality/cli/verify", "env absent process-other"),
    ]:
        run = await run_plugin(uses, input={"n": 21}, runners=runners, sandbox=confining_backend())
        assert run.ok, run.result.stderr
        assert run.result.outputs == {"doubled": 42}  # "ok" is reserved, dropped
        assert env_line in run.result.stdout
        assert f"cwd {run.command.root}" in run.result.stdout
        assert run.result.backend == run.backend


@pytest.mark.parametrize("backend", ["bwrap", "landlock"])
async def test_wall_time_ends_the_sandboxed_tree(backend: str, tmp_path: Path) -> None:
    require(getattr(probe(), backend), f"the {backend} sandbox backend")
    pids = tmp_path / "pids"
    pids.touch()
    os.chmod(tmp_path, 0o777)
    script = f"sleep 60 & echo $! >> {pids}; setsid sleep 60 & echo $! >> {pids}; wait"
    run = await run_plugin(
        "builtin:shell",
        input={"command": script},
        permissions=Permissions(write=[str(tmp_path)], wall_seconds=2.0),
        sandbox=backend,
        grace=0.2,
    )
    assert run.result.status == "timed_out"
    assert run.result.error is not None and run.result.error.code is ErrorCode.TIMEOUT
    if backend == "landlock":  # bwrap's pids are inside its own PID namespace
        found = [int(p) for p in pids.read_text().split()]
        assert len(found) == 2 and wait_gone(found) == []


async def test_strict_mode_refuses_grants_the_backend_cannot_enforce() -> None:
    backend = confining_backend()
    with pytest.raises(SandboxError) as caught:
        await run_plugin(
            "builtin:shell",
            input={"command": "true"},
            permissions=Permissions(exec=["true"]),
            sandbox=backend,
            strict=True,
        )
    assert caught.value.code is ErrorCode.PERMISSION_NOT_ENFORCEABLE
    assert "exec (best-effort)" in str(caught.value)
    run = await run_plugin(
        "builtin:shell",
        input={"command": ["true"]},
        permissions=Permissions(),
        sandbox=backend,
        strict=True,
    )
    assert run.ok and set(run.report.values()) == {"enforced"}


async def test_sandbox_none_is_an_explicit_opt_out_logged_as_no_boundary(
    caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    secret = tmp_path / "outside.txt"
    secret.write_text("readable")
    with caplog.at_level(logging.WARNING, logger="reflow.runners.sandbox"):
        run = await run_plugin("builtin:shell", input={"command": f"cat {secret}"}, sandbox="none")
    assert run.ok and run.result.stdout == "readable"  # no boundary, as announced
    assert "NO security boundary" in caplog.text
    assert run.report["read"] == "not enforced" and run.report["env"] == "enforced"


async def test_refusal_says_what_is_missing_when_no_backend_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = Probe(
        bwrap="bubblewrap: not found (install: apt-get install bubblewrap)",
        landlock="Landlock: not supported by this kernel",
    )
    monkeypatch.setattr(_backends, "probe", lambda: broken)
    with pytest.raises(SandboxError) as caught:
        await run_plugin("builtin:shell", input={"command": "true"})
    message = str(caught.value)
    assert caught.value.code is ErrorCode.SANDBOX_UNAVAILABLE
    assert "bubblewrap: not found" in message and "Landlock: not supported" in message
    assert "network=off" in message and 'sandbox="none"' in message


async def test_missing_executable_and_missing_registry(tmp_path: Path) -> None:
    backend = confining_backend()
    run = await run_plugin(
        "builtin:shell", input={"command": ["no-such-tool-xyz"]}, sandbox=backend
    )
    assert run.result.error is not None
    assert run.result.error.code is ErrorCode.COMMAND_NOT_FOUND
    assert "no-such-tool-xyz" in run.result.error.message
    with pytest.raises(SandboxError, match="no plugins are registered"):
        await run_plugin("plugin:x/y", runners=Runners())


def test_landlock_binding_reports_an_abi() -> None:
    from reflow.runners import _landlock

    version = _landlock.abi()
    if sys.platform.startswith("linux"):
        require(None if version >= 1 else "ABI 0", "Landlock")
        assert _landlock.fs_rights(version) & _landlock.READ_FILE


async def test_run_plugin_from_a_step_streams_lines_and_passes_the_idempotency_key(
    registry: PluginRegistry, tmp_path: Path
) -> None:
    from typing import Annotated

    from reflow import Workflow, step
    from reflow.events import StartEvent, StopEvent
    from reflow.resource import Resource
    from reflow.runners import OutputLineEvent, StepContext

    backend = confining_backend()
    runners = Runners(plugins=registry, artifacts_root=tmp_path, sandbox=backend)

    class Flow(Workflow):
        @step
        async def audit(
            self, ev: StartEvent, sc: Annotated[StepContext, Resource(runners.context)]
        ) -> StopEvent:
            run = await sc.run_plugin(
                "builtin:shell",
                input={"command": 'echo "key=$REFLOW_IDEMPOTENCY_KEY"'},
                permissions=Permissions(),
            )
            return StopEvent(result=(run.result.stdout, sc.idempotency_key))

    handler = Flow().run()
    lines = [e async for e in handler.stream_events() if isinstance(e, OutputLineEvent)]
    stdout, key = await handler
    assert stdout == f"key={key}\n"
    assert [(e.stream, e.number, e.line, e.step) for e in lines] == [
        ("stdout", 1, f"key={key}", "audit")
    ]
