//! An official LiveKit webhook receiver, started for a test: a small HTTP server on 127.0.0.1
//! that hands every POST's raw body and `Authorization` header to the SDK's own receiver and
//! records its verdict.
//!
//! - Node: `interop/node/webhook-receive.mjs`, `WebhookReceiver` of `livekit-server-sdk` 2.19.2;
//! - Python: `interop/python/webhook_receive.py`, `livekit.api.WebhookReceiver(TokenVerifier)` of
//!   `livekit-api` 1.2.2;
//! - Go: `roomkey-go-ref webhook-receive`, `webhook.ReceiveWebhookEvent` (`webhook.Receive` and
//!   protocol's reading of the event) of `github.com/livekit/protocol` at the pinned version.
//!
//! All three take the port as argument (0: a free one) and the key pair from `LIVEKIT_API_KEY`
//! and `LIVEKIT_API_SECRET`; print `{"listening":"http://127.0.0.1:PORT"}`, then one JSON line
//! per request, written before they answer it: `{"ok","event","id","room","error"}`. They answer
//! 200 with the event's name, or 401 with the SDK's error message, and stop on EOF of stdin or
//! SIGTERM. [`WebhookReceiver::record`] reads the next line.
//!
//! Every wait is bounded. Dropping the receiver stops it (EOF of stdin, then a kill); when the
//! test is failing, its stderr is printed.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::paths::{go_helper_binary, interop_dir, node_program, python_program, require_file};

/// How long a receiver may take to say where it listens (Node and Python import their SDK
/// first; on a busy 2-core machine that takes seconds).
const LISTENING_WITHIN: Duration = Duration::from_secs(30);

/// How long a receiver may take to exit once its stdin is closed or it got SIGTERM.
const STOP_WITHIN: Duration = Duration::from_secs(10);

/// How long a record may take to show up after its request was answered.
pub const RECORD_WITHIN: Duration = Duration::from_secs(10);

/// Which official receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiverSdk {
    /// `livekit-server-sdk` 2.19.2.
    Node,
    /// `livekit-api` 1.2.2.
    Python,
    /// `github.com/livekit/protocol`, the version livekit-server v1.13.5 pins.
    Go,
}

impl ReceiverSdk {
    /// All three.
    pub const ALL: [ReceiverSdk; 3] = [ReceiverSdk::Node, ReceiverSdk::Python, ReceiverSdk::Go];

    /// A short name for messages.
    pub fn name(self) -> &'static str {
        match self {
            ReceiverSdk::Node => "node",
            ReceiverSdk::Python => "python",
            ReceiverSdk::Go => "go",
        }
    }

    /// The command that runs it, listening on a free port.
    fn command(self) -> Command {
        let mut cmd = match self {
            ReceiverSdk::Node => {
                let mut cmd = Command::new(node_program());
                cmd.arg(require_file(
                    interop_dir().join("node/webhook-receive.mjs"),
                    "the Node webhook receiver",
                ));
                cmd
            }
            ReceiverSdk::Python => {
                let mut cmd = Command::new(python_program());
                cmd.arg(require_file(
                    interop_dir().join("python/webhook_receive.py"),
                    "the Python webhook receiver",
                ))
                .env("PYTHONUNBUFFERED", "1");
                cmd
            }
            ReceiverSdk::Go => {
                let mut cmd = Command::new(go_helper_binary());
                cmd.arg("webhook-receive");
                cmd
            }
        };
        cmd.arg("0").current_dir(interop_dir());
        cmd
    }
}

/// A running receiver. Dropping it stops it.
#[derive(Debug)]
pub struct WebhookReceiver {
    sdk: ReceiverSdk,
    child: Child,
    // Closing it (EOF) is how the receiver is asked to stop.
    stdin: Option<ChildStdin>,
    url: String,
    records: mpsc::Receiver<Value>,
    stderr: Arc<Mutex<String>>,
    exited: Option<ExitStatus>,
}

impl WebhookReceiver {
    /// Starts the `sdk`'s receiver for the key pair `api_key`/`api_secret` and waits (bounded)
    /// until it says where it listens. Panics, with its stderr, when it exits or does not say
    /// so in time.
    pub fn start(sdk: ReceiverSdk, api_key: &str, api_secret: &str) -> WebhookReceiver {
        let mut cmd = sdk.command();
        cmd.env("LIVEKIT_API_KEY", api_key)
            // Through the environment, not the command line that `ps` shows.
            .env("LIVEKIT_API_SECRET", api_secret)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot start the {} webhook receiver: {e}; {}",
                sdk.name(),
                crate::paths::setup_hint()
            )
        });
        let stdin = child.stdin.take();
        let (tx, records) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // A line that is not JSON is passed on as a string, for the test to show.
                let value = serde_json::from_str(&line).unwrap_or(Value::String(line));
                if tx.send(value).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut pipe = child.stderr.take().expect("piped stderr");
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("stderr lock")
                    .push_str(&String::from_utf8_lossy(&chunk[..n]));
            }
        });
        let mut receiver = WebhookReceiver {
            sdk,
            child,
            stdin,
            url: String::new(),
            records,
            stderr,
            exited: None,
        };
        let first = receiver.next_line(LISTENING_WITHIN, "say where it listens");
        let url = first["listening"].as_str().unwrap_or_else(|| {
            panic!(
                "the {} webhook receiver's first line is not where it listens: {first}",
                sdk.name()
            )
        });
        assert!(
            url.starts_with("http://127.0.0.1:"),
            "the {} webhook receiver listens on loopback only: {url}",
            sdk.name()
        );
        receiver.url = url.to_owned();
        receiver
    }

    /// Which receiver it is.
    pub fn sdk(&self) -> ReceiverSdk {
        self.sdk
    }

    /// `http://127.0.0.1:PORT`, where it listens (any path is the webhook).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The record of the next request it received, waiting [`RECORD_WITHIN`] at most; panics,
    /// with its stderr, when none comes.
    pub fn record(&mut self) -> Value {
        self.next_line(RECORD_WITHIN, "record a request")
    }

    /// Panics unless it has no record left unread: each request makes exactly one.
    pub fn assert_no_more_records(&mut self) {
        if let Ok(extra) = self.records.try_recv() {
            panic!(
                "the {} webhook receiver recorded more than the test sent: {extra}",
                self.sdk.name()
            );
        }
    }

    fn next_line(&mut self, within: Duration, what: &str) -> Value {
        match self.records.recv_timeout(within) {
            Ok(value) => value,
            Err(e) => {
                let status = self.child.try_wait().ok().flatten();
                panic!(
                    "the {} webhook receiver did not {what} within {within:?} ({e}; exited: \
                     {status:?}); its stderr:\n{}",
                    self.sdk.name(),
                    self.stderr_text()
                )
            }
        }
    }

    /// Everything it has written to stderr so far.
    pub fn stderr_text(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Closes its stdin, as [`Drop`] does, and returns how it exited (killed after
    /// [`STOP_WITHIN`] if it had not).
    pub fn stop(&mut self) -> ExitStatus {
        drop(self.stdin.take());
        self.wait_or_kill()
    }

    /// Sends it SIGTERM and returns how it exited (killed after [`STOP_WITHIN`] if it had not).
    pub fn terminate(&mut self) -> ExitStatus {
        if self.exited.is_none() {
            // std has no SIGTERM and this crate has no unsafe code: procps' `kill` sends it.
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(self.child.id().to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        self.wait_or_kill()
    }

    fn wait_or_kill(&mut self) -> ExitStatus {
        if let Some(status) = self.exited {
            return status;
        }
        let deadline = Instant::now() + STOP_WITHIN;
        let status = loop {
            match self.child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => {
                    let _ = self.child.kill();
                    break self.child.wait().expect("wait for the killed receiver");
                }
            }
        };
        self.exited = Some(status);
        status
    }
}

impl Drop for WebhookReceiver {
    fn drop(&mut self) {
        let status = self.stop();
        if std::thread::panicking() {
            eprintln!(
                "--- {} webhook receiver ({}, {status}) stderr ---\n{}---",
                self.sdk.name(),
                self.url,
                self.stderr_text()
            );
        }
    }
}
