//! Tokens handed out by `roomkey serve`.

use super::*;

/// Asks the token server (in process, development profile, signing with the interop key) for
/// tokens through both endpoints, and checks that every SDK verifier (Go's too) accepts them
/// with the identity and room the server announced.
#[test]
fn server_issued_tokens_verify_in_every_sdk() {
    use tower::ServiceExt as _;

    let env = roomkey_server::EnvOverrides {
        api_key: Some(API_KEY.into()),
        api_secret: Some(API_SECRET.into()),
        ..roomkey_server::EnvOverrides::default()
    };
    let config = roomkey_server::Config::dev(&env).expect("dev configuration");
    let app = roomkey_server::App::new(config).expect("server state");
    let requests = [
        ("/api/token", json!({})),
        (
            "/api/token",
            json!({"room_name": "interop-room", "participant_identity": "u-1", "participant_name": "Ünïcode"}),
        ),
        (
            "/api/token",
            json!({"roomName": "interop-room", "participantIdentity": "u-2", "participantMetadata": "{\"a\":1}",
                              "participantAttributes": {"role": "host"}, "roomConfig": {"agents": [{"agentName": "triage"}]}}),
        ),
        (
            "/api/v1/generate-access-token",
            json!({"identity": "u-3", "room": "r3", "canPublish": false, "hidden": true, "ttl": 600}),
        ),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut issued = Vec::new();
    for (i, (path, body)) in requests.iter().enumerate() {
        let request = axum::http::Request::post(*path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let response = runtime
            .block_on(roomkey_server::router(app.clone()).oneshot(request))
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let bytes = runtime
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .unwrap();
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        let token = answer["participant_token"]
            .as_str()
            .or(answer["token"].as_str())
            .unwrap()
            .to_owned();
        let room = answer["room_name"]
            .as_str()
            .or(answer["room"].as_str())
            .unwrap()
            .to_owned();
        issued.push((format!("server-{i}"), token, room));
    }

    let ours = verifier();
    let tokens: Vec<(String, String)> = issued
        .iter()
        .map(|(id, t, _)| (id.clone(), t.clone()))
        .collect();
    let verdicts = ScriptVerdicts::of(&tokens);
    let rust = lk::TokenVerifier::with_api_key(API_KEY, API_SECRET);
    for ((id, token, room), (node, python, go)) in issued.iter().zip(verdicts.per_token()) {
        let claims = ours
            .verify(token)
            .unwrap_or_else(|e| panic!("{id}: roomkey: {e}"))
            .claims;
        assert_eq!(claims.room(), room, "{id}");
        let node = node.unwrap_or_else(|e| panic!("{id}: Node rejected a server token: {e}"));
        assert_eq!(
            node,
            payload_json(token),
            "{id}: Node reads the payload as signed"
        );
        let python = python.unwrap_or_else(|e| panic!("{id}: Python rejected a server token: {e}"));
        assert_eq!(python["identity"], claims.sub.as_str(), "{id}");
        assert_eq!(python["video"]["room"], room.as_str(), "{id}");
        let rust = rust
            .verify(token)
            .unwrap_or_else(|e| panic!("{id}: Rust SDK rejected a server token: {e}"));
        assert_eq!(rust.sub, claims.sub, "{id}");
        assert_eq!(rust.video.room, *room, "{id}");
        let go = go.unwrap_or_else(|e| panic!("{id}: Go rejected a server token: {e}"));
        assert_eq!(go["claims"]["identity"], claims.identity(), "{id}");
        assert_eq!(go["claims"]["video"]["room"], room.as_str(), "{id}");
        assert_eq!(
            go_meaning(&go),
            expected_decoded_meaning(Sdk::Go, &claims),
            "{id}: Go reads the server token's meaning differently"
        );
    }
    let last = ours.verify(&issued[3].1).unwrap().claims;
    let video = last.video.unwrap();
    assert_eq!((video.can_publish, video.hidden), (Some(false), true));
    assert_eq!(last.exp.unwrap() - last.nbf.unwrap(), 600);
}
