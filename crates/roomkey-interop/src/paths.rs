//! Where the pinned tools live. Each lookup panics with the command that installs the missing
//! piece: the interop tests fail loudly when a tool is missing, they never skip.

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repository root")
}

/// `interop/`: the scripts, specs and installed SDKs.
pub fn interop_dir() -> PathBuf {
    repo_root().join("interop")
}

/// `interop/.deps/`: what `interop/setup.sh` builds and installs (ignored by git).
pub fn deps_dir() -> PathBuf {
    interop_dir().join(".deps")
}

/// A folder under `target/` for files the tests write (server configs and logs).
pub fn scratch_dir(what: &str) -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"))
        .join("roomkey-interop")
        .join(what);
    std::fs::create_dir_all(&dir)
        .unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
    dir
}

/// What to run when something `interop/setup.sh` installs is missing.
pub fn setup_hint() -> String {
    format!(
        "run `bash interop/setup.sh` (in {}) first: it builds the LiveKit server and the Go \
         helper and installs the pinned SDKs under interop/",
        repo_root().display()
    )
}

/// Panics with [`setup_hint`] unless `path` is a file.
pub fn require_file(path: PathBuf, what: &str) -> PathBuf {
    assert!(
        path.is_file(),
        "{what} is not installed ({} is missing); {}",
        path.display(),
        setup_hint()
    );
    path
}

/// The real LiveKit server, `livekit-server` v1.13.5 built from its Go module.
pub fn livekit_server_binary() -> PathBuf {
    require_file(deps_dir().join("go/bin/server"), "the LiveKit server")
}

/// The Go reference helper (`interop/go`, on `github.com/livekit/protocol`).
pub fn go_helper_binary() -> PathBuf {
    require_file(
        deps_dir().join("go/bin/roomkey-go-ref"),
        "the Go reference helper",
    )
}

/// Python of `interop/.venv` (livekit-api and the realtime SDK `livekit`).
pub fn python_program() -> PathBuf {
    require_file(interop_dir().join(".venv/bin/python"), "the Python venv")
}

/// Python of `interop/.venv-agents` (livekit-agents 1.8.9, which pins an older realtime `livekit`
/// than [`python_program`]'s venv, so it has one of its own), for `interop/agents/worker.py`.
pub fn agents_python_program() -> PathBuf {
    require_file(
        interop_dir().join(".venv-agents/bin/python"),
        "the agent worker's Python venv (livekit-agents)",
    )
}

/// `node`, after checking that `interop/node_modules` is installed.
pub fn node_program() -> PathBuf {
    require_file(
        interop_dir().join("node_modules/livekit-server-sdk/package.json"),
        "the Node SDK",
    );
    PathBuf::from(std::env::var_os("NODE").unwrap_or_else(|| "node".into()))
}

/// The `roomkey` binary of this build (`target/<profile>/roomkey`, next to the test's own
/// `deps/` folder). `cargo test --workspace` builds it; a lone `-p roomkey-interop` run does not.
pub fn roomkey_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/<profile>/deps");
    let binary = profile_dir.join(format!("roomkey{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{} is missing: build it first with `cargo build -p roomkey` (scripts/test runs \
         `cargo test --workspace`, which builds it)",
        binary.display()
    );
    binary
}
