"""Finding what to serve in a Python file: a ``WorkflowServer``, or workflows to build one from.

``FILE[:NAME]``: NAME picks a ``WorkflowServer``, a workflow instance or a workflow class (served
as NAME).  Without NAME the file's first ``WorkflowServer`` is served, or else every workflow
instance it defines (each under its variable name), or else every workflow class it defines
(each under its class name, built without arguments).
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

from reflow.server._server import WorkflowServer
from reflow.server._store import AbstractWorkflowStore
from reflow.workflow import Workflow


class ServeTargetError(ValueError):
    """The file or name given to serve does not hold anything servable; the message says why."""


def import_file(path: str) -> ModuleType:
    file = Path(path)
    if not file.is_file():
        raise ServeTargetError(f"{path}: no such file")
    directory = str(file.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = file.stem if file.stem.isidentifier() else "reflow_served_module"
    loaded = sys.modules.get(name)
    loaded_from = getattr(loaded, "__file__", None)
    if loaded is not None and loaded_from and Path(loaded_from).resolve() == file.resolve():
        return loaded  # already imported (by name): its classes must stay the same objects
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise ServeTargetError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ServeTargetError(f"{path}: importing it failed: {type(exc).__name__}: {exc}") from exc
    return module


def _workflows(module: ModuleType) -> dict[str, Workflow]:
    found = {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, Workflow) and not name.startswith("_")
    }
    if found:
        return found
    classes = {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, type)
        and issubclass(value, Workflow)
        and value is not Workflow
        and value.__module__ == module.__name__
    }
    return {name: cls() for name, cls in classes.items()}


def load_server(
    target: str, make_store: Callable[[], AbstractWorkflowStore], **options: Any
) -> WorkflowServer:
    """The server ``target`` names; one built on ``make_store()`` when the file has none."""
    path, _, name = target.partition(":") if not target.endswith(".py") else (target, "", "")
    if ":" in target and not name:
        raise ServeTargetError(f"{target!r} ends with ':'; name a server or workflow after it")
    module = import_file(path)
    if name:
        if not hasattr(module, name):
            raise ServeTargetError(f"{path} has no attribute {name!r}")
        value = getattr(module, name)
        if isinstance(value, WorkflowServer):
            return value
        if isinstance(value, type) and issubclass(value, Workflow):
            value = value()
        if not isinstance(value, Workflow):
            raise ServeTargetError(
                f"{path}:{name} is a {type(value).__name__}, not a WorkflowServer or a Workflow"
            )
        workflows = {name: value}
    else:
        for value in vars(module).values():
            if isinstance(value, WorkflowServer):
                return value
        workflows = _workflows(module)
        if not workflows:
            raise ServeTargetError(f"{path} defines no WorkflowServer and no Workflow")
    server = WorkflowServer(workflow_store=make_store(), **options)
    for workflow_name, workflow in workflows.items():
        server.add_workflow(workflow_name, workflow)
    return server
