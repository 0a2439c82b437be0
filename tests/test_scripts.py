"""The shell side of the README's two commands: picking Python and keeping .venv up to date.

These source ``scripts/_venv.sh`` in bash with fake interpreters, so nothing is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_LIB = ROOT / "scripts" / "_venv.sh"


def fake_python(path: Path, version: tuple[int, int] | None) -> None:
    """An executable answering the version probe; ``None`` behaves like a broken pyenv shim."""
    if version is None:
        body = 'echo "pyenv: version not installed" >&2\nexit 127\n'
    else:
        major, minor = version
        rank = major * 1000 + minor
        body = f"if (( {major} == 3 && {minor} < 10 )); then exit 1; fi\necho {rank}\n"
    path.write_text("#!/usr/bin/env bash\n" + body)
    path.chmod(0o755)


def bash(script: str, cwd: Path, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ}
    env.pop("REFLOW_PYTHON", None)
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def only_fakes_path(bin_dir: Path) -> str:
    # Keep bash's own tools (seq, cat, ...) but no real python: link just what the scripts use.
    tools = bin_dir.parent / "tools"
    tools.mkdir(exist_ok=True)
    for tool in ("seq", "cat", "dirname", "rm", "env", "bash"):
        found = shutil.which(tool)
        assert found is not None
        link = tools / tool
        if not link.exists():
            link.symlink_to(found)
    return f"{bin_dir}:{tools}"


def test_find_python_picks_the_newest_working_interpreter(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_python(bin_dir / "python3.13", None)  # a shim for a version that is not installed
    fake_python(bin_dir / "python3.12", (3, 12))
    fake_python(bin_dir / "python3.10", (3, 10))
    fake_python(bin_dir / "python3", (3, 9))
    result = bash(f"source {VENV_LIB}; find_python", tmp_path, only_fakes_path(bin_dir))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "python3.12"


def test_find_python_fails_clearly_without_python_3_10(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_python(bin_dir / "python3", (3, 9))
    result = bash(f"source {VENV_LIB}; find_python", tmp_path, only_fakes_path(bin_dir))
    assert result.returncode == 1
    assert "no Python >= 3.10 found on PATH" in result.stderr


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A fake checkout whose .venv python logs pip calls instead of installing anything."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(VENV_LIB, tmp_path / "scripts" / "_venv.sh")
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    python = venv_bin / "python"
    python.write_text(
        "#!/usr/bin/env bash\n"
        'if [[ "$1" == "-m" && "$2" == "pip" ]]; then echo "$*" >> "$(dirname "$0")/pip.log"; '
        "exit 0; fi\n"
        f'exec {sys.executable} "$@"\n'
    )
    python.chmod(0o755)
    return tmp_path


def pip_calls(repo: Path) -> list[str]:
    log = repo / ".venv" / "bin" / "pip.log"
    return log.read_text().splitlines() if log.exists() else []


def ensure(repo: Path, extra: str) -> None:
    result = bash(f"source scripts/_venv.sh; ensure_venv {extra}", repo)
    assert result.returncode == 0, result.stderr


def test_ensure_venv_installs_once_until_pyproject_changes(repo: Path) -> None:
    ensure(repo, "dev")
    assert len(pip_calls(repo)) == 1
    assert pip_calls(repo)[0].endswith("-e .[dev]")
    ensure(repo, "dev")
    ensure(repo, "base")  # a dev install already covers the base one
    assert len(pip_calls(repo)) == 1
    (repo / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "2"\n')
    ensure(repo, "dev")
    assert len(pip_calls(repo)) == 2


def test_a_base_install_does_not_satisfy_dev(repo: Path) -> None:
    ensure(repo, "base")
    ensure(repo, "base")
    assert [call.rsplit(" ", 1)[-1] for call in pip_calls(repo)] == ["."]
    ensure(repo, "dev")
    assert [call.rsplit(" ", 1)[-1] for call in pip_calls(repo)] == [".", ".[dev]"]


@pytest.fixture
def checkout(repo: Path) -> Path:
    """``repo`` plus scripts/test, with ruff, mypy and pytest stubbed by exit codes from env."""
    shutil.copy(ROOT / "scripts" / "test", repo / "scripts" / "test")
    venv_bin = repo / ".venv" / "bin"
    for tool in ("ruff", "mypy"):
        stub = venv_bin / tool
        stub.write_text(f'#!/usr/bin/env bash\nexit "${{FAKE_{tool.upper()}_STATUS:-0}}"\n')
        stub.chmod(0o755)
    python = venv_bin / "python"
    python.write_text(
        python.read_text().replace(
            "exec ",
            'if [[ "$1" == "-m" && "$2" == "pytest" ]]; then exit "${FAKE_PYTEST_STATUS:-0}"; fi\n'
            "exec ",
        )
    )
    return repo


def run_checks(checkout: Path, **statuses: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env.update({f"FAKE_{tool.upper()}_STATUS": str(code) for tool, code in statuses.items()})
    return subprocess.run(
        ["bash", "scripts/test"], cwd=checkout, env=env, capture_output=True, text=True, check=False
    )


def test_scripts_test_passes_when_every_check_passes(checkout: Path) -> None:
    result = run_checks(checkout)
    assert result.returncode == 0, result.stderr
    assert "All checks passed." in result.stderr


def test_scripts_test_treats_no_collected_tests_as_failure(checkout: Path) -> None:
    result = run_checks(checkout, pytest=5)
    assert result.returncode == 1
    assert "pytest collected no tests" in result.stderr


def test_scripts_test_runs_every_check_and_lists_the_failures(checkout: Path) -> None:
    result = run_checks(checkout, ruff=1, mypy=2)
    assert result.returncode == 1
    assert "==> mypy" in result.stderr
    assert "==> pytest -n 2" in result.stderr
    failures = result.stderr.split("FAILED:", 1)[1]
    assert "ruff check (exit 1)" in failures
    assert "ruff format --check (exit 1)" in failures
    assert "mypy src/reflow (exit 2)" in failures
    assert "pytest" not in failures
