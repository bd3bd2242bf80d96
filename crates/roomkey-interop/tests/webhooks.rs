//! Webhooks from the real LiveKit server (v1.13.5), received by `roomkey webhook listen` and
//! passed on to a test app: every event of a participant's life verifies, the app receives the
//! server's bytes unchanged, and `roomkey webhook send` makes up events with the fields the
//! server fills.

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use roomkey_interop::cli::roomkey;
use roomkey_interop::livekit::{API_KEY, LiveKitOptions, LiveKitServer, free_tcp_port};
use roomkey_interop::paths::roomkey_binary;
use roomkey_interop::process::{drive_participants, step};
use roomkey_token::webhook::{WebhookOptions, verify_webhook};
use roomkey_token::{AccessToken, KeySet, VideoGrant};
use serde_json::{Value, json};

/// The events of one participant who joins, publishes, leaves, and a room that is deleted.
const LIFE: [&str; 5] = [
    "room_started",
    "participant_joined",
    "track_published",
    "participant_left",
    "room_finished",
];

/// One request the test app received: its headers (names lower-cased) and raw body.
#[derive(Debug, Clone)]
struct Received {
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A tiny HTTP/1.1 app that records every request and answers 202.
struct TestApp {
    port: u16,
    received: Arc<Mutex<Vec<Received>>>,
}

impl TestApp {
    fn start() -> TestApp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the test app");
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                if let Some(request) = read_request(stream) {
                    store.lock().unwrap().push(request);
                }
            }
        });
        TestApp { port, received }
    }

    fn requests(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

/// Reads one request (headers, then `Content-Length` bytes), answers 202 and closes.
fn read_request(mut stream: TcpStream) -> Option<Received> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut headers = Vec::new();
    let mut line = String::new();
    reader.read_line(&mut line).ok()?; // the request line
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let len: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let _ = stream
        .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    Some(Received { headers, body })
}

/// `roomkey webhook listen --json`, its stdout lines collected; stopped on drop.
struct Listen {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Listen {
    fn start(server: &LiveKitServer, port: u16, forward: &str) -> Listen {
        let (key, secret) = server.key();
        let listen = format!("127.0.0.1:{port}");
        let mut child = Command::new(roomkey_binary())
            .args([
                "webhook",
                "listen",
                "--json",
                "--listen",
                &listen,
                "--forward",
                forward,
            ])
            .env_clear()
            .env("LIVEKIT_API_KEY", key)
            .env("LIVEKIT_API_SECRET", secret)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start roomkey webhook listen");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let store = Arc::clone(&lines);
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                store.lock().unwrap().push(line);
            }
        });
        // Ready when it says so on stderr.
        let stderr = child.stderr.take().unwrap();
        let mut first = String::new();
        BufReader::new(stderr).read_line(&mut first).unwrap();
        assert!(first.contains("receiving LiveKit webhooks on"), "{first}");
        Listen { child, lines }
    }

    fn reports(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }
}

impl Drop for Listen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(what: &str, within: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The keys of an object, for comparing the shape of two events.
fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn a_participants_life_arrives_verified_and_unchanged_and_send_matches_its_shape() {
    let app = TestApp::start();
    let port = free_tcp_port();
    let server = LiveKitServer::start_with(LiveKitOptions {
        webhook: Some((
            API_KEY.to_owned(),
            vec![format!("http://127.0.0.1:{port}/livekit/webhook")],
        )),
        label: "webhooks".to_owned(),
        ..LiveKitOptions::default()
    });
    let forward = format!("http://127.0.0.1:{}/app/webhook", app.port);
    let listen = Listen::start(&server, port, &forward);

    let room = "webhook-life";
    let token = AccessToken::new()
        .with_identity("alice")
        .with_video(VideoGrant::join(room))
        .with_ttl(Duration::from_secs(600))
        .sign(&server.key_pair())
        .unwrap();
    let report = drive_participants(
        &server.ws_url(),
        json!({
            "deadline": 60,
            "participants": {"alice": {"token": token}},
            "steps": [
                {"op": "connect", "who": "alice", "id": "connect"},
                {"op": "publish", "who": "alice", "kind": "audio", "source": "microphone", "id": "mic"},
                {"op": "sleep", "seconds": 1},
                {"op": "disconnect", "who": "alice", "id": "bye"},
            ]
        }),
    );
    assert_eq!(step(&report, "connect")["ok"], true, "{report:#}");
    assert_eq!(step(&report, "mic")["ok"], true, "{report:#}");
    roomkey(&server, &["room", "delete", room]).expect_code(0);

    let names = |reports: &[Value]| -> BTreeSet<String> {
        reports
            .iter()
            .filter_map(|r| r["event"].as_str().map(str::to_owned))
            .collect()
    };
    wait_for("the five events of a life", Duration::from_secs(30), || {
        let seen = names(&listen.reports());
        LIFE.iter().all(|e| seen.contains(*e))
    });
    wait_for("the app to receive them", Duration::from_secs(10), || {
        app.requests().len() >= listen.reports().len()
    });

    // The listener verified every one, passed it on, and saw no duplicate.
    let reports = listen.reports();
    for r in &reports {
        assert_eq!(r["valid"], true, "{r:#}");
        assert_eq!(r["forwarded"]["status"], 202, "{r:#}");
        assert_eq!(r["duplicate"], false, "{r:#}");
        assert_eq!(r["room"], room, "{r:#}");
    }
    for r in reports.iter().filter(|r| {
        r["event"]
            .as_str()
            .is_some_and(|e| e.starts_with("participant_") || e.starts_with("track_"))
    }) {
        assert_eq!(r["participant"], "alice", "{r:#}");
    }

    // The app got the server's bytes: each verifies with the library, and is what the listener
    // reported.
    let keys_of_server = KeySet::single(server.key_pair());
    let mut real = std::collections::BTreeMap::new();
    for request in app.requests() {
        assert_eq!(
            request.header("content-type"),
            Some("application/webhook+json"),
            "{request:?}"
        );
        let event = verify_webhook(
            &request.body,
            request.header("authorization"),
            &keys_of_server,
            WebhookOptions::default(),
        )
        .unwrap_or_else(|e| panic!("the forwarded request does not verify: {e}"));
        assert!(
            reports.iter().any(|r| r["id"] == event.id.as_str()),
            "{}",
            event.id
        );
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        real.insert(event.event.as_str().to_owned(), body);
    }
    let scratch = roomkey_interop::paths::scratch_dir("webhooks");
    std::fs::write(
        scratch.join("real-events.json"),
        serde_json::to_vec_pretty(&real).unwrap(),
    )
    .unwrap();

    // `webhook send` makes up each of these events with the server's field names: nothing it
    // writes is something the server would not.
    for (name, real_body) in &real {
        let sent = TestApp::start();
        let url = format!("http://127.0.0.1:{}/hook", sent.port);
        roomkey(
            &server,
            &[
                "webhook",
                "send",
                "--url",
                &url,
                "--event",
                name,
                "--room",
                room,
                "--identity",
                "alice",
            ],
        )
        .expect_code(0);
        wait_for("the sent event", Duration::from_secs(5), || {
            !sent.requests().is_empty()
        });
        let made_up: Value = serde_json::from_slice(&sent.requests()[0].body).unwrap();
        for part in ["", "room", "participant", "track"] {
            let (ours, theirs) = if part.is_empty() {
                (keys(&made_up), keys(real_body))
            } else {
                (keys(&made_up[part]), keys(&real_body[part]))
            };
            let invented: Vec<&String> = ours.difference(&theirs).collect();
            assert!(
                invented.is_empty(),
                "{name}: `webhook send` writes {part:?} fields the server does not: {invented:?} \
                 (the server's: {theirs:?})"
            );
            if !theirs.is_empty() {
                assert!(!ours.is_empty(), "{name}: `webhook send` lacks {part:?}");
            }
        }
    }
}
