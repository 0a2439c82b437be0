"""Step runners: shell commands, sandboxed plugin commands, and a step context.

```python
from reflow.runners import run_shell

result = await run_shell("pytest -q", timeout=600)   # inside any step
```

See ``docs/runners.md``.
"""

from reflow.runners._artifacts import (
    ArtifactInfo,
    ArtifactPathError,
    ArtifactStore,
    prune_artifacts,
    run_artifacts,
)
from reflow.runners._config import Runners, default_runners
from reflow.runners._context import StepContext, current_step_context
from reflow.runners._errors import (
    CommandFailed,
    ErrorCode,
    InvalidCommand,
    ManifestError,
    MissingSecret,
    ResolutionError,
    RunnerError,
    SandboxError,
)
from reflow.runners._events import OutputLineEvent, StepLogEvent
from reflow.runners._exec import OutputLine
from reflow.runners._logger import StepLogger
from reflow.runners._manifest import (
    HandlerSpec,
    LoadedPlugin,
    Manifest,
    PluginRegistry,
    ResolvedCommand,
    load_manifest,
)
from reflow.runners._permissions import Permissions
from reflow.runners._result import CommandResult, ErrorInfo
from reflow.runners._sandbox_run import PluginRun, run_plugin
from reflow.runners._secrets import (
    EnvSecrets,
    FileSecrets,
    Masker,
    SecretProvider,
    Secrets,
    mask_secrets,
    secret_masker,
)
from reflow.runners._shell import run_shell
from reflow.runners._shell_step import ShellStepDone, shell_step

__all__ = [
    "ArtifactInfo",
    "ArtifactPathError",
    "ArtifactStore",
    "CommandFailed",
    "CommandResult",
    "EnvSecrets",
    "ErrorCode",
    "ErrorInfo",
    "FileSecrets",
    "HandlerSpec",
    "InvalidCommand",
    "LoadedPlugin",
    "Manifest",
    "ManifestError",
    "Masker",
    "MissingSecret",
    "OutputLine",
    "OutputLineEvent",
    "Permissions",
    "PluginRegistry",
    "PluginRun",
    "ResolutionError",
    "ResolvedCommand",
    "RunnerError",
    "Runners",
    "SandboxError",
    "SecretProvider",
    "Secrets",
    "ShellStepDone",
    "StepContext",
    "StepLogEvent",
    "StepLogger",
    "current_step_context",
    "default_runners",
    "load_manifest",
    "mask_secrets",
    "prune_artifacts",
    "run_artifacts",
    "run_plugin",
    "run_shell",
    "secret_masker",
    "shell_step",
]
