//! `roomkey serve`, started for a test: the `roomkey` binary of this build on a free loopback
//! port, with its stderr (the banner, the audit lines) kept for the test to read. Dropping it
//! stops the server; when the test is failing, its stderr is printed.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use crate::paths::roomkey_binary;

/// How long `roomkey serve` may take to say where it listens.
const LISTENING_WITHIN: Duration = Duration::from_secs(30);

/// Settings a developer's environment may carry that would change what the server does; a test
/// passes the ones it wants explicitly.
const CLEARED_ENV: &[&str] = &[
    "ROOMKEY_LISTEN",
    "LIVEKIT_URL",
    "LIVEKIT_API_KEY",
    "LIVEKIT_API_SECRET",
    "ROOMKEY_LOG_FORMAT",
    "RUST_LOG",
];

/// A running `roomkey serve`. Dropping it stops it.
#[derive(Debug)]
pub struct RoomkeyServe {
    child: Child,
    base: String,
    log: Arc<Mutex<String>>,
}

impl RoomkeyServe {
    /// Starts `roomkey serve ARGS --listen 127.0.0.1:0` with `env` and none of the other
    /// [`CLEARED_ENV`] settings, and waits until it says where it listens (a loopback address).
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> RoomkeyServe {
        let binary = roomkey_binary();
        let mut cmd = Command::new(&binary);
        cmd.arg("serve")
            .args(args)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for var in CLEARED_ENV {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Some(addr) = line.split("listening on ").nth(1) {
                    let _ = tx.send(addr.trim().to_owned());
                }
                let mut log = sink.lock().expect("log lock");
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut serve = RoomkeyServe {
            child,
            base: String::new(),
            log,
        };
        match rx.recv_timeout(LISTENING_WITHIN) {
            Ok(base) => serve.base = base,
            Err(_) => panic!(
                "roomkey serve {args:?} did not say where it listens within {LISTENING_WITHIN:?}; \
                 its stderr:\n{}",
                serve.log()
            ),
        }
        assert!(
            serve.base.starts_with("http://127.0.0.1:"),
            "roomkey serve {args:?} listens on loopback: {}",
            serve.base
        );
        serve
    }

    /// `http://127.0.0.1:PORT`, where it listens.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The URL of `path` (`/api/token`) on it.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything it has written to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Waits (10 s at most) until its stderr has a line containing every one of `parts`, and
    /// returns that line.
    pub fn wait_for_log_line(&self, parts: &[&str]) -> String {
        crate::process::wait_for_line("roomkey serve", || self.log(), parts)
    }
}

impl Drop for RoomkeyServe {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- roomkey serve ({}) stderr ---\n{}---",
                self.base,
                self.log()
            );
        }
    }
}
