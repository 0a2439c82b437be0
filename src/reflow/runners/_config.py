"""``Runners``: the settings commands of a workflow run with (env, secrets, artifacts, logs)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from reflow.runners._secrets import Secrets

if TYPE_CHECKING:
    from reflow.runners._manifest import PluginRegistry

DEFAULT_ARTIFACTS = ".reflow/artifacts"
LogFormat = Literal["json", "kv"]

# What ``Runners.context`` builds: ``StepContext``, which names itself here when ``_context`` is
# imported.  StepContext sits above Runners (it runs commands, and commands read Runners), so
# Runners does not import it; the package's ``__init__`` imports ``_context``, and no code can
# reach this module without that ``__init__`` having run first.
_make_step_context: Callable[[Runners], Any] | None = None


def register_step_context(make: Callable[[Runners], Any]) -> None:
    global _make_step_context
    _make_step_context = make


def _journal_dir(runtime: Any) -> Path | None:
    path = getattr(runtime, "path", None)
    if isinstance(path, (str, os.PathLike)) and os.fspath(path) not in ("", ":memory:"):
        return Path(os.fspath(path)).resolve().parent
    return None


class Runners:
    """Workflow-wide settings for shell steps, plugins and the step context.

    - ``env``: the workflow's environment layer (process < workflow < step < secrets);
    - ``secrets``: a :class:`Secrets` (default: names looked up in the process environment);
    - ``artifacts_root``: where artifacts live; by default ``artifacts/`` next to the journal
      of ``runtime`` (or of the runtime registering when ``Runners`` is built), else
      ``.reflow/artifacts`` under the current directory;
    - ``log_format``: ``"json"`` or ``"kv"``; ``logger_name``; ``publish_logs`` and
      ``publish_output`` decide whether log records and output lines go to the run's stream;
    - ``shell``: the shell for string commands (default ``$SHELL``, else bash, else sh);
    - ``plugins``: a :class:`PluginRegistry` for ``run_plugin``; ``sandbox``: the backend
      (``"auto"``, ``"bwrap"``, ``"landlock"`` or ``"none"``) and ``strict``.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, object] | None = None,
        secrets: Secrets | None = None,
        artifacts_root: str | os.PathLike[str] | None = None,
        runtime: Any = None,
        log_format: LogFormat = "json",
        logger_name: str = "reflow.runners.step",
        publish_logs: bool = True,
        publish_output: bool = True,
        shell: str | None = None,
        plugins: PluginRegistry | None = None,
        sandbox: str = "auto",
        strict: bool = False,
    ) -> None:
        if log_format not in ("json", "kv"):
            raise ValueError(f"log_format must be 'json' or 'kv', got {log_format!r}")
        if sandbox not in ("auto", "bwrap", "landlock", "none"):
            raise ValueError(
                f"sandbox must be 'auto', 'bwrap', 'landlock' or 'none', got {sandbox!r}"
            )
        self.env = dict(env or {})
        self.secrets = secrets if secrets is not None else Secrets()
        if artifacts_root is None:
            if runtime is None:
                from reflow.plugins import get_current_runtime

                runtime = get_current_runtime()
            journal = _journal_dir(runtime)
            artifacts_root = journal / "artifacts" if journal else Path(DEFAULT_ARTIFACTS)
        self.artifacts_root = Path(artifacts_root).resolve()
        self.log_format: LogFormat = log_format
        self.logger_name = logger_name
        self.publish_logs = publish_logs
        self.publish_output = publish_output
        self.shell = shell
        self.plugins = plugins
        self.sandbox = sandbox
        self.strict = strict
        self.context = self._context_factory()
        """The step context; use as ``Annotated[StepContext, Resource(runners.context)]``."""

    def _context_factory(self) -> Callable[[], Any]:
        def context() -> Any:
            assert _make_step_context is not None, "reflow.runners._context is not imported"
            return _make_step_context(self)

        # Resources are cached by qualified name: each Runners needs a name of its own.
        context.__qualname__ = f"Runners.context#{id(self):x}"
        context.__doc__ = "This Runners' step context (``Resource(runners.context)``)."
        return context


_default: Runners | None = None


def default_runners() -> Runners:
    """The settings used when none are given: process env, secrets from the environment."""
    global _default
    if _default is None:
        _default = Runners()
    return _default
