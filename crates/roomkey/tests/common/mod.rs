//! What the process-level tests share: running `roomkey`, a development server, and a
//! minimal HTTP/1.1 client (no client library: the exchange is on loopback and tiny).
// Each test binary uses its own part of this module.
#![allow(dead_code)]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub fn roomkey() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_roomkey"));
    cmd.env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Stderr, line by line, as it comes.
pub fn stderr_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// A minimal HTTP/1.1 exchange: (status, head, body).
pub fn http(addr: SocketAddr, request: &str) -> (u16, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_owned(), body.to_owned())
}

pub fn post_json(addr: SocketAddr, path: &str, body: &str) -> (u16, String, String) {
    http(
        addr,
        &format!(
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
}

pub fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("roomkey serve did not stop within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts `roomkey serve --dev` on a free port with JSON logs; returns it with its stderr,
/// the lines up to the banner's address, and that address.
pub fn start_dev_server() -> (Running, mpsc::Receiver<String>, Vec<String>, SocketAddr) {
    let mut command = roomkey();
    command
        .args(["serve", "--dev", "--listen", "127.0.0.1:0"])
        .env("ROOMKEY_LOG_FORMAT", "json");
    start_server(command)
}

/// Starts a `roomkey serve` command; returns it with its stderr, the lines up to the banner's
/// address, and that address.
pub fn start_server(
    mut command: Command,
) -> (Running, mpsc::Receiver<String>, Vec<String>, SocketAddr) {
    let mut child = command.spawn().unwrap();
    let lines = stderr_lines(&mut child);
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr: SocketAddr = loop {
        let line = lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|_| {
                let _ = child.kill();
                panic!("no banner: {seen:#?}")
            });
        seen.push(line.clone());
        if let Some(addr) = line.strip_prefix("roomkey: listening on http://") {
            break addr.parse().unwrap();
        }
    };
    (Running(child), lines, seen, addr)
}

/// A server process that is killed when this is dropped, so that a failing test (a panic
/// before its own stop) leaves nothing running.
pub struct Running(pub Child);

impl std::ops::Deref for Running {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Running {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Already stopped (the test's own stop) is the usual case; both calls are then no-ops.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
