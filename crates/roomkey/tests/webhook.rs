//! `roomkey webhook verify|listen|send` as a user runs them: output, exit codes, and what the
//! listener answers.

mod common;

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener};
use std::process::Stdio;

use common::{http, roomkey};
use roomkey_token::webhook::sign_webhook_at;
use roomkey_token::{AccessToken, ApiSecret, KeyPair};
use serde_json::Value;

const KEY: &str = "APIhooks";
const SECRET: &str = "hooks-secret-0123456789abcdefghijklmno";
const NOW: i64 = 1_800_000_000;
const BODY: &str = r#"{"event":"room_started","room":{"sid":"RM_a","name":"standup"},"id":"EV_one","createdAt":"1800000000"}"#;

fn pair(key: &str, secret: &str) -> KeyPair {
    KeyPair::new(key, &ApiSecret::new(secret)).unwrap()
}

/// `roomkey webhook verify --json --now NOW --auth AUTH` with BODY on stdin.
fn verify(body: &str, auth: &str, now: i64) -> (i32, Value, String) {
    let now = now.to_string();
    let mut child = roomkey()
        .args(["webhook", "verify", "--json", "--now", &now, "--auth", auth])
        .env("LIVEKIT_API_KEY", KEY)
        .env("LIVEKIT_API_SECRET", SECRET)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn verify_prints_the_event_or_exits_1_with_the_reason() {
    let good = sign_webhook_at(BODY.as_bytes(), &pair(KEY, SECRET), NOW).unwrap();
    let (code, json, stderr) = verify(BODY, &good, NOW + 5);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json["valid"], true);
    assert_eq!(json["event"], "room_started");
    assert_eq!(json["id"], "EV_one");
    assert_eq!(json["room"], "standup");
    assert_eq!(json["created_at"], 1_800_000_000);

    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(BODY).unwrap()).unwrap();
    let other_secret = sign_webhook_at(
        BODY.as_bytes(),
        &pair(KEY, "other-secret-0123456789abcdefghijklmno"),
        NOW,
    )
    .unwrap();
    let other_key = sign_webhook_at(BODY.as_bytes(), &pair("APIother", SECRET), NOW).unwrap();
    let no_digest = AccessToken::new().sign_at(&pair(KEY, SECRET), NOW).unwrap();
    let cases = [
        (
            "a byte changed",
            BODY.replace("standup", "standuq"),
            good.clone(),
            NOW,
            "body_mismatch",
        ),
        ("re-serialised", pretty, good.clone(), NOW, "body_mismatch"),
        (
            "another secret",
            BODY.to_owned(),
            other_secret,
            NOW,
            "bad_token",
        ),
        (
            "another key",
            BODY.to_owned(),
            other_key,
            NOW,
            "unknown_key",
        ),
        ("expired", BODY.to_owned(), good, NOW + 361, "bad_token"),
        ("no sha256", BODY.to_owned(), no_digest, NOW, "no_sha256"),
        (
            "empty header",
            BODY.to_owned(),
            String::new(),
            NOW,
            "missing_auth",
        ),
        (
            "not a JWT",
            BODY.to_owned(),
            "let-me-in".to_owned(),
            NOW,
            "bad_token",
        ),
    ];
    for (case, body, auth, now, want) in cases {
        let (code, json, stderr) = verify(&body, &auth, now);
        assert_eq!(code, 1, "{case}: {stderr}");
        assert_eq!(json["valid"], false, "{case}");
        assert_eq!(json["code"], want, "{case}: {json}");
        assert!(
            stderr.contains(&format!("invalid webhook ({want})")),
            "{case}: {stderr}"
        );
    }
    // The header given by mistake as the Node SDK's "Authorize" constant is caught by the hint.
    let (_, _, stderr) = verify(BODY, "", NOW);
    assert!(
        stderr.contains("not the Node SDK's \"Authorize\""),
        "{stderr}"
    );
}

/// A one-shot app on loopback that answers every request with `status`.
fn app(status: u16) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut len = 0;
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if line == "\r\n" {
                    break;
                }
                line.clear();
            }
            let mut body = vec![0; len];
            let _ = std::io::Read::read_exact(&mut reader, &mut body);
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope"
            );
        }
    });
    addr
}

#[test]
fn send_exits_0_on_2xx_1_on_other_answers_and_2_on_usage() {
    let send = |url: &str, event: &str| {
        roomkey()
            .args(["webhook", "send", "--url", url, "--event", event])
            .env("LIVEKIT_API_KEY", KEY)
            .env("LIVEKIT_API_SECRET", SECRET)
            .output()
            .unwrap()
    };
    let ok = send(&format!("http://{}/hook", app(200)), "room_started");
    assert_eq!(ok.status.code(), Some(0), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("-> 200"));
    let refused = send(&format!("http://{}/hook", app(500)), "participant_joined");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("the app answered 500"));
    let unknown = send("http://127.0.0.1:9/hook", "room_exploded");
    assert_eq!(unknown.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("use one of room_started"));
    let bad_url = send("localhost:3000/hook", "room_started");
    assert_eq!(bad_url.status.code(), Some(2));
}

#[test]
fn listen_answers_401_with_the_reason_and_marks_a_retried_delivery() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut child = roomkey()
        .args(["webhook", "listen", "--json", "--listen", &listen])
        .env("LIVEKIT_API_KEY", KEY)
        .env("LIVEKIT_API_SECRET", SECRET)
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut banner = String::new();
    stderr.read_line(&mut banner).unwrap();
    assert!(banner.contains(&format!("http://{listen}")), "{banner}");
    let addr: SocketAddr = listen.parse().unwrap();
    let auth = sign_webhook_at(
        BODY.as_bytes(),
        &pair(KEY, SECRET),
        roomkey_token::unix_now(),
    )
    .unwrap();
    let post = |auth: Option<&str>| {
        let auth_line = auth.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        http(
            addr,
            &format!(
                "POST /livekit HTTP/1.1\r\nHost: x\r\nContent-Type: application/webhook+json\r\n{auth_line}Content-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
                BODY.len()
            ),
        )
    };
    let (status, _, body) = post(Some(&auth));
    assert_eq!(status, 200, "{body}");
    let (status, _, _) = post(Some(&auth));
    assert_eq!(status, 200, "a retried delivery is still answered 200");
    let (status, _, body) = post(None);
    assert_eq!(status, 401);
    assert!(body.contains("no Authorization header"), "{body}");
    child.kill().unwrap();
    let out = child.wait_with_output().unwrap();
    let lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        (&lines[0]["valid"], &lines[0]["duplicate"]),
        (&Value::Bool(true), &Value::Bool(false))
    );
    assert_eq!(lines[1]["duplicate"], true);
    assert_eq!(lines[2]["code"], "missing_auth");
}
