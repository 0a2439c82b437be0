"""Loading TARGET: ``module:attr`` and ``path/to/file.py:attr``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_support import SAMPLES, sample
from hypothesis import given
from hypothesis import strategies as st

from reflow import Workflow
from reflow.cli._errors import InvalidWorkflow, UsageProblem
from reflow.cli._targets import build_workflow, load_target, parse_target

WORKFLOW_SOURCE = """
from reflow import Workflow, step
from reflow.events import StartEvent, StopEvent

class {name}(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result={name!r})
"""

identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True)


@given(st.lists(identifiers, min_size=1, max_size=3), st.lists(identifiers, min_size=1, max_size=2))
def test_module_targets_split_into_module_and_attribute(
    module_parts: list[str], attr_parts: list[str]
) -> None:
    module, attr = ".".join(module_parts), ".".join(attr_parts)
    spec = parse_target(f"{module}:{attr}")
    assert (spec.location, spec.attribute, spec.is_file) == (module, attr, False)


@pytest.mark.parametrize(
    ("target", "location", "attribute"),
    [
        ("flows/app.py:wf", "flows/app.py", "wf"),
        ("app.py:Outer.wf", "app.py", "Outer.wf"),
        ("flows/app.py", "flows/app.py", None),
        ("C:\\flows\\app.py", "C:\\flows\\app.py", None),
        ("C:\\flows\\app.py:wf", "C:\\flows\\app.py", "wf"),
    ],
)
def test_file_targets(target: str, location: str, attribute: str | None) -> None:
    spec = parse_target(target)
    assert (spec.location, spec.attribute, spec.is_file) == (location, attribute, True)


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("", "TARGET is empty"),
        ("app.py:", "ends with ':'"),
        ("not a module:wf", "neither a Python file nor a module name"),
        ("app.py:not-valid", "is not a valid attribute name"),
    ],
)
def test_malformed_targets_are_usage_errors(target: str, message: str) -> None:
    with pytest.raises(UsageProblem, match=message) as info:
        parse_target(target)
    assert info.value.exit_code == 2


def test_loads_a_class_and_an_instance_from_a_file() -> None:
    cls = load_target(sample("Hello"))
    assert isinstance(cls, type)
    assert issubclass(cls, Workflow)
    assert isinstance(load_target(sample("hello")), cls)


def test_a_file_is_imported_once() -> None:
    assert load_target(sample("Hello")) is load_target(sample("Hello"))


def test_without_attribute_the_workflow_attribute_is_used(tmp_path: Path) -> None:
    path = tmp_path / "with_default.py"
    path.write_text(WORKFLOW_SOURCE.format(name="Flow") + "\nworkflow = Flow()\nother = Flow()\n")
    loaded = load_target(str(path))
    assert loaded is sys.modules[type(loaded).__module__].workflow


def test_without_attribute_the_only_workflow_class_is_used(tmp_path: Path) -> None:
    path = tmp_path / "single_class.py"
    path.write_text(WORKFLOW_SOURCE.format(name="Lonely"))
    loaded = load_target(str(path))
    assert isinstance(loaded, type)
    assert loaded.__name__ == "Lonely"


def test_without_attribute_several_workflows_are_ambiguous(tmp_path: Path) -> None:
    path = tmp_path / "two_classes.py"
    path.write_text(WORKFLOW_SOURCE.format(name="First") + WORKFLOW_SOURCE.format(name="Second"))
    with pytest.raises(UsageProblem, match=r"several workflows \(First, Second\)"):
        load_target(str(path))


def test_loads_a_module_from_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cwd_module_for_cli.py").write_text(WORKFLOW_SOURCE.format(name="FromCwd"))
    monkeypatch.chdir(tmp_path)
    loaded = load_target("cwd_module_for_cli:FromCwd")
    assert isinstance(loaded, type)
    assert loaded.__name__ == "FromCwd"


def test_a_file_whose_name_is_taken_gets_its_own_module(tmp_path: Path) -> None:
    path = tmp_path / "json.py"  # `json` is already imported and is not this file
    path.write_text(WORKFLOW_SOURCE.format(name="Shadow"))
    loaded = load_target(f"{path}:Shadow")
    assert isinstance(loaded, type)
    assert loaded.__module__.startswith("_reflow_target_")


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("does/not/exist.py:wf", "no such file: does/not/exist.py"),
        ("no_such_module_for_cli_tests:wf", "no module named 'no_such_module_for_cli_tests'"),
        (f"{SAMPLES}:Missing", "has no attribute 'Missing'"),
        (f"{SAMPLES}:not_a_workflow", "is a int, not a Workflow subclass or instance"),
    ],
)
def test_targets_that_cannot_be_loaded(target: str, message: str) -> None:
    with pytest.raises(UsageProblem, match=message):
        load_target(target)


def test_an_import_error_inside_the_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken_for_cli.py"
    path.write_text("raise RuntimeError('broken on purpose')\n")
    with pytest.raises(UsageProblem, match="RuntimeError: broken on purpose"):
        load_target(f"{path}:wf")
    assert "broken_for_cli" not in sys.modules


def test_build_workflow_instantiates_a_class_with_the_timeout() -> None:
    cls = load_target(sample("Hello"))
    assert isinstance(cls, type)
    built = build_workflow(cls, timeout=3.0)
    assert isinstance(built, cls)
    instance = load_target(sample("hello"))
    assert isinstance(instance, Workflow)
    assert build_workflow(instance, timeout=3.0) is instance


def test_build_workflow_reports_a_class_that_cannot_be_built(tmp_path: Path) -> None:
    path = tmp_path / "no_steps_for_cli.py"
    path.write_text("from reflow import Workflow\n\nclass Empty(Workflow):\n    pass\n")
    cls = load_target(f"{path}:Empty")
    assert isinstance(cls, type)
    with pytest.raises(InvalidWorkflow) as info:
        build_workflow(cls)
    assert info.value.exit_code == 2
