"""``reflow.alias``: ``workflows`` resolves to reflow, and the peer's files never load."""

from __future__ import annotations

import importlib
import os
import pkgutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import reflow
import reflow.alias
from reflow._alias_finder import PackageAlias
from reflow.context.utils import get_qualified_name, import_module_from_qualified_name
from reflow.events import StartEvent, StopEvent
from reflow.runtime.types.results import WaitingForEvent


def _peer_package_dir() -> Path:
    dist = metadata.distribution("llama-index-workflows")
    return Path(str(dist.locate_file("workflows"))).resolve()


def _run_python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != reflow.alias.ENV_VAR}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environ, timeout=120
    )


def test_install_is_idempotent() -> None:
    reflow.alias.install()
    reflow.alias.install()
    finders = [f for f in sys.meta_path if isinstance(f, PackageAlias) and f.source == "workflows"]
    assert len(finders) == 1
    assert reflow.alias.installed()


def test_workflows_names_are_reflow_objects() -> None:
    import workflows
    import workflows.context.serializers
    import workflows.events

    assert workflows is reflow
    assert workflows.events.StopEvent is StopEvent
    assert workflows.context.serializers is sys.modules["reflow.context.serializers"]


def test_every_llama_index_workflow_module_imports_on_reflow() -> None:
    import llama_index.core.agent.workflow as agent_workflow
    import llama_index.core.workflow as li_workflow

    names = [m.name for m in pkgutil.iter_modules(li_workflow.__path__)]
    # llama-index-core still ships a shim for ``workflows.service``, which llama-index-workflows
    # 2.x no longer has: it fails to import on the peer too.
    for name in sorted(set(names) - {"service"}):
        importlib.import_module(f"llama_index.core.workflow.{name}")
    for name in [m.name for m in pkgutil.iter_modules(agent_workflow.__path__)]:
        importlib.import_module(f"llama_index.core.agent.workflow.{name}")
    from llama_index.core.agent.workflow import FunctionAgent
    from llama_index.core.workflow.utils import get_steps_from_class

    assert {"init_run", "setup_agent", "run_agent_step"} <= set(get_steps_from_class(FunctionAgent))


def test_no_module_of_the_peer_is_loaded() -> None:
    import llama_index.core.agent.workflow  # noqa: F401

    peer_dir = _peer_package_dir()
    loaded = [
        name
        for name, module in list(sys.modules.items())
        if getattr(module, "__file__", None)
        and Path(module.__file__).resolve().is_relative_to(peer_dir)  # type: ignore[arg-type]
    ]
    assert peer_dir.is_dir(), "llama-index-workflows is installed alongside llama-index-core"
    assert loaded == []


def test_a_workflows_module_reflow_lacks_fails_instead_of_loading_the_peer() -> None:
    # The peer's wire models live in ``workflows.protocol``; reflow keeps them in
    # ``reflow.client.protocol`` (``workflows.server`` is no example any more: reflow has one).
    assert (_peer_package_dir() / "protocol").is_dir()
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("workflows.protocol")
    assert "workflows.protocol" not in sys.modules


def test_install_refuses_after_the_peer_was_imported() -> None:
    done = _run_python(
        "import workflows, reflow.alias\n"
        "try:\n    reflow.alias.install()\nexcept reflow.alias.AliasError as e:\n    print(e)\n"
    )
    assert done.returncode == 0, done.stderr
    assert "must run before the 'workflows' package is imported" in done.stdout
    assert "workflows" in done.stdout and "REFLOW_ALIAS_WORKFLOWS=1" in done.stdout


def test_environment_variable_installs_the_alias_at_interpreter_start() -> None:
    code = (
        "import sys; assert 'llama_index' not in sys.modules\n"
        "import llama_index.core.workflow as w, reflow\n"
        "print(w.Workflow is reflow.Workflow, type(sys.meta_path[0]).__name__)"
    )
    on = _run_python(code, REFLOW_ALIAS_WORKFLOWS="1")
    assert on.returncode == 0, on.stderr
    assert on.stdout.split() == ["True", "PackageAlias"]
    off = _run_python(code)
    assert off.returncode == 0, off.stderr
    assert off.stdout.split()[0] == "False"


def test_environment_variable_reports_a_refusal() -> None:
    # The variable is unset at start (so the .pth does nothing) and set after the peer loaded.
    done = _run_python(
        "import os, workflows, reflow.alias\n"
        "os.environ['REFLOW_ALIAS_WORKFLOWS'] = '1'\n"
        "print(reflow.alias.install_from_environment())"
    )
    assert done.stdout.strip() == "False"
    assert "REFLOW_ALIAS_WORKFLOWS is set but the alias was not installed" in done.stderr


def test_qualified_name_helpers() -> None:
    assert get_qualified_name(StopEvent()) == "reflow.events.StopEvent"
    assert import_module_from_qualified_name("reflow.events.StartEvent") is StartEvent
    with pytest.raises(ValueError, match=r"module\.attribute"):
        import_module_from_qualified_name("nodots")
    with pytest.raises(ImportError, match="no_such_module"):
        import_module_from_qualified_name("no_such_module.X")
    with pytest.raises(AttributeError, match=r"Nope not found in module reflow\.events"):
        import_module_from_qualified_name("reflow.events.Nope")


def test_waiting_for_event_is_an_exception_agents_reraise() -> None:
    assert issubclass(WaitingForEvent, Exception)
    from llama_index.core.agent.workflow.base_agent import _get_waiting_for_event_exception

    assert _get_waiting_for_event_exception() is WaitingForEvent


def test_the_pth_file_is_shipped_at_the_top_of_site_packages() -> None:
    root = Path(__file__).resolve().parents[2]
    assert '"src/reflow-alias.pth" = "reflow-alias.pth"' in (root / "pyproject.toml").read_text()
    line = (root / "src" / "reflow-alias.pth").read_text().strip()
    assert line.startswith("import ")  # Python runs only .pth lines that start with "import"
    assert "install_from_environment()" in line and reflow.alias.ENV_VAR in line
    installed = [Path(p) / "reflow-alias.pth" for p in sys.path if p.endswith("site-packages")]
    assert any(p.is_file() for p in installed), "the editable install put it in site-packages"


def test_every_reflow_module_is_the_same_object_under_workflows() -> None:
    import pkgutil as walk

    names = [
        info.name
        for info in walk.walk_packages(reflow.__path__, "reflow.")
        if not info.name.endswith(".__main__")  # importing it runs the command line
    ]
    assert len(names) > 50
    for name in names:
        module = importlib.import_module(name)
        alias = importlib.import_module("workflows" + name[len("reflow") :])
        assert alias is module, name


@given(st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=4))
def test_package_alias_maps_names_under_the_source_only(parts: list[str]) -> None:
    finder = PackageAlias("workflows", "reflow")
    suffix = ".".join(parts)
    assert finder.target_name(f"workflows.{suffix}") == f"reflow.{suffix}"
    assert finder.target_name(suffix) == ("reflow" if suffix == "workflows" else None)
    assert finder.target_name(f"workflowsx.{suffix}") is None
