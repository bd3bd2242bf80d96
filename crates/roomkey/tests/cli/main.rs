//! Runs the `roomkey` binary and checks stdout, stderr and the exit code, one module per command.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000;
const KEY: &str = "APIcli";
const SECRET: &str = "cli-secret-0123456789abcdefghijklmnopqrstuvwxyz";

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roomkey"));
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn roomkey");
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).unwrap();
    }
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Environment variables for a run.
type Env<'a> = &'a [(&'a str, &'a str)];

const CREDS: Env<'static> = &[("LIVEKIT_API_KEY", KEY), ("LIVEKIT_API_SECRET", SECRET)];

/// Mints with fixed time and credentials from the environment; returns the `--json` object.
fn mint_json(extra: &[&str]) -> Value {
    let mut args = vec!["token", "create", "--json", "--now", "1700000000"];
    args.extend_from_slice(extra);
    let r = run(&args, CREDS, None);
    assert_eq!(r.code, 0, "stderr: {}", r.stderr);
    serde_json::from_str(&r.stdout).unwrap()
}

fn claims(extra: &[&str]) -> Value {
    mint_json(extra)["claims"].clone()
}

/// Mints like [`mint_json`] and returns the token alone.
fn mint_token(extra: &[&str]) -> String {
    mint_json(extra)["token"].as_str().unwrap().to_owned()
}

/// `roomkey token create ARGS` with these environment variables.
fn create(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["token", "create"];
    all.extend_from_slice(args);
    run(&all, env, None)
}

/// `roomkey token verify ARGS` with these environment variables.
fn verify(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["token", "verify"];
    all.extend_from_slice(args);
    run(&all, env, None)
}

/// `roomkey token verify --now NOW TOKEN`.
fn verify_at(now: &str, token: &str, env: &[(&str, &str)]) -> Run {
    verify(&["--now", now, token], env)
}

/// Asserts a usage or configuration error (exit 2) that prints no token and says `needle`.
#[track_caller]
fn assert_usage_error(case: &str, r: &Run, needle: &str) {
    assert_eq!(r.code, 2, "{case}: {}", r.stderr);
    assert!(r.stdout.is_empty(), "{case}: no token: {}", r.stdout);
    assert!(r.stderr.contains(needle), "{case}: {}", r.stderr);
}

/// A scratch directory, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn join(&self, name: &str) -> std::path::PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> TempDir {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("roomkey-cli-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    TempDir(dir)
}

/// A token with these claims, signed with the test pair by hand (no roomkey code), so that
/// claims roomkey would never mint can be put in front of `token verify`.
fn hand_signed(claims: &str) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signing_input = format!(
        "{}.{}",
        b64.encode(r#"{"alg":"HS256","typ":"JWT"}"#),
        b64.encode(claims)
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(signing_input.as_bytes());
    format!(
        "{signing_input}.{}",
        b64.encode(mac.finalize().into_bytes())
    )
}

mod create;
mod inspect;
mod verify;
