#!/usr/bin/env bash
# Builds and installs what roomkey's interop tests run against, pinned:
#   - interop/.deps/go/bin/server  (the real LiveKit server, livekit-server v1.13.5, built from
#                                   its Go module with CGO_ENABLED=0)
#   - interop/.deps/go/bin/roomkey-go-ref  (the Go reference helper, interop/go, on
#                                   github.com/livekit/protocol at the version v1.13.5 pins; also
#                                   its webhook receiver, `roomkey-go-ref webhook-receive`)
#   - interop/node_modules  (npm ci from package-lock.json: livekit-server-sdk 2.19.2, livekit-client 2.23.0)
#   - interop/.venv         (Python venv with requirements.txt: livekit-api 1.2.2, the realtime SDK
#                            livekit 1.2.1, and their dependencies)
#   - interop/.venv-agents  (Python venv with agents/requirements.txt: livekit-agents 1.8.9, no
#                            plugins, for the agent worker interop/agents/worker.py)
# Idempotent: a stamp (hash of the lock file) skips work that is already done.
# Go's module and build caches stay under interop/.deps/go too, so a second run is instant.
# Needs Go >= 1.26 (with the module proxy), Node >= 20 with npm, and Python >= 3.9 with pip.
# Set PYTHON to choose the interpreter.
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

# ---- Go: the real LiveKit server and the Go reference helper ------------------
livekit_server_version="v1.13.5"   # later tags (v1.13.6..v1.13.11) carry `replace` lines: not installable
command -v go >/dev/null 2>&1 \
    || die "go not found on PATH: install Go 1.26 or newer (https://go.dev/doc/install, or Debian's golang-go if it is 1.26+); the tests build the real LiveKit server with it"
go_version="$(go env GOVERSION)"
go_minor="$(printf '%s' "$go_version" | sed -E 's/^go1\.([0-9]+).*/\1/')"
[[ "$go_minor" =~ ^[0-9]+$ && "$go_minor" -ge 26 ]] \
    || die "$go_version is too old: livekit-server $livekit_server_version needs Go 1.26 or newer"
go_root="$here/.deps/go"
mkdir -p "$go_root/bin"
go_env=(env GOPATH="$go_root" GOBIN="$go_root/bin" GOMODCACHE="$go_root/mod" GOCACHE="$go_root/cache"
        GOFLAGS=-modcacherw CGO_ENABLED=0 GOTOOLCHAIN=local)

server_stamp="$go_root/bin/.server-stamp"
server_want="livekit-server $livekit_server_version $go_version"
if [[ -x "$go_root/bin/server" && -f "$server_stamp" && "$(cat "$server_stamp")" == "$server_want" ]]; then
    log "livekit-server $livekit_server_version is built; skipping go install"
else
    log "building livekit-server $livekit_server_version with $go_version (a few minutes the first time)"
    "${go_env[@]}" go install "github.com/livekit/livekit-server/cmd/server@$livekit_server_version" 1>&2
    printf '%s' "$server_want" > "$server_stamp"
    log "built $go_root/bin/server"
fi

if [[ -f go/go.mod ]]; then
    ref_stamp="$go_root/bin/.roomkey-go-ref-stamp"
    ref_want="$(cat go/go.mod go/go.sum go/*.go | hash_of /dev/stdin) $go_version"
    if [[ -x "$go_root/bin/roomkey-go-ref" && -f "$ref_stamp" && "$(cat "$ref_stamp")" == "$ref_want" ]]; then
        log "the Go reference helper is built; skipping"
    else
        log "building the Go reference helper (interop/go)"
        (cd go && "${go_env[@]}" go build -mod=readonly -o "$go_root/bin/roomkey-go-ref" . 1>&2)
        printf '%s' "$ref_want" > "$ref_stamp"
    fi
fi

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

# ---- Python: the SDKs (livekit-api, the realtime livekit) and the agent worker ----
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
    for candidate in python3 python; do
        if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
    done
fi
[[ -n "$python" ]] || die "python3 not found on PATH (Python 3.9 or newer is needed)"
"$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
    || die "$("$python" --version 2>&1) is too old; Python 3.9 or newer is needed"

# make_venv DIR REQUIREMENTS: makes the virtualenv DIR (with $python) and installs the pinned
# REQUIREMENTS into it, unless its stamp (the hash of REQUIREMENTS and the Python version) says
# that is already done.
make_venv() {
    local venv="$1" requirements="$2"
    local venv_py="$venv/bin/python"
    local stamp="$venv/.roomkey-setup-stamp"
    local want
    want="$(hash_of "$requirements") $("$python" --version 2>&1)"
    if [[ -x "$venv_py" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
        log "$venv is up to date ($("$venv_py" --version 2>&1)); skipping pip install"
        return
    fi
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
    local -a pip
    if "$venv_py" -m pip --version >/dev/null 2>&1; then
        pip=("$venv_py" -m pip)
    else
        log "the virtualenv has no pip; using $python's pip with --python"
        pip=("$python" -m pip --python "$venv_py")
    fi
    log "installing $requirements into $venv"
    "${pip[@]}" install --disable-pip-version-check --no-input --quiet -r "$requirements" 1>&2
    printf '%s' "$want" > "$stamp"
    log "$venv installed"
}

venv_py=".venv/bin/python"
make_venv .venv requirements.txt

# The agent worker's venv, of its own: livekit-agents 1.8.9 pins livekit==1.1.21, older than the
# realtime SDK above.
agents_py=".venv-agents/bin/python"
make_venv .venv-agents agents/requirements.txt

log "ready: $(node -p 'require("./node_modules/livekit-server-sdk/package.json").version' 2>/dev/null | sed 's/^/livekit-server-sdk /'), $("$venv_py" -c 'from importlib.metadata import version; print("livekit-api", version("livekit-api"))'), $("$agents_py" -c 'from importlib.metadata import version; print("livekit-agents", version("livekit-agents"))')"
