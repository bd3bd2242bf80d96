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

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use roomkey_interop::LiveKitServer;
use roomkey_interop::paths::{roomkey_binary, scratch_dir};
use roomkey_interop::process::{drive_participants, step};
use roomkey_token::{AccessToken, TrackSource, VideoGrant, unix_now};
use serde_json::{Value, json};

/// How long a "never happens" wait lasts after its control happened: past two of the server's
/// 3 s update batches.
const NEVER_WAIT: f64 = 7.0;

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
        .sign(&server.key_pair())
        .expect("roomkey mints the token")
}

fn plain(server: &LiveKitServer, identity: &str, room: &str) -> String {
    token(server, identity, room, |_| {})
}

/// A participant of a script: the name its steps call it by, and the token it connects with.
type Member = (&'static str, String);

/// How one member's join grant differs from the plain one.
type Adjust = fn(&mut VideoGrant);

/// The plain join grant, unchanged.
const PLAIN: Adjust = |_| {};

/// Members of `room`, each called by its identity, with their join grants adjusted as given.
fn members(server: &LiveKitServer, room: &str, who: &[(&'static str, Adjust)]) -> Vec<Member> {
    who.iter()
        .map(|&(identity, adjust)| (identity, token(server, identity, room, adjust)))
        .collect()
}

/// A driver script in which every member connects first, in the order given (each connect
/// step's id is the member's name), and then `steps` run.
fn script(deadline: u64, cast: &[Member], steps: Value) -> Value {
    let participants: serde_json::Map<String, Value> = cast
        .iter()
        .map(|(who, token)| ((*who).to_owned(), json!({ "token": token })))
        .collect();
    let connects = cast
        .iter()
        .map(|(who, _)| json!({"op": "connect", "who": who, "id": who}));
    let rest = steps
        .as_array()
        .expect("the steps are a list")
        .iter()
        .cloned();
    let steps: Vec<Value> = connects.chain(rest).collect();
    json!({"deadline": deadline, "participants": participants, "steps": steps})
}

/// Runs the Python driver on `script` (with the server's URL filled in) and returns its report.
fn drive(server: &LiveKitServer, script: Value) -> Value {
    drive_participants(&server.ws_url(), script)
}

fn connected(report: &Value, id: &str) {
    let r = step(report, id);
    assert_eq!(r["ok"], true, "{id} did not connect: {r:#}\n{report:#}");
}

/// Runs a [`script`] and asserts that every member connected: the controls must, and so must the
/// negative cases, whose grants only bite after the join.
fn drive_connected(server: &LiveKitServer, deadline: u64, cast: &[Member], steps: Value) -> Value {
    let report = drive(server, script(deadline, cast, steps));
    for (who, _) in cast {
        connected(&report, who);
    }
    report
}

/// Starts a server of the test's own and runs on it, in `room`, a script of [`members`] whose
/// connects all succeed ([`drive_connected`]). Returns the server and the report: kept until the
/// test's asserts are done, a server dropped while one fails prints its log.
fn run_in_room(
    room: &str,
    deadline: u64,
    who: &[(&'static str, Adjust)],
    steps: Value,
) -> (LiveKitServer, Value) {
    let server = LiveKitServer::start();
    let cast = members(&server, room, who);
    let report = drive_connected(&server, deadline, &cast, steps);
    (server, report)
}

/// Asserts each `(step id, JSON pointer into its result, expected value)`.
#[track_caller]
fn expect_steps(report: &Value, expected: &[(&str, &str, Value)]) {
    for (id, pointer, want) in expected {
        let got = step(report, id).pointer(pointer);
        assert_eq!(got, Some(want), "step {id}, {pointer}: {report:#}");
    }
}

/// Asserts that the `wait_audio` step `id` heard at least `frames` frames with sound: the
/// generated tone reached the listener over WebRTC.
#[track_caller]
fn assert_heard(report: &Value, id: &str, frames: u64) {
    let audio = step(report, id);
    assert!(
        audio["nonzero_frames"].as_u64().unwrap_or(0) >= frames,
        "{id}: fewer than {frames} frames with sound: {audio:#}"
    );
}

/// Asserts that the publish step `id` failed as a publish the grants refuse fails in the SDK:
/// with its own `PublishTrackError` timeout, since it does not handle the server's NOT_ALLOWED.
/// Returns the step's result.
#[track_caller]
fn assert_publish_timed_out<'a>(report: &'a Value, id: &str) -> &'a Value {
    let refused = step(report, id);
    assert_eq!(refused["ok"], false, "{id} published: {report:#}");
    assert_eq!(
        refused["error_type"], "PublishTrackError",
        "{id}: the SDK raises its publish error: {refused:#}"
    );
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or("")
            .contains("track publication timed out"),
        "{id}: the SDK reports a timeout, not the server's NOT_ALLOWED: {refused:#}"
    );
    refused
}

/// Asserts that the server logged its refusal of a track of participant `who`.
#[track_caller]
fn assert_server_refused_a_track_of(server: &LiveKitServer, who: &str) {
    let log = server.log_text();
    assert!(
        log.contains("no permission to publish track")
            && log.contains(&format!("\"participant\": \"{who}\"")),
        "the server logs its refusal of {who}'s track"
    );
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
        .sign(&server.key_pair())
        .expect("mint");
    let report = drive_connected(
        &server,
        60,
        &[
            ("observer", plain(&server, "observer", room)),
            ("alice", alice),
        ],
        json!([
            {"op": "publish", "who": "alice", "kind": "audio", "source": "microphone", "id": "mic"},
            {"op": "wait_participant", "who": "observer", "identity": "alice@example", "id": "seen"},
            {"op": "wait_subscribed", "who": "observer", "from": "alice@example", "source": "microphone", "id": "sub"},
            {"op": "wait_audio", "who": "observer", "from": "alice@example", "frames": 25, "id": "audio"},
        ]),
    );
    expect_steps(
        &report,
        &[
            ("alice", "/room", json!(room)),
            ("alice", "/identity", json!("alice@example")),
            // Unset permissions are the server's defaults.
            (
                "alice",
                "/permission",
                json!({"can_publish": true, "can_subscribe": true, "can_publish_data": true,
                       "can_publish_sources": [], "hidden": false}),
            ),
            ("seen", "/seen", json!(true)),
            ("seen", "/info/identity", json!("alice@example")),
            ("seen", "/info/name", json!("Alice Ä. Example")),
            ("seen", "/info/metadata", json!(metadata)),
            (
                "seen",
                "/info/attributes",
                json!({"team": "blue", "seat": "12", "empty": ""}),
            ),
            ("seen", "/info/kind", json!("PARTICIPANT_KIND_STANDARD")),
            ("mic", "/ok", json!(true)),
            ("sub", "/subscribed", json!(true)),
        ],
    );
    assert_heard(&report, "audio", 25);
}

#[test]
fn can_publish_false_refuses_a_track_while_the_control_publishes() {
    let (server, report) = run_in_room(
        "no-publish",
        90,
        &[
            ("observer", PLAIN),
            ("viewer", |g| g.can_publish = Some(false)),
            ("control", PLAIN),
        ],
        json!([
            {"op": "parallel", "steps": [
                {"op": "publish", "who": "viewer", "kind": "audio", "source": "microphone", "timeout": 30, "id": "refused"},
                {"op": "publish", "who": "control", "kind": "audio", "source": "microphone", "id": "allowed"},
            ]},
            {"op": "wait_subscribed", "who": "observer", "from": "control", "id": "control-sub"},
            {"op": "wait_subscribed", "who": "observer", "from": "viewer", "timeout": 1, "id": "viewer-sub"},
            {"op": "snapshot", "who": "observer", "id": "snapshot"},
        ]),
    );
    expect_steps(
        &report,
        &[
            // The server hands the viewer canPublish=false.
            ("viewer", "/permission/can_publish", json!(false)),
            ("allowed", "/ok", json!(true)),
            ("control-sub", "/subscribed", json!(true)),
            ("viewer-sub", "/subscribed", json!(false)),
            // The observer sees no track of the viewer.
            ("snapshot", "/remote/viewer/tracks", json!([])),
        ],
    );
    let refused = assert_publish_timed_out(&report, "refused");
    let waited = refused["elapsed"].as_f64().expect("elapsed");
    assert!(
        (8.0..20.0).contains(&waited),
        "the refusal surfaces only after the SDK's ~10 s timeout, here {waited} s: {refused:#}"
    );
    assert_server_refused_a_track_of(&server, "viewer");
}

#[test]
fn can_publish_sources_allows_the_microphone_and_refuses_the_camera() {
    let (server, report) = run_in_room(
        "sources",
        90,
        &[
            ("observer", PLAIN),
            ("mic-only", |g| {
                g.can_publish_sources = vec![TrackSource::Microphone]
            }),
            ("control", PLAIN),
        ],
        json!([
            {"op": "parallel", "steps": [
                {"op": "publish", "who": "mic-only", "kind": "audio", "source": "microphone", "id": "mic"},
                {"op": "publish", "who": "mic-only", "kind": "video", "source": "camera", "timeout": 30, "id": "camera"},
                {"op": "publish", "who": "control", "kind": "video", "source": "camera", "id": "control-camera"},
            ]},
            {"op": "wait_subscribed", "who": "observer", "from": "mic-only", "source": "microphone", "id": "mic-sub"},
            {"op": "wait_subscribed", "who": "observer", "from": "control", "source": "camera", "id": "control-camera-sub"},
            {"op": "wait_subscribed", "who": "observer", "from": "mic-only", "source": "camera", "timeout": 1, "id": "camera-sub"},
            {"op": "snapshot", "who": "observer", "id": "snapshot"},
        ]),
    );
    expect_steps(
        &report,
        &[
            (
                "mic-only",
                "/permission/can_publish_sources",
                json!(["microphone"]),
            ),
            ("mic", "/ok", json!(true)),
            ("control-camera", "/ok", json!(true)),
            ("mic-sub", "/subscribed", json!(true)),
            ("control-camera-sub", "/subscribed", json!(true)),
            ("camera-sub", "/subscribed", json!(false)),
        ],
    );
    // The camera is outside the sources.
    assert_publish_timed_out(&report, "camera");
    assert_server_refused_a_track_of(&server, "mic-only");
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
    // `muted` has canPublishData=false; `viewer` has canPublish=false and canPublishData unset,
    // which the server reads as false too.
    let (_server, report) = run_in_room(
        "data",
        60,
        &[
            ("observer", PLAIN),
            ("muted", |g| g.can_publish_data = Some(false)),
            ("viewer", |g| g.can_publish = Some(false)),
            ("control", PLAIN),
        ],
        json!([
            {"op": "wait_participant", "who": "observer", "identity": "control", "id": "seen"},
            {"op": "publish_data", "who": "muted", "payload": "from muted", "topic": "t", "id": "send-muted"},
            {"op": "publish_data", "who": "viewer", "payload": "from viewer", "topic": "t", "id": "send-viewer"},
            {"op": "publish_data", "who": "control", "payload": "from control", "topic": "t", "id": "send-control"},
            {"op": "wait_data", "who": "observer", "from": "control", "id": "got-control"},
            {"op": "parallel", "steps": [
                {"op": "wait_data", "who": "observer", "from": "muted", "timeout": NEVER_WAIT, "id": "got-muted"},
                {"op": "wait_data", "who": "observer", "from": "viewer", "timeout": NEVER_WAIT, "id": "got-viewer"},
            ]},
        ]),
    );
    expect_steps(
        &report,
        &[
            ("muted", "/permission/can_publish_data", json!(false)),
            // An unset canPublishData follows canPublish=false.
            ("viewer", "/permission/can_publish_data", json!(false)),
            // The senders see no error.
            ("send-muted", "/ok", json!(true)),
            ("send-viewer", "/ok", json!(true)),
            ("send-control", "/ok", json!(true)),
            // Control's data arrives, the others' does not.
            ("got-control", "/received", json!(true)),
            ("got-control", "/packets/0/payload", json!("from control")),
            ("got-control", "/packets/0/topic", json!("t")),
            ("got-muted", "/received", json!(false)),
            ("got-viewer", "/received", json!(false)),
        ],
    );
    assert_eq!(events(&report, "observer", "data_received").len(), 1);
}

#[test]
fn can_subscribe_false_never_subscribes_while_the_control_does() {
    let (_server, report) = run_in_room(
        "no-subscribe",
        60,
        &[
            ("speaker", PLAIN),
            ("deaf", |g| g.can_subscribe = Some(false)),
            ("control", PLAIN),
        ],
        json!([
            {"op": "publish", "who": "speaker", "kind": "audio", "source": "microphone", "id": "mic"},
            {"op": "wait_subscribed", "who": "control", "from": "speaker", "id": "control-sub"},
            {"op": "wait_audio", "who": "control", "from": "speaker", "frames": 10, "id": "control-audio"},
            {"op": "wait_subscribed", "who": "deaf", "from": "speaker", "timeout": NEVER_WAIT, "id": "deaf-sub"},
            {"op": "snapshot", "who": "deaf", "id": "deaf-view"},
        ]),
    );
    expect_steps(
        &report,
        &[
            ("deaf", "/permission/can_subscribe", json!(false)),
            ("mic", "/ok", json!(true)),
            ("control-sub", "/subscribed", json!(true)),
            ("deaf-sub", "/subscribed", json!(false)),
            // The deaf participant still sees the speaker and its track, unsubscribed.
            (
                "deaf-view",
                "/remote/speaker/tracks/0/source",
                json!("microphone"),
            ),
            (
                "deaf-view",
                "/remote/speaker/tracks/0/subscribed",
                json!(false),
            ),
        ],
    );
    assert_heard(&report, "control-audio", 10);
    assert!(
        events(&report, "deaf", "track_subscribed").is_empty(),
        "{report:#}"
    );
}

#[test]
fn a_hidden_participant_is_not_seen_while_the_control_is() {
    let (_server, report) = run_in_room(
        "hidden",
        60,
        &[
            ("observer", PLAIN),
            ("ghost", |g| g.hidden = true),
            ("control", PLAIN),
        ],
        json!([
            {"op": "wait_participant", "who": "observer", "identity": "control", "id": "control-seen"},
            {"op": "wait_participant", "who": "observer", "identity": "ghost", "timeout": NEVER_WAIT, "id": "ghost-seen"},
            {"op": "wait_participant", "who": "ghost", "identity": "observer", "id": "ghost-sees"},
            {"op": "snapshot", "who": "observer", "id": "observer-view"},
        ]),
    );
    expect_steps(
        &report,
        &[
            ("ghost", "/permission/hidden", json!(true)),
            ("control-seen", "/seen", json!(true)),
            ("ghost-seen", "/seen", json!(false)),
            // The hidden one sees the others.
            ("ghost-sees", "/seen", json!(true)),
        ],
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
    let report = drive_connected(
        &server,
        60,
        &[
            ("in-a", plain(&server, "observer-a", "room-a")),
            ("in-b", plain(&server, "observer-b", "room-b")),
            ("alice", plain(&server, "alice", "room-a")),
        ],
        json!([
            {"op": "wait_participant", "who": "in-a", "identity": "alice", "id": "seen-in-a"},
            {"op": "wait_participant", "who": "in-b", "identity": "alice", "timeout": NEVER_WAIT, "id": "seen-in-b"},
        ]),
    );
    expect_steps(
        &report,
        &[
            ("alice", "/room", json!("room-a")),
            ("in-b", "/room", json!("room-b")),
            ("seen-in-a", "/seen", json!(true)),
            ("seen-in-b", "/seen", json!(false)),
        ],
    );
}

#[test]
fn an_expired_token_is_refused_with_the_servers_reason() {
    let server = LiveKitServer::start();
    let room = "expiry";
    let key = server.key_pair();
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
        script(60, &[("expired", expired), ("fresh", fresh)], json!([])),
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
    let admin_of = |room: &str| {
        cli_token(
            &server,
            &[
                "--join=false",
                "--room-admin",
                "--room",
                room,
                "--ttl",
                "10m",
            ],
        )
    };
    let admin = admin_of(room);
    // Control: the same grant for another room may not remove anyone here.
    let other = admin_of("elsewhere");
    let report = drive_connected(
        &server,
        60,
        &members(&server, room, &[("observer", PLAIN), ("alice", PLAIN)]),
        json!([
            {"op": "wait_participant", "who": "observer", "identity": "alice", "id": "seen"},
            {"op": "remove_participant", "url": server.url(), "token": other,
             "room": room, "identity": "alice", "id": "remove-other"},
            {"op": "snapshot", "who": "alice", "id": "still-there"},
            {"op": "remove_participant", "url": server.url(), "token": admin,
             "room": room, "identity": "alice", "id": "remove"},
            {"op": "wait_disconnected", "who": "alice", "id": "gone"},
            {"op": "wait_gone", "who": "observer", "identity": "alice", "id": "observer-view"},
        ]),
    );
    expect_steps(
        &report,
        &[
            ("seen", "/seen", json!(true)),
            ("remove-other", "/ok", json!(false)),
            ("still-there", "/connected", json!(true)),
            ("remove", "/ok", json!(true)),
            ("gone", "/disconnected", json!(true)),
            ("gone", "/reason", json!("PARTICIPANT_REMOVED")),
            ("observer-view", "/gone", json!(true)),
        ],
    );
    let refused = step(&report, "remove-other");
    assert!(
        refused["error"]
            .as_str()
            .unwrap_or("")
            .contains("permissions denied"),
        "{refused:#}"
    );
    let left = events(&report, "observer", "participant_disconnected");
    assert!(
        left.iter().any(|e| e["identity"] == "alice"),
        "the observer sees alice leave: {report:#}"
    );
}
