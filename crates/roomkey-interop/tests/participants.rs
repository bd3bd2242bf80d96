//! roomkey's grants as the real server enforces them, on real participants: the PyPI realtime
//! SDK `livekit` (its Rust core, `liblivekit_ffi.so`) joins `livekit-server` v1.13.5 with tokens
//! minted by roomkey, publishes generated audio and video, sends data and watches the others
//! (driver: `interop/python/participant.py`, one JSON script on stdin, one JSON report out).
//!
//! Every negative case has a control that must succeed in the same room at the same time, so a
//! test cannot pass because nothing worked at all. Each test starts a server of its own (inside
//! `interop/netns`), so the tests run in parallel.
//!
//! What the real server and SDK do, measured here:
//! - updates about other participants go out in batches every 3 s (`subscriberUpdateInterval`
//!   in the server's `pkg/rtc/room.go`): an observer sees a newcomer up to ~3 s after it joined,
//!   so the waits for "never seen" last past two batches after the control was seen;
//! - a publish refused by the grants is answered NOT_ALLOWED by the server, which the SDK's core
//!   does not handle: `publish_track` raises `PublishTrackError("… track publication timed out,
//!   no response received from the server")` only after its own timeout (10 s);
//! - a refused token's `ConnectError` carries `/rtc/validate`'s status and body
//!   (`… 401 Unauthorized - invalid token: …, error: token has invalid claims: token is expired`);
//! - data from a participant without the data permission is dropped without an error to it.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use roomkey_interop::LiveKitServer;
use roomkey_interop::paths::{
    interop_dir, python_program, roomkey_binary, scratch_dir, setup_hint,
};
use roomkey_token::{AccessToken, ApiSecret, KeyPair, TrackSource, VideoGrant, unix_now};
use serde_json::{Value, json};

/// Longest a driver run may take, whatever its script says.
const DRIVER_LIMIT: Duration = Duration::from_secs(120);
/// How long a "never happens" wait lasts after its control happened: past two of the server's
/// 3 s update batches.
const NEVER_WAIT: f64 = 7.0;

fn key(server: &LiveKitServer) -> KeyPair {
    let (k, s) = server.key();
    KeyPair::new(k, &ApiSecret::new(s)).expect("key pair")
}

/// A join token for `identity` in `room`, with `grant` adjusted by `adjust`.
fn token(
    server: &LiveKitServer,
    identity: &str,
    room: &str,
    adjust: impl FnOnce(&mut VideoGrant),
) -> String {
    let mut grant = VideoGrant::join(room);
    adjust(&mut grant);
    AccessToken::new()
        .with_identity(identity)
        .with_video(grant)
        .with_ttl(Duration::from_secs(600))
        .sign(&key(server))
        .expect("roomkey mints the token")
}

fn plain(server: &LiveKitServer, identity: &str, room: &str) -> String {
    token(server, identity, room, |_| {})
}

/// Runs the Python driver on `script` (with the server's URL filled in) and returns its report.
fn drive(server: &LiveKitServer, mut script: Value) -> Value {
    script["url"] = json!(server.ws_url());
    let python = python_program();
    let driver = interop_dir().join("python/participant.py");
    assert!(
        driver.is_file(),
        "{} is missing; {}",
        driver.display(),
        setup_hint()
    );
    let mut child = Command::new(&python)
        .arg(&driver)
        .current_dir(interop_dir())
        .env("PYTHONUNBUFFERED", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}; {}", python.display(), setup_hint()));
    let body = serde_json::to_vec(&script).expect("script serializes");
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).map(|_| buf)
    });
    let deadline = Instant::now() + DRIVER_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the driver") {
            break Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    writer
        .join()
        .expect("writer thread")
        .expect("write the script to the driver");
    let out = out_reader
        .join()
        .expect("stdout thread")
        .unwrap_or_default();
    let err = err_reader
        .join()
        .expect("stderr thread")
        .unwrap_or_default();
    let err = String::from_utf8_lossy(&err);
    let status =
        status.unwrap_or_else(|| panic!("participant.py ran past {DRIVER_LIMIT:?}:\n{err}"));
    assert!(
        status.success(),
        "participant.py failed ({status}):\n{err}\n{}",
        setup_hint()
    );
    let report: Value = serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "participant.py printed no JSON ({e}):\n{}\n{err}",
            String::from_utf8_lossy(&out)
        )
    });
    eprintln!("participant.py report: {report:#}");
    assert_eq!(
        report["timed_out"], false,
        "the script ran past its deadline: {report:#}"
    );
    report
}

/// The result of the step with `id`, searching inside `parallel` steps too.
fn step<'a>(report: &'a Value, id: &str) -> &'a Value {
    fn find<'a>(results: &'a Value, id: &str) -> Option<&'a Value> {
        results.as_array()?.iter().find_map(|r| {
            if r["id"] == id {
                Some(r)
            } else {
                find(&r["results"], id)
            }
        })
    }
    find(&report["results"], id).unwrap_or_else(|| panic!("no step {id:?} in {report:#}"))
}

fn connected(report: &Value, id: &str) {
    let r = step(report, id);
    assert_eq!(r["ok"], true, "{id} did not connect: {r:#}\n{report:#}");
}

fn events<'a>(report: &'a Value, who: &str, event: &str) -> Vec<&'a Value> {
    report["events"][who]
        .as_array()
        .map(|all| all.iter().filter(|e| e["event"] == event).collect())
        .unwrap_or_default()
}

#[test]
fn an_observer_sees_identity_name_metadata_and_attributes_as_minted_and_hears_the_audio() {
    let server = LiveKitServer::start();
    let room = "join-room";
    let metadata = r#"{"role":"speaker","note":"grüße, 日本"}"#;
    let alice = AccessToken::new()
        .with_identity("alice@example")
        .with_name("Alice Ä. Example")
        .with_metadata(metadata)
        .with_attribute("team", "blue")
        .with_attribute("seat", "12")
        .with_attribute("empty", "")
        .with_video(VideoGrant::join(room))
        .with_ttl(Duration::from_secs(600))
        .sign(&key(&server))
        .expect("mint");
    let report = drive(
        &server,
        json!({
            "deadline": 60,
            "participants": {
                "observer": {"token": plain(&server, "observer", room)},
                "alice": {"token": alice},
            },
            "steps": [
                {"op": "connect", "who": "observer", "id": "observer"},
                {"op": "connect", "who": "alice", "id": "alice"},
                {"op": "publish", "who": "alice", "kind": "audio", "source": "microphone", "id": "mic"},
                {"op": "wait_participant", "who": "observer", "identity": "alice@example", "id": "seen"},
                {"op": "wait_subscribed", "who": "observer", "from": "alice@example", "source": "microphone", "id": "sub"},
                {"op": "wait_audio", "who": "observer", "from": "alice@example", "frames": 25, "id": "audio"},
            ],
        }),
    );
    connected(&report, "observer");
    connected(&report, "alice");
    let me = step(&report, "alice");
    assert_eq!(me["room"], room);
    assert_eq!(me["identity"], "alice@example");
    assert_eq!(
        me["permission"],
        json!({"can_publish": true, "can_subscribe": true, "can_publish_data": true,
               "can_publish_sources": [], "hidden": false}),
        "unset permissions are the server's defaults"
    );
    let seen = step(&report, "seen");
    assert_eq!(seen["seen"], true, "{report:#}");
    let info = &seen["info"];
    assert_eq!(info["identity"], "alice@example");
    assert_eq!(info["name"], "Alice Ä. Example");
    assert_eq!(info["metadata"], metadata);
    assert_eq!(
        info["attributes"],
        json!({"team": "blue", "seat": "12", "empty": ""})
    );
    assert_eq!(info["kind"], "PARTICIPANT_KIND_STANDARD");
    assert_eq!(step(&report, "mic")["ok"], true, "{report:#}");
    assert_eq!(step(&report, "sub")["subscribed"], true, "{report:#}");
    let audio = step(&report, "audio");
    assert!(
        audio["nonzero_frames"].as_u64().unwrap_or(0) >= 25,
        "the generated tone reaches the observer over WebRTC: {audio:#}"
    );
}

#[test]
fn can_publish_false_refuses_a_track_while_the_control_publishes() {
    let server = LiveKitServer::start();
    let room = "no-publish";
    let report = drive(
        &server,
        json!({
            "deadline": 90,
            "participants": {
                "observer": {"token": plain(&server, "observer", room)},
                "viewer": {"token": token(&server, "viewer", room, |g| g.can_publish = Some(false))},
                "control": {"token": plain(&server, "control", room)},
            },
            "steps": [
                {"op": "connect", "who": "observer", "id": "observer"},
                {"op": "connect", "who": "viewer", "id": "viewer"},
                {"op": "connect", "who": "control", "id": "control"},
                {"op": "parallel", "steps": [
                    {"op": "publish", "who": "viewer", "kind": "audio", "source": "microphone", "timeout": 30, "id": "refused"},
                    {"op": "publish", "who": "control", "kind": "audio", "source": "microphone", "id": "allowed"},
                ]},
                {"op": "wait_subscribed", "who": "observer", "from": "control", "id": "control-sub"},
                {"op": "wait_subscribed", "who": "observer", "from": "viewer", "timeout": 1, "id": "viewer-sub"},
                {"op": "snapshot", "who": "observer", "id": "snapshot"},
            ],
        }),
    );
    for who in ["observer", "viewer", "control"] {
        connected(&report, who);
    }
    assert_eq!(
        step(&report, "viewer")["permission"]["can_publish"],
        false,
        "the server hands the viewer canPublish=false"
    );
    let allowed = step(&report, "allowed");
    assert_eq!(allowed["ok"], true, "control publishes: {report:#}");
    let refused = step(&report, "refused");
    assert_eq!(
        refused["ok"], false,
        "canPublish=false publishes: {report:#}"
    );
    assert_eq!(
        refused["error_type"], "PublishTrackError",
        "the SDK raises its publish error: {refused:#}"
    );
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or("")
            .contains("track publication timed out"),
        "the SDK reports a timeout, not the server's NOT_ALLOWED: {refused:#}"
    );
    let waited = refused["elapsed"].as_f64().expect("elapsed");
    assert!(
        (8.0..20.0).contains(&waited),
        "the refusal surfaces only after the SDK's ~10 s timeout, here {waited} s: {refused:#}"
    );
    assert_eq!(step(&report, "control-sub")["subscribed"], true);
    assert_eq!(step(&report, "viewer-sub")["subscribed"], false);
    assert_eq!(
        step(&report, "snapshot")["remote"]["viewer"]["tracks"],
        json!([]),
        "the observer sees no track of the viewer"
    );
    let log = server.log_text();
    assert!(
        log.contains("no permission to publish track")
            && log.contains("\"participant\": \"viewer\""),
        "the server logs its refusal"
    );
}

#[test]
fn can_publish_sources_allows_the_microphone_and_refuses_the_camera() {
    let server = LiveKitServer::start();
    let room = "sources";
    let report = drive(
        &server,
        json!({
            "deadline": 90,
            "participants": {
                "observer": {"token": plain(&server, "observer", room)},
                "mic-only": {"token": token(&server, "mic-only", room,
                    |g| g.can_publish_sources = vec![TrackSource::Microphone])},
                "control": {"token": plain(&server, "control", room)},
            },
            "steps": [
                {"op": "connect", "who": "observer", "id": "observer"},
                {"op": "connect", "who": "mic-only", "id": "mic-only"},
                {"op": "connect", "who": "control", "id": "control"},
                {"op": "parallel", "steps": [
                    {"op": "publish", "who": "mic-only", "kind": "audio", "source": "microphone", "id": "mic"},
                    {"op": "publish", "who": "mic-only", "kind": "video", "source": "camera", "timeout": 30, "id": "camera"},
                    {"op": "publish", "who": "control", "kind": "video", "source": "camera", "id": "control-camera"},
                ]},
                {"op": "wait_subscribed", "who": "observer", "from": "mic-only", "source": "microphone", "id": "mic-sub"},
                {"op": "wait_subscribed", "who": "observer", "from": "control", "source": "camera", "id": "control-camera-sub"},
                {"op": "wait_subscribed", "who": "observer", "from": "mic-only", "source": "camera", "timeout": 1, "id": "camera-sub"},
                {"op": "snapshot", "who": "observer", "id": "snapshot"},
            ],
        }),
    );
    for who in ["observer", "mic-only", "control"] {
        connected(&report, who);
    }
    assert_eq!(
        step(&report, "mic-only")["permission"]["can_publish_sources"],
        json!(["microphone"])
    );
    assert_eq!(step(&report, "mic")["ok"], true, "{report:#}");
    assert_eq!(step(&report, "control-camera")["ok"], true, "{report:#}");
    let camera = step(&report, "camera");
    assert_eq!(
        camera["ok"], false,
        "camera outside the sources: {report:#}"
    );
    assert_eq!(camera["error_type"], "PublishTrackError", "{camera:#}");
    assert!(
        camera["error"]
            .as_str()
            .unwrap_or("")
            .contains("track publication timed out"),
        "{camera:#}"
    );
    let log = server.log_text();
    assert!(
        log.contains("no permission to publish track")
            && log.contains("\"participant\": \"mic-only\""),
        "the server logs its refusal"
    );
    assert_eq!(step(&report, "mic-sub")["subscribed"], true);
    assert_eq!(step(&report, "control-camera-sub")["subscribed"], true);
    assert_eq!(step(&report, "camera-sub")["subscribed"], false);
    let tracks = &step(&report, "snapshot")["remote"]["mic-only"]["tracks"];
    let sources: Vec<&str> = tracks
        .as_array()
        .expect("tracks")
        .iter()
        .map(|t| t["source"].as_str().expect("source"))
        .collect();
    assert_eq!(sources, ["microphone"], "{tracks:#}");
}

#[test]
fn can_publish_data_false_drops_the_data_while_the_controls_arrives() {
    let server = LiveKitServer::start();
    let room = "data";
    // `muted` has canPublishData=false; `viewer` has canPublish=false and canPublishData unset,
    // which the server reads as false too.
    let report = drive(
        &server,
        json!({
            "deadline": 60,
            "participants": {
                "observer": {"token": plain(&server, "observer", room)},
                "muted": {"token": token(&server, "muted", room, |g| g.can_publish_data = Some(false))},
                "viewer": {"token": token(&server, "viewer", room, |g| g.can_publish = Some(false))},
                "control": {"token": plain(&server, "control", room)},
            },
            "steps": [
                {"op": "connect", "who": "observer", "id": "observer"},
                {"op": "connect", "who": "muted", "id": "muted"},
                {"op": "connect", "who": "viewer", "id": "viewer"},
                {"op": "connect", "who": "control", "id": "control"},
                {"op": "wait_participant", "who": "observer", "identity": "control", "id": "seen"},
                {"op": "publish_data", "who": "muted", "payload": "from muted", "topic": "t", "id": "send-muted"},
                {"op": "publish_data", "who": "viewer", "payload": "from viewer", "topic": "t", "id": "send-viewer"},
                {"op": "publish_data", "who": "control", "payload": "from control", "topic": "t", "id": "send-control"},
                {"op": "wait_data", "who": "observer", "from": "control", "id": "got-control"},
                {"op": "parallel", "steps": [
                    {"op": "wait_data", "who": "observer", "from": "muted", "timeout": NEVER_WAIT, "id": "got-muted"},
                    {"op": "wait_data", "who": "observer", "from": "viewer", "timeout": NEVER_WAIT, "id": "got-viewer"},
                ]},
            ],
        }),
    );
    for who in ["observer", "muted", "viewer", "control"] {
        connected(&report, who);
    }
    assert_eq!(
        step(&report, "muted")["permission"]["can_publish_data"],
        false
    );
    assert_eq!(
        step(&report, "viewer")["permission"]["can_publish_data"],
        false,
        "an unset canPublishData follows canPublish=false"
    );
    for send in ["send-muted", "send-viewer", "send-control"] {
        assert_eq!(
            step(&report, send)["ok"],
            true,
            "the sender sees no error: {report:#}"
        );
    }
    let control = step(&report, "got-control");
    assert_eq!(
        control["received"], true,
        "control's data arrives: {report:#}"
    );
    assert_eq!(control["packets"][0]["payload"], "from control");
    assert_eq!(control["packets"][0]["topic"], "t");
    assert_eq!(step(&report, "got-muted")["received"], false, "{report:#}");
    assert_eq!(step(&report, "got-viewer")["received"], false, "{report:#}");
    assert_eq!(events(&report, "observer", "data_received").len(), 1);
}

#[test]
fn can_subscribe_false_never_subscribes_while_the_control_does() {
    let server = LiveKitServer::start();
    let room = "no-subscribe";
    let report = drive(
        &server,
        json!({
            "deadline": 60,
            "participants": {
                "speaker": {"token": plain(&server, "speaker", room)},
                "deaf": {"token": token(&server, "deaf", room, |g| g.can_subscribe = Some(false))},
                "control": {"token": plain(&server, "control", room)},
            },
            "steps": [
                {"op": "connect", "who": "speaker", "id": "speaker"},
                {"op": "connect", "who": "deaf", "id": "deaf"},
                {"op": "connect", "who": "control", "id": "control"},
                {"op": "publish", "who": "speaker", "kind": "audio", "source": "microphone", "id": "mic"},
                {"op": "wait_subscribed", "who": "control", "from": "speaker", "id": "control-sub"},
                {"op": "wait_audio", "who": "control", "from": "speaker", "frames": 10, "id": "control-audio"},
                {"op": "wait_subscribed", "who": "deaf", "from": "speaker", "timeout": NEVER_WAIT, "id": "deaf-sub"},
                {"op": "snapshot", "who": "deaf", "id": "deaf-view"},
            ],
        }),
    );
    for who in ["speaker", "deaf", "control"] {
        connected(&report, who);
    }
    assert_eq!(step(&report, "deaf")["permission"]["can_subscribe"], false);
    assert_eq!(step(&report, "mic")["ok"], true, "{report:#}");
    assert_eq!(
        step(&report, "control-sub")["subscribed"],
        true,
        "{report:#}"
    );
    assert!(
        step(&report, "control-audio")["nonzero_frames"]
            .as_u64()
            .unwrap_or(0)
            >= 10,
        "{report:#}"
    );
    assert_eq!(step(&report, "deaf-sub")["subscribed"], false, "{report:#}");
    assert!(
        events(&report, "deaf", "track_subscribed").is_empty(),
        "{report:#}"
    );
    // The deaf participant still sees the speaker and its track, unsubscribed.
    let view = &step(&report, "deaf-view")["remote"]["speaker"];
    assert_eq!(view["tracks"][0]["source"], "microphone", "{report:#}");
    assert_eq!(view["tracks"][0]["subscribed"], false, "{report:#}");
}

#[test]
fn a_hidden_participant_is_not_seen_while_the_control_is() {
    let server = LiveKitServer::start();
    let room = "hidden";
    let report = drive(
        &server,
        json!({
            "deadline": 60,
            "participants": {
                "observer": {"token": plain(&server, "observer", room)},
                "ghost": {"token": token(&server, "ghost", room, |g| g.hidden = true)},
                "control": {"token": plain(&server, "control", room)},
            },
            "steps": [
                {"op": "connect", "who": "observer", "id": "observer"},
                {"op": "connect", "who": "ghost", "id": "ghost"},
                {"op": "connect", "who": "control", "id": "control"},
                {"op": "wait_participant", "who": "observer", "identity": "control", "id": "control-seen"},
                {"op": "wait_participant", "who": "observer", "identity": "ghost", "timeout": NEVER_WAIT, "id": "ghost-seen"},
                {"op": "wait_participant", "who": "ghost", "identity": "observer", "id": "ghost-sees"},
                {"op": "snapshot", "who": "observer", "id": "observer-view"},
            ],
        }),
    );
    for who in ["observer", "ghost", "control"] {
        connected(&report, who);
    }
    assert_eq!(step(&report, "ghost")["permission"]["hidden"], true);
    assert_eq!(step(&report, "control-seen")["seen"], true, "{report:#}");
    assert_eq!(step(&report, "ghost-seen")["seen"], false, "{report:#}");
    assert_eq!(
        step(&report, "ghost-sees")["seen"],
        true,
        "the hidden one sees the others: {report:#}"
    );
    let view = step(&report, "observer-view")["remote"]
        .as_object()
        .expect("remote");
    assert_eq!(view.keys().collect::<Vec<_>>(), ["control"], "{report:#}");
    assert!(
        events(&report, "observer", "participant_connected")
            .iter()
            .all(|e| e["identity"] != "ghost"),
        "{report:#}"
    );
}

#[test]
fn a_token_for_room_a_joins_room_a_and_never_room_b() {
    let server = LiveKitServer::start();
    let report = drive(
        &server,
        json!({
            "deadline": 60,
            "participants": {
                "in-a": {"token": plain(&server, "observer-a", "room-a")},
                "in-b": {"token": plain(&server, "observer-b", "room-b")},
                "alice": {"token": plain(&server, "alice", "room-a")},
            },
            "steps": [
                {"op": "connect", "who": "in-a", "id": "in-a"},
                {"op": "connect", "who": "in-b", "id": "in-b"},
                {"op": "connect", "who": "alice", "id": "alice"},
                {"op": "wait_participant", "who": "in-a", "identity": "alice", "id": "seen-in-a"},
                {"op": "wait_participant", "who": "in-b", "identity": "alice", "timeout": NEVER_WAIT, "id": "seen-in-b"},
            ],
        }),
    );
    for who in ["in-a", "in-b", "alice"] {
        connected(&report, who);
    }
    assert_eq!(step(&report, "alice")["room"], "room-a");
    assert_eq!(step(&report, "in-b")["room"], "room-b");
    assert_eq!(step(&report, "seen-in-a")["seen"], true, "{report:#}");
    assert_eq!(step(&report, "seen-in-b")["seen"], false, "{report:#}");
}

#[test]
fn an_expired_token_is_refused_with_the_servers_reason() {
    let server = LiveKitServer::start();
    let room = "expiry";
    let key = key(&server);
    let minted = |now: i64| {
        AccessToken::new()
            .with_identity("late")
            .with_video(VideoGrant::join(room))
            .with_ttl(Duration::from_secs(60))
            .sign_at(&key, now)
            .expect("mint")
    };
    // Expired 10 minutes ago: far outside the server's 60 s leeway.
    let expired = minted(unix_now() - 660);
    let fresh = minted(unix_now());
    let (status, body) = server.validate(&expired);
    assert_eq!(status, 401, "{body}");
    assert!(body.contains("token is expired"), "{body}");
    let report = drive(
        &server,
        json!({
            "deadline": 60,
            "participants": {
                "expired": {"token": expired},
                "fresh": {"token": fresh},
            },
            "steps": [
                {"op": "connect", "who": "expired", "id": "expired"},
                {"op": "connect", "who": "fresh", "id": "fresh"},
            ],
        }),
    );
    connected(&report, "fresh");
    let refused = step(&report, "expired");
    assert_eq!(refused["ok"], false, "{report:#}");
    assert_eq!(refused["error_type"], "ConnectError", "{refused:#}");
    let message = refused["error"].as_str().expect("error text");
    assert!(
        message.contains("token is expired"),
        "the ConnectError carries /rtc/validate's answer: {message}"
    );
    assert!(message.contains("401"), "{message}");
}

/// `roomkey token create` with the secret in a file, as the CLI recommends.
fn cli_token(server: &LiveKitServer, args: &[&str]) -> String {
    let binary = roomkey_binary();
    let (api_key, secret) = server.key();
    let secret_file: PathBuf = scratch_dir("participants").join(format!(
        "secret-{}-{}",
        std::process::id(),
        server.ports().http
    ));
    std::fs::write(&secret_file, secret).expect("write the secret file");
    let out = Command::new(&binary)
        .args(["token", "create", "--api-key", api_key, "--api-secret-file"])
        .arg(&secret_file)
        .args(args)
        .env_remove("LIVEKIT_API_KEY")
        .env_remove("LIVEKIT_API_SECRET")
        .env_remove("LIVEKIT_KEYS")
        .env_remove("LIVEKIT_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", binary.display()));
    let _ = std::fs::remove_file(&secret_file);
    assert!(
        out.status.success(),
        "roomkey token create {args:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("the token is text")
        .trim()
        .to_owned()
}

#[test]
fn a_room_admin_token_from_the_cli_removes_a_participant_through_the_python_room_service() {
    let server = LiveKitServer::start();
    let room = "admin-room";
    let admin = cli_token(
        &server,
        &[
            "--join=false",
            "--room-admin",
            "--room",
            room,
            "--ttl",
            "10m",
        ],
    );
    // Control: the same grant for another room may not remove anyone here.
    let other = cli_token(
        &server,
        &[
            "--join=false",
            "--room-admin",
            "--room",
            "elsewhere",
            "--ttl",
            "10m",
        ],
    );
    let report = drive(
        &server,
        json!({
            "deadline": 60,
            "participants": {
                "observer": {"token": plain(&server, "observer", room)},
                "alice": {"token": plain(&server, "alice", room)},
            },
            "steps": [
                {"op": "connect", "who": "observer", "id": "observer"},
                {"op": "connect", "who": "alice", "id": "alice"},
                {"op": "wait_participant", "who": "observer", "identity": "alice", "id": "seen"},
                {"op": "remove_participant", "url": server.url(), "token": other,
                 "room": room, "identity": "alice", "id": "remove-other"},
                {"op": "snapshot", "who": "alice", "id": "still-there"},
                {"op": "remove_participant", "url": server.url(), "token": admin,
                 "room": room, "identity": "alice", "id": "remove"},
                {"op": "wait_disconnected", "who": "alice", "id": "gone"},
                {"op": "wait_gone", "who": "observer", "identity": "alice", "id": "observer-view"},
            ],
        }),
    );
    connected(&report, "observer");
    connected(&report, "alice");
    assert_eq!(step(&report, "seen")["seen"], true, "{report:#}");
    let refused = step(&report, "remove-other");
    assert_eq!(refused["ok"], false, "{report:#}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or("")
            .contains("permissions denied"),
        "{refused:#}"
    );
    assert_eq!(
        step(&report, "still-there")["connected"],
        true,
        "{report:#}"
    );
    assert_eq!(step(&report, "remove")["ok"], true, "{report:#}");
    let gone = step(&report, "gone");
    assert_eq!(gone["disconnected"], true, "{report:#}");
    assert_eq!(gone["reason"], "PARTICIPANT_REMOVED", "{gone:#}");
    assert_eq!(step(&report, "observer-view")["gone"], true, "{report:#}");
    let left = events(&report, "observer", "participant_disconnected");
    assert!(
        left.iter().any(|e| e["identity"] == "alice"),
        "the observer sees alice leave: {report:#}"
    );
}
