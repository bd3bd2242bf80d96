//! Runs of the `roomkey` binary as a user would run them, for the tests that check what it
//! prints and how it exits.

use std::process::{Command, Stdio};

use serde_json::Value;

use crate::LiveKitServer;
use crate::paths::roomkey_binary;

/// What a `roomkey` run printed.
#[derive(Debug)]
pub struct Run {
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics, showing the run, unless it exited with `code`.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(self.code, code, "exit code; the run: {self:#?}");
        self
    }

    /// Standard output as JSON; panics, showing the run, when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    /// Panics unless stderr holds every one of `needles`.
    pub fn says(&self, needles: &[&str]) -> &Run {
        for needle in needles {
            assert!(
                self.stderr.contains(needle),
                "stderr lacks {needle:?}; the run: {self:#?}"
            );
        }
        self
    }
}

/// `roomkey ARGS` with only the given environment (no inherited LIVEKIT_* settings).
pub fn roomkey_env(env: &[(&str, &str)], args: &[&str]) -> Run {
    let out = Command::new(roomkey_binary())
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("run roomkey");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("UTF-8 stderr"),
    }
}

/// `roomkey ARGS` with LIVEKIT_URL, LIVEKIT_API_KEY and LIVEKIT_API_SECRET for `server`.
pub fn roomkey(server: &LiveKitServer, args: &[&str]) -> Run {
    let url = server.url();
    let (key, secret) = server.key();
    roomkey_env(
        &[
            ("LIVEKIT_URL", &url),
            ("LIVEKIT_API_KEY", key),
            ("LIVEKIT_API_SECRET", secret),
        ],
        args,
    )
}
