# Shared by scripts/demo and scripts/test (sourced, not run): make .venv exist and hold an
# up-to-date editable install of reflow.
#
#   ensure_venv base   # reflow and its runtime dependencies
#   ensure_venv dev    # ... plus the [dev] extra (pytest, ruff, mypy, ...)
#
# The venv is built with the newest python3 >= 3.10 on PATH. A stamp file per extra records the
# hash of pyproject.toml it was installed from, so a second call does nothing unless
# pyproject.toml changed. Set REFLOW_PYTHON to force an interpreter.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$REPO_ROOT/.venv"
VENV_PY="$VENV/bin/python"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Prints "MAJORMINOR" (e.g. 3012) for an interpreter that runs and is >= 3.10; fails otherwise.
python_rank() {
  "$1" -c 'import sys; v = sys.version_info; sys.exit(1) if v < (3, 10) else print(v[0] * 1000 + v[1])' \
    2>/dev/null
}

find_python() {
  if [[ -n "${REFLOW_PYTHON:-}" ]]; then
    python_rank "$REFLOW_PYTHON" >/dev/null || die "REFLOW_PYTHON=$REFLOW_PYTHON is not a working Python >= 3.10"
    echo "$REFLOW_PYTHON"
    return
  fi
  local best="" best_rank=0 candidate rank minor
  local candidates=()
  for minor in $(seq 30 -1 10); do candidates+=("python3.$minor"); done
  candidates+=(python3 python)
  for candidate in "${candidates[@]}"; do
    command -v "$candidate" >/dev/null 2>&1 || continue
    # Version managers leave shims for versions that are not active; running them fails here.
    rank="$(python_rank "$candidate")" || continue
    if (( rank > best_rank )); then
      best="$candidate"
      best_rank=$rank
    fi
  done
  [[ -n "$best" ]] || die "no Python >= 3.10 found on PATH (tried python3.30 ... python3.10, python3, python)"
  echo "$best"
}

pyproject_hash() {
  "$VENV_PY" -c 'import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], "rb").read()).hexdigest())' \
    "$REPO_ROOT/pyproject.toml"
}

create_venv() {
  local python
  python="$(find_python)"
  say "Creating .venv with $python ($("$python" -c 'import sys; print(sys.version.split()[0])'))"
  rm -rf "$VENV"
  if ! "$python" -m venv "$VENV" 2>/dev/null; then
    # Debian and Ubuntu ship venv without ensurepip unless python3-venv is installed.
    rm -rf "$VENV"
    "$python" -m venv --without-pip "$VENV" \
      || die "$python cannot create virtual environments (on Debian/Ubuntu: apt install python3-venv)"
    if "$python" -m pip --version >/dev/null 2>&1; then
      "$python" -m pip --python "$VENV_PY" install --quiet pip \
        || die "could not install pip into .venv"
    else
      die "$python has neither ensurepip nor pip (on Debian/Ubuntu: apt install python3-venv)"
    fi
  fi
}

ensure_venv() {
  local extra="$1" spec
  case "$extra" in
    base) spec="." ;;
    dev) spec=".[dev]" ;;
    *) die "ensure_venv: unknown extra '$extra'" ;;
  esac
  if [[ ! -x "$VENV_PY" ]] || ! python_rank "$VENV_PY" >/dev/null; then
    create_venv
  fi
  local hash stamp
  hash="$(pyproject_hash)"
  stamp="$VENV/.reflow-installed-$extra"
  # A dev install includes everything a base install has.
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$hash" ]] \
    || [[ "$extra" == base && -f "$VENV/.reflow-installed-dev" && "$(cat "$VENV/.reflow-installed-dev")" == "$hash" ]]; then
    return
  fi
  say "Installing reflow ($spec) into .venv"
  (cd "$REPO_ROOT" && "$VENV_PY" -m pip install --quiet --disable-pip-version-check -e "$spec") \
    || die "pip install -e '$spec' failed"
  rm -f "$VENV"/.reflow-installed-*
  echo "$hash" > "$stamp"
  if [[ "$extra" == dev ]]; then
    echo "$hash" > "$VENV/.reflow-installed-base"
  fi
}
