#!/usr/bin/env bash
# Installs the pinned official LiveKit SDKs that roomkey's interop tests run against:
#   - interop/node_modules  (npm ci from package-lock.json: livekit-server-sdk 2.19.2, livekit-client 2.23.0)
#   - interop/.venv         (Python venv with requirements.txt: livekit-api 1.2.2 and its dependencies)
# Idempotent: a stamp (hash of the lock file) skips work that is already done.
# Needs Node >= 20 with npm, and Python >= 3.9 with pip. Set PYTHON to choose the interpreter.
# Everything it says goes to stderr.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

log() { printf 'interop/setup.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

hash_of() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    else
        shasum -a 256 "$1" | cut -d' ' -f1
    fi
}

# ---- Node -------------------------------------------------------------------
command -v node >/dev/null 2>&1 || die "node not found on PATH (Node 20 or newer is needed)"
command -v npm >/dev/null 2>&1 || die "npm not found on PATH"
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || die "Node $(node --version) is too old; Node 20 or newer is needed"

node_stamp="node_modules/.roomkey-setup-stamp"
node_want="$(hash_of package-lock.json) node-$(node --version)"
if [[ -f "$node_stamp" && "$(cat "$node_stamp")" == "$node_want" && -f node_modules/livekit-server-sdk/package.json ]]; then
    log "node_modules is up to date ($(node --version)); skipping npm ci"
else
    log "running npm ci in $here (Node $(node --version), npm $(npm --version))"
    npm ci --no-audit --no-fund --loglevel=error 1>&2
    printf '%s' "$node_want" > "$node_stamp"
    log "node_modules installed"
fi

# ---- Python -----------------------------------------------------------------
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
    done
fi
[[ -n "$python" ]] || die "python3 not found on PATH (Python 3.9 or newer is needed)"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
    || die "$("$python" --version 2>&1) is too old; Python 3.9 or newer is needed"

venv=".venv"
venv_py="$venv/bin/python"
py_stamp="$venv/.roomkey-setup-stamp"
py_want="$(hash_of requirements.txt) $("$python" --version 2>&1)"
if [[ -x "$venv_py" && -f "$py_stamp" && "$(cat "$py_stamp")" == "$py_want" ]]; then
    log "$venv is up to date ($("$venv_py" --version 2>&1)); skipping pip install"
else
    if [[ -x "$venv_py" ]] && "$venv_py" -c 'import sys' >/dev/null 2>&1; then
        log "reusing the virtualenv at $here/$venv"
    else
        rm -rf "$venv"
        log "creating a virtualenv at $here/$venv with $("$python" --version 2>&1)"
        if ! "$python" -m venv "$venv" 1>&2; then
            # Debian without python3-venv has no ensurepip: make a bare venv and install into it
            # with the system pip.
            log "python -m venv failed (no ensurepip?); retrying without pip"
            rm -rf "$venv"
            "$python" -m venv --without-pip "$venv" 1>&2
        fi
    fi
    if "$venv_py" -m pip --version >/dev/null 2>&1; then
        pip=("$venv_py" -m pip)
    else
        log "the virtualenv has no pip; using $python's pip with --python"
        pip=("$python" -m pip --python "$venv_py")
    fi
    log "installing requirements.txt into $venv"
    "${pip[@]}" install --disable-pip-version-check --no-input --quiet -r requirements.txt 1>&2
    printf '%s' "$py_want" > "$py_stamp"
    log "$venv installed"
fi

log "ready: $(node -p 'require("./node_modules/livekit-server-sdk/package.json").version' 2>/dev/null | sed 's/^/livekit-server-sdk /'), $("$venv_py" -c 'from importlib.metadata import version; print("livekit-api", version("livekit-api"))')"
