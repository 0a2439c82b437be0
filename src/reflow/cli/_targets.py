"""Turning a TARGET string into a Workflow.

A TARGET is ``module:attr`` (an importable module, as with ``python -m``) or
``path/to/file.py:attr``.  ``attr`` may be dotted and may name a Workflow subclass or instance.
Without ``:attr`` the module's ``workflow`` attribute is used, or else its only Workflow instance,
or else its only Workflow subclass.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TypeGuard

from reflow import Workflow
from reflow.cli._errors import InvalidWorkflow, UsageProblem, described, one_line
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError

DEFAULT_ATTRIBUTE = "workflow"


@dataclass(frozen=True)
class TargetSpec:
    """A parsed TARGET: where the module is and which attribute to take from it."""

    location: str
    attribute: str | None
    is_file: bool


def parse_target(target: str) -> TargetSpec:
    """Split ``TARGET`` into its module or file part and its attribute part."""
    if not target.strip():
        raise UsageProblem("TARGET is empty; expected module:attr or path/to/file.py:attr")
    location, sep, attribute = target.rpartition(":")
    # No colon, or a colon that belongs to a Windows drive ("C:\\wf.py"): there is no attribute.
    if not sep or not location or any(c in attribute for c in "/\\") or attribute.endswith(".py"):
        location, attribute = target, ""
    if sep and not attribute and location != target:
        raise UsageProblem(f"TARGET {target!r} ends with ':'; name an attribute after it")
    is_file = location.endswith(".py") or "/" in location or os.sep in location
    if not is_file and not all(part.isidentifier() for part in location.split(".")):
        raise UsageProblem(
            f"TARGET {target!r}: {location!r} is neither a Python file nor a module name"
        )
    if attribute and not all(part.isidentifier() for part in attribute.split(".")):
        raise UsageProblem(f"TARGET {target!r}: {attribute!r} is not a valid attribute name")
    return TargetSpec(location=location, attribute=attribute or None, is_file=is_file)


def _prepend_to_sys_path(directory: str) -> None:
    if directory not in sys.path:
        sys.path.insert(0, directory)


def _module_name_for(path: Path) -> str:
    """The name a file is imported under: its stem, unless that name is taken by another file."""
    existing = sys.modules.get(path.stem)
    if existing is None:
        return path.stem
    existing_file = getattr(existing, "__file__", None)
    if existing_file is not None and Path(existing_file).resolve() == path:
        return path.stem
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
    return f"_reflow_target_{digest}_{path.stem}"


def _import_file(location: str) -> ModuleType:
    path = Path(location).resolve()
    if not path.is_file():
        raise UsageProblem(f"no such file: {location}")
    name = _module_name_for(path)
    cached = sys.modules.get(name)
    if cached is not None:
        return cached
    # Like `python file.py`: the file's directory is importable, so sibling modules work.
    _prepend_to_sys_path(str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageProblem(f"cannot import {location}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        if isinstance(exc, Exception):
            raise UsageProblem(f"error while importing {location}: {one_line(exc)}") from exc
        raise
    return module


def _import_module(location: str) -> ModuleType:
    # Like `python -m`: modules in the current directory are importable.
    _prepend_to_sys_path(os.getcwd())
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (location == exc.name or location.startswith(exc.name + ".")):
            raise UsageProblem(
                f"no module named {exc.name!r}; run from the directory that contains it, "
                "or pass a file path such as path/to/file.py:attr"
            ) from exc
        raise UsageProblem(f"error while importing {location}: {one_line(exc)}") from exc
    except Exception as exc:
        raise UsageProblem(f"error while importing {location}: {one_line(exc)}") from exc


def _is_workflow_class(obj: object) -> TypeGuard[type[Workflow]]:
    return isinstance(obj, type) and issubclass(obj, Workflow) and obj is not Workflow


def _default_attribute(module: ModuleType, location: str) -> object:
    if hasattr(module, DEFAULT_ATTRIBUTE):
        return getattr(module, DEFAULT_ATTRIBUTE)
    members = vars(module)
    instances = [name for name, obj in members.items() if isinstance(obj, Workflow)]
    classes = [
        name
        for name, obj in members.items()
        if _is_workflow_class(obj) and getattr(obj, "__module__", None) == module.__name__
    ]
    if len(instances) == 1:
        return members[instances[0]]
    if not instances and len(classes) == 1:
        return members[classes[0]]
    found = sorted(instances or classes)
    if not found:
        raise UsageProblem(f"{location} defines no Workflow class or instance")
    raise UsageProblem(
        f"{location} defines several workflows ({', '.join(found)}); pick one with {location}:NAME"
    )


def load_target(target: str) -> Workflow | type[Workflow]:
    """Import TARGET and return the Workflow subclass or instance it names."""
    spec = parse_target(target)
    module = _import_file(spec.location) if spec.is_file else _import_module(spec.location)
    if spec.attribute is None:
        obj = _default_attribute(module, spec.location)
        shown = spec.location
    else:
        obj = module
        for part in spec.attribute.split("."):
            if not hasattr(obj, part):
                raise UsageProblem(f"{spec.location} has no attribute {spec.attribute!r}")
            obj = getattr(obj, part)
        shown = target
    if isinstance(obj, Workflow) or _is_workflow_class(obj):
        return obj
    raise UsageProblem(f"{shown} is a {type(obj).__name__}, not a Workflow subclass or instance")


def build_workflow(obj: Workflow | type[Workflow], timeout: float | None = None) -> Workflow:
    """Return ``obj`` itself, or a new instance when it is a class (given ``timeout`` if set)."""
    if isinstance(obj, Workflow):
        return obj
    try:
        return obj() if timeout is None else obj(timeout=timeout)
    except (WorkflowConfigurationError, WorkflowValidationError) as exc:
        raise InvalidWorkflow(described(exc)) from exc
    except Exception as exc:
        raise UsageProblem(f"cannot create {obj.__name__}: {one_line(exc)}") from exc


def target_for_journal(target: str) -> str:
    """``target`` as any working directory can load it again: a file part made absolute.

    Stored with the workflow's catalogue, for ``reflow runs resume``.
    """
    spec = parse_target(target)
    if not spec.is_file:
        return target
    location = str(Path(spec.location).resolve())
    return location if spec.attribute is None else f"{location}:{spec.attribute}"
