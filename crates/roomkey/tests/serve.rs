//! Runs `roomkey serve` as a process: the development banner, a token request over HTTP, JSON
//! logs with an audit line, SIGTERM, and configuration errors with file:line.

mod common;

use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Output};
use std::time::Duration;

use common::*;
use roomkey_token::{ApiSecret, KeyPair, KeySet, Verifier};
use serde_json::Value;

/// Sends `signal` (as `kill` spells it: `-TERM`) to the process.
fn send_signal(child: &Child, signal: &str) {
    let kill = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success(), "kill {signal}");
}

/// Environment variables for a run.
type Env<'a> = &'a [(&'a str, &'a str)];

/// `roomkey serve --config PATH` with these environment variables, run to its end.
fn serve_config(path: &Path, env: Env<'_>) -> Output {
    roomkey()
        .args(["serve", "--config"])
        .arg(path)
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

#[test]
fn sighup_and_sigint_stop_gracefully_too() {
    for signal in ["-HUP", "-INT"] {
        let (mut child, lines, _, addr) = start_dev_server();
        send_signal(&child, signal);
        let status = wait_exit(&mut child, Duration::from_secs(10));
        // Killed by the signal, the process would have no exit code.
        assert_eq!(status.code(), Some(0), "{signal}: {status:?}");
        let rest: Vec<String> = lines.iter().collect();
        assert!(
            rest.iter()
                .any(|l| l.contains("shutting down: finishing requests in flight")),
            "{signal}: {rest:#?}"
        );
        assert!(
            rest.iter().any(|l| l == "roomkey: stopped"),
            "{signal}: {rest:#?}"
        );
        assert!(TcpStream::connect(addr).is_err());
    }
}

#[test]
fn dev_server_issues_tokens_and_stops_on_sigterm() {
    let (mut child, lines, mut seen, addr) = start_dev_server();
    let banner = seen.join("\n");
    assert!(banner.contains("DEVELOPMENT MODE"), "{banner}");
    assert!(banner.contains("no caller authentication"), "{banner}");
    assert!(banner.contains("devkey"), "{banner}");
    assert!(addr.ip().is_loopback() && addr.port() != 0);

    // A token, without credentials (development mode), checked with roomkey's verifier.
    let (status, head, body) = post_json(
        addr,
        "/api/token",
        r#"{"room_name":"cli-room","participant_identity":"cli-user","room_config":{}}"#,
    );
    assert_eq!(status, 201, "{head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("cache-control: no-store"),
        "{head}"
    );
    let reply: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(reply["server_url"], "ws://localhost:7880");
    let jwt = reply["participant_token"].as_str().unwrap().to_owned();
    let dev = KeyPair::new("devkey", &ApiSecret::new("secret")).unwrap();
    let claims = Verifier::new(KeySet::single(dev))
        .verify(&jwt)
        .unwrap()
        .claims;
    assert_eq!(claims.sub, "cli-user");
    assert_eq!(claims.room(), "cli-room");

    let (status, _, body) = http(
        addr,
        &format!("GET /healthz HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"),
    );
    assert_eq!((status, body.trim()), (200, "ok"));

    // SIGTERM: a clean stop.
    send_signal(&child, "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "{status:?}");
    let rest: Vec<String> = lines.iter().collect();
    seen.extend(rest);
    let all = seen.join("\n");
    assert!(seen.iter().any(|l| l == "roomkey: stopped"), "{all}");
    // JSON logs, with one audit line for the one token, and never the token itself.
    let audit: Vec<Value> = seen
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "roomkey::audit")
        .collect();
    assert_eq!(audit.len(), 1, "{all}");
    assert_eq!(audit[0]["fields"]["identity"], "cli-user");
    assert_eq!(audit[0]["fields"]["room"], "cli-room");
    assert_eq!(audit[0]["fields"]["caller"], "dev");
    assert_eq!(audit[0]["fields"]["ttl_s"], 900);
    assert!(!all.contains(&jwt), "the token is in the logs");
    assert!(!all.contains(jwt.rsplit('.').next().unwrap()));
    // After the stop the port is closed.
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn serve_without_a_configuration_points_to_config_and_dev() {
    let out = roomkey().arg("serve").output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--config FILE") && stderr.contains("--dev"),
        "{stderr}"
    );
}

/// A configuration `roomkey serve` refuses, and what it says.
struct Broken<'a> {
    what: &'a str,
    file: &'a str,
    /// The file's text; `None`: the file does not exist.
    text: Option<&'a str>,
    env: Env<'a>,
    says: &'a [&'a str],
}

#[test]
fn broken_configuration_exits_2_with_file_and_line() {
    let dir = std::env::temp_dir().join(format!("roomkey-serve-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let credentials = [
        ("LIVEKIT_API_KEY", "APIx"),
        (
            "LIVEKIT_API_SECRET",
            "a-secret-of-at-least-32-characters-long",
        ),
    ];
    let cases = [
        Broken {
            what: "an unknown key on line 3",
            file: "broken.toml",
            text: Some(
                "livekit_url = \"wss://lk.test.invalid\"\napi_key = \"APIx\"\nlisten_addr = \"127.0.0.1:8080\"\n",
            ),
            env: &[],
            says: &["broken.toml:3:", "listen_addr"],
        },
        Broken {
            what: "a policy problem on line 6, with credentials from the environment",
            file: "broken.toml",
            text: Some(
                "livekit_url = \"wss://lk.test.invalid\"\n\n[profile.p]\nrooms = [\"*\"]\nidentity = \"generated\"\nttl = \"2h\"\nmax_ttl = \"1h\"\n",
            ),
            env: &credentials,
            says: &["broken.toml:6: ttl must be positive and at most max_ttl"],
        },
        Broken {
            what: "a file that does not exist",
            file: "missing.toml",
            text: None,
            env: &[],
            says: &["missing.toml: cannot read"],
        },
    ];
    for case in cases {
        let path = dir.join(case.file);
        if let Some(text) = case.text {
            std::fs::write(&path, text).unwrap();
        }
        let out = serve_config(&path, case.env);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", case.what);
        for needle in case.says {
            assert!(stderr.contains(needle), "{}: {stderr}", case.what);
        }
        assert!(out.stdout.is_empty(), "{}", case.what);
    }

    // Neither --config nor --dev: a usage error.
    let out = roomkey().args(["serve"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_flood_of_silent_connections_under_a_low_open_file_limit_leaves_it_answering() {
    let dir = std::env::temp_dir().join(format!("roomkey-flood-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("roomkey.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\nlivekit_url = \"wss://lk.test.invalid\"\napi_key = \"APIflood\"\n\n[connections]\nheader_read_timeout = \"2s\"\n",
    )
    .unwrap();
    // 128 file handles: without the limit fitted under it, 300 silent sockets would leave no
    // handle for anyone else, and accept() would fail until they time out.
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg("ulimit -n 128 && exec \"$0\" serve --config \"$1\"")
        .arg(env!("CARGO_BIN_EXE_roomkey"))
        .arg(&config)
        .env_clear()
        .env(
            "LIVEKIT_API_SECRET",
            "flood-secret-flood-secret-flood-secret",
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let (mut child, lines, _, addr) = start_server(command);
    let flood: Vec<TcpStream> = (0..300)
        .filter_map(|_| TcpStream::connect(addr).ok())
        .collect();
    assert!(
        flood.len() >= 200,
        "only {} connections opened",
        flood.len()
    );
    let mut answered = 0;
    for _ in 0..10 {
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        use std::io::{Read as _, Write as _};
        let _ = stream.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 200") {
            answered += 1;
        }
    }
    assert_eq!(answered, 10, "health checks answered during the flood");
    // The flood's connections are closed: evicted, or after the 2 s header timeout.
    std::thread::sleep(Duration::from_millis(3500));
    let still_open = flood
        .iter()
        .filter(|s| {
            use std::io::Read as _;
            let mut s = *s;
            s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
            let mut b = [0u8; 64];
            // Ok(0) or a reset: closed by the server; a timeout: still open.
            matches!(s.read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut)
        })
        .count();
    assert_eq!(still_open, 0, "connections of the flood still open");
    send_signal(&child, "-TERM");
    let status = wait_exit(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(0));
    let rest: Vec<String> = lines.iter().collect();
    for said in ["max_connections lowered to 64", "connection limit reached"] {
        assert!(rest.iter().any(|l| l.contains(said)), "{said}: {rest:#?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
