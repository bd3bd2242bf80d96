//! Rooms created first, when LiveKit fails: its 5xx answers, dropped connections and slowness
//! (on roomkey-testserver) become retries or 502s, and readiness fails while it is unreachable.
//! The room configuration reaching the create call, LiveKit's own refusals and readiness with a
//! working LiveKit are tested against the real server in
//! `crates/roomkey-interop/tests/server_rooms.rs`.

use std::time::Duration;

use axum::http::StatusCode;
use roomkey_testserver::{Fault, TestServer, TestServerConfig};
use serde_json::json;

use crate::common::*;

pub const HOST_KEY: &str = "rk_test_host_Pw2Lx8Qa5Vn3Jd7E";

/// The base configuration plus caller `host` → profile `host`, which creates rooms through
/// `room_service_url`. `top` goes at the top level.
pub fn host_config(room_service_url: &str, top: &str) -> String {
    let mut text = base_config(&format!(
        "room_service_url = \"{room_service_url}\"\n{top}\n[[caller]]\nname = \"host\"\nkey_sha256 = \"{}\"\nprofile = \"host\"\n",
        roomkey_server::hash_key(HOST_KEY)
    ));
    text.push_str(
        r#"
[profile.host]
rooms = ["*"]
identity = "request"
fields = ["participant_identity", "room_config.agents", "room_config.settings"]
agents = ["triage"]
create_room = true
ttl = "10m"
livekit_url = "wss://host.test.invalid"
"#,
    );
    text
}

pub async fn livekit() -> TestServer {
    TestServer::start(
        TestServerConfig::default()
            .with_keys_text(&format!("{API_KEY}: {API_SECRET}"))
            .unwrap(),
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn livekit_failures() {
    let lk = livekit().await;
    let r = router(&host_config(&lk.url(), ""));

    // One transient 503 is retried by the client: the caller sees nothing.
    lk.inject_for("CreateRoom", Fault::Status(503), 1);
    token(&r, Some(HOST_KEY), json!({"room_name": "a"}))
        .await
        .issued();
    assert_eq!(lk.attempts("CreateRoom"), 2);

    // A dropped connection is retried too.
    lk.reset_attempts();
    lk.inject_for("CreateRoom", Fault::Drop, 1);
    token(&r, Some(HOST_KEY), json!({"room_name": "b"}))
        .await
        .issued();
    assert_eq!(lk.attempts("CreateRoom"), 2);

    // Unavailable every time: 502, and no token.
    lk.reset_attempts();
    lk.inject_for("CreateRoom", Fault::twirp("unavailable", "draining"), 3);
    let reply = token(&r, Some(HOST_KEY), json!({"room_name": "c"})).await;
    let e = reply.error(502, "livekit_unavailable");
    assert!(
        !reply.text.contains("draining"),
        "LiveKit's own message stays in the log"
    );
    assert!(e["message"].as_str().unwrap().contains("LiveKit"));
    assert!(reply.json.get("participant_token").is_none());
    assert_eq!(lk.attempts("CreateRoom"), 3);
    assert!(lk.room("c").is_none());

    // A 4xx from LiveKit is not retried.
    lk.reset_attempts();
    lk.inject_for("CreateRoom", Fault::twirp("invalid_argument", "bad"), 1);
    token(&r, Some(HOST_KEY), json!({"room_name": "d"}))
        .await
        .error(502, "livekit_unavailable");
    assert_eq!(lk.attempts("CreateRoom"), 1);

    // Slow but within the time limit: fine.
    lk.inject_for("CreateRoom", Fault::Delay(Duration::from_millis(300)), 1);
    token(&r, Some(HOST_KEY), json!({"room_name": "e"}))
        .await
        .issued();

    let metrics = get(&r, "/metrics").await.text;
    let ok = metric(
        &metrics,
        "roomkey_room_service_calls_total",
        &["outcome=\"ok\""],
    );
    let error = metric(
        &metrics,
        "roomkey_room_service_calls_total",
        &["outcome=\"error\""],
    );
    assert_eq!((ok, error), (3.0, 2.0), "{metrics}");
}

#[tokio::test]
async fn readiness_fails_while_livekit_is_unreachable() {
    let lk = livekit().await;
    let down = router(&host_config(&lk.refused_url(), ""));
    let ready = get(&down, "/readyz").await;
    assert_eq!(
        ready.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        ready.text
    );
    assert!(ready.text.contains("not reachable"));
    // Nothing internal is shown to whoever asks (/readyz is unauthenticated): not the
    // RoomService URL, not the error. The log has them.
    let refused = lk.refused_url();
    let port = refused.rsplit(':').next().unwrap();
    assert!(
        !ready.text.contains(port) && !ready.text.contains("127.0.0.1"),
        "{}",
        ready.text
    );
    assert!(!ready.text.contains("connection"), "{}", ready.text);
    assert!(
        logs().text().lines().any(
            |l| l.contains("/readyz: LiveKit RoomService is not reachable") && l.contains(port)
        ),
        "the log has the reason"
    );
    // Liveness does not depend on LiveKit.
    assert_eq!(get(&down, "/healthz").await.status, StatusCode::OK);

    // A room_service_url without any profile that creates rooms: LiveKit is not asked.
    let text = base_config(&format!("room_service_url = \"{}\"", lk.refused_url()));
    let r = router(&text);
    assert_eq!(get(&r, "/readyz").await.status, StatusCode::OK);
}

/// The value of the first sample of `name` whose labels include all of `labels`.
pub fn metric(text: &str, name: &str, labels: &[&str]) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find(|l| l.split(['{', ' ']).next() == Some(name) && labels.iter().all(|x| l.contains(x)))
        .and_then(|l| l.rsplit(' ').next())
        .map_or(0.0, |v| v.parse().unwrap())
}
