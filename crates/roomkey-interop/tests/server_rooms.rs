//! roomkey-server's room-creating paths against the real LiveKit server (v1.13.5): a profile
//! with `create_room`, the Generate Access Token action's `createRoomIfNotExists` in development
//! mode, and `/readyz`. The real server creates the rooms (seen with RoomService and
//! AgentDispatchService) and accepts the tokens (`/rtc/validate`); a recording proxy in front of
//! it shows what roomkey-server sent.
//!
//! LiveKit's failures that the real server cannot be made to produce (5xx, slowness, dropped
//! connections, a refused port) are tested in `crates/roomkey-server/tests/integration` on
//! roomkey-testserver.
//!
//! Runs inside `interop/netns` (`bash interop/netns cargo test -p roomkey-interop --test
//! server_rooms`), after `bash interop/setup.sh`.

mod recorder;
mod room_service;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use recorder::Recorder;
use room_service::{block_on, dispatches, room_settings, server_key, the_create_room};
use roomkey_interop::livekit::{API_KEY, API_SECRET};
use roomkey_interop::{LiveKitOptions, LiveKitServer};
use roomkey_rooms::{ClientOptions, Room, RoomClient};
use roomkey_server::{App, Config, EnvOverrides};
use roomkey_token::{ApiSecret, Claims, KeyPair, KeySet, Verifier};
use serde_json::{Value, json};
use tower::ServiceExt as _;

const HOST_KEY: &str = "rk_test_host_Pw2Lx8Qa5Vn3Jd7E";
/// The URL the host profile hands out (not the RoomService URL).
const HANDED_OUT: &str = "wss://host.test.invalid";

/// roomkey-server signs with the real server's key.
fn env() -> EnvOverrides {
    EnvOverrides {
        api_key: Some(API_KEY.into()),
        api_secret: Some(API_SECRET.into()),
        ..EnvOverrides::default()
    }
}

/// Caller `host` → profile `host`, which creates its rooms through `room_service_url`.
fn host_config(room_service_url: &str) -> String {
    format!(
        r#"livekit_url = "wss://lk.test.invalid"
room_service_url = "{room_service_url}"

[rate_limit]
per_caller_per_minute = 0
per_ip_per_minute = 0

[[caller]]
name = "host"
key_sha256 = "{hash}"
profile = "host"

[profile.host]
rooms = ["*"]
identity = "request"
fields = ["participant_identity", "room_config.agents", "room_config.settings"]
agents = ["triage"]
create_room = true
ttl = "10m"
livekit_url = "{HANDED_OUT}"
"#,
        hash = roomkey_server::hash_key(HOST_KEY)
    )
}

fn app(text: &str) -> Arc<App> {
    let config =
        Config::parse("test.toml", text, &env(), None).unwrap_or_else(|e| panic!("{e}\n{text}"));
    App::new(config).expect("app")
}

/// An answer, read whole.
#[derive(Debug)]
struct Reply {
    status: StatusCode,
    text: String,
    json: Value,
}

impl Reply {
    /// Asserts a JSON error with this status and code.
    #[track_caller]
    fn error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.json["error"]["code"], code, "{}", self.text);
        &self.json["error"]
    }

    /// Asserts a 201 from the token endpoint; returns the participant token and its claims.
    #[track_caller]
    fn issued(&self) -> (String, Claims) {
        assert_eq!(self.status, StatusCode::CREATED, "{}", self.text);
        let token = self.json["participant_token"]
            .as_str()
            .expect("participant_token")
            .to_owned();
        let claims = verify(&token);
        assert_eq!(self.json["room_name"], claims.room(), "{}", self.text);
        (token, claims)
    }
}

async fn call(app: &Arc<App>, request: Request<Body>) -> Reply {
    let router = roomkey_server::router(app.clone());
    let response = router.oneshot(request).await.expect("infallible");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply { status, text, json }
}

async fn post(app: &Arc<App>, path: &str, bearer: Option<&str>, body: Value) -> Reply {
    let mut builder = Request::post(path).header(header::CONTENT_TYPE, "application/json");
    if let Some(b) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {b}"));
    }
    let request = builder
        .body(Body::from(serde_json::to_vec(&body).expect("JSON")))
        .expect("request");
    call(app, request).await
}

async fn get(app: &Arc<App>, path: &str) -> Reply {
    call(
        app,
        Request::get(path).body(Body::empty()).expect("request"),
    )
    .await
}

/// roomkey-server with the host profile, creating its rooms on `server` through a recording
/// proxy, returned for what was sent. The app is made on the test thread's runtime, which its
/// calls to LiveKit run on too.
fn host_app(server: &LiveKitServer) -> (Recorder, Arc<App>) {
    let proxy = Recorder::start(&server.url());
    let app = block_on(async { app(&host_config(&proxy.url())) });
    (proxy, app)
}

/// `POST /api/token` as the host caller.
fn host_token(app: &Arc<App>, body: Value) -> Reply {
    block_on(post(app, "/api/token", Some(HOST_KEY), body))
}

/// `POST /api/v1/generate-access-token`, the Generate Access Token action (no caller key).
fn generate_access_token(app: &Arc<App>, body: Value) -> Reply {
    block_on(post(app, "/api/v1/generate-access-token", None, body))
}

/// roomkey's verifier for the real server's (default) key.
fn verify(token: &str) -> Claims {
    let key = KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).expect("key");
    Verifier::new(KeySet::single(key))
        .verify(token)
        .unwrap_or_else(|e| panic!("roomkey-server issued a token that does not verify: {e}"))
        .claims
}

/// The real server's verdict on a join token: 200 when it would let the participant in.
#[track_caller]
fn assert_joins(server: &LiveKitServer, token: &str) {
    let (status, body) = server.validate(token);
    assert_eq!(status, 200, "the real server refuses the token: {body}");
}

/// The real server's rooms, straight from it.
fn real_rooms(server: &LiveKitServer, names: &[&str]) -> Vec<Room> {
    let client =
        RoomClient::with_options(&server.url(), server_key(server), ClientOptions::default())
            .expect("client");
    let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
    block_on(client.list_rooms(&names)).expect("ListRooms on the real server")
}

#[test]
fn the_room_is_created_with_its_configuration_before_the_token_is_issued() {
    let server = LiveKitServer::start();
    let (proxy, app) = host_app(&server);
    let reply = host_token(
        &app,
        json!({
            "room_name": "standup",
            "participant_identity": "h1",
            "room_config": {
                "agents": [{"agent_name": "triage", "metadata": "{\"lang\":\"de\"}"}],
                "empty_timeout": 120, "departure_timeout": 15, "max_participants": 8,
                "metadata": "room-meta", "min_playout_delay": 100, "max_playout_delay": 200,
                "sync_streams": true
            }
        }),
    );
    let (participant_token, claims) = reply.issued();
    assert_eq!(reply.json["server_url"], HANDED_OUT);
    // The token carries the configuration too (for clients that read it), and the real server
    // lets the participant in with it.
    let config = claims.room_config.unwrap();
    assert_eq!(config.agents[0].agent_name, "triage");
    assert_joins(&server, &participant_token);

    // The room exists on the real server, with the settings a Room shows ...
    let rooms = real_rooms(&server, &["standup"]);
    assert_eq!(rooms.len(), 1, "{rooms:?}");
    assert_eq!(room_settings(&rooms[0]), (120, 15, 8, "room-meta"));
    // ... and the agent dispatched ...
    assert_eq!(
        dispatches(&server, "standup"),
        [(
            "triage".to_owned(),
            "{\"lang\":\"de\"}".to_owned(),
            String::new()
        )]
    );
    // ... and the rest as sent, read as LiveKit's own CreateRoomRequest.
    let (create, created) = the_create_room(&proxy);
    assert_eq!(created.name, "standup");
    assert_eq!(
        (
            created.empty_timeout,
            created.departure_timeout,
            created.max_participants
        ),
        (120, 15, 8)
    );
    assert_eq!(created.metadata, "room-meta");
    assert_eq!(
        (created.min_playout_delay, created.max_playout_delay),
        (100, 200)
    );
    assert!(created.sync_streams);
    assert!(created.egress.is_none());
    assert_eq!(created.agents.len(), 1);
    assert_eq!(created.agents[0].agent_name, "triage");
    assert_eq!(created.agents[0].metadata, "{\"lang\":\"de\"}");
    // The create call carried a roomCreate token, not the participant's.
    let create_token = create.token().expect("a bearer token");
    assert_ne!(create_token, participant_token);
    assert_eq!(create.token_payload()["video"], json!({"roomCreate": true}));

    // Again for the same room: idempotent, 201 again.
    let (again, _) = host_token(&app, json!({"room_name": "standup"})).issued();
    assert_joins(&server, &again);
    assert_eq!(proxy.attempts("CreateRoom"), 2);
    assert_eq!(real_rooms(&server, &[]).len(), 1);

    // A generated room is created too.
    let (_, generated) = host_token(&app, json!({})).issued();
    assert_eq!(real_rooms(&server, &[generated.room()]).len(), 1);

    // Refused requests never reach LiveKit.
    let before = proxy.attempts("CreateRoom");
    let refused = host_token(
        &app,
        json!({"room_config": {"agents": [{"agent_name": "billing"}]}}),
    );
    let e = refused.error(403, "forbidden");
    assert_eq!(e["field"], "room_config.agents[0].agent_name");
    host_token(&app, json!({"participant_identity": "x".repeat(300)})).error(400, "bad_request");
    assert_eq!(proxy.attempts("CreateRoom"), before);
    assert_eq!(real_rooms(&server, &[]).len(), 2);
}

#[test]
fn wrong_credentials_at_livekit_are_a_502() {
    // The real server knows another key: it answers 401, which the caller sees as 502.
    let server = LiveKitServer::start_with(LiveKitOptions {
        keys: vec![(
            "APIsomeoneelse".into(),
            "someone-elses-secret-0123456789abcdefghij".into(),
        )],
        label: "server-rooms-wrong-key".into(),
        ..LiveKitOptions::default()
    });
    let (proxy, app) = host_app(&server);
    let reply = host_token(&app, json!({"room_name": "x"}));
    let e = reply.error(502, "livekit_unavailable");
    assert!(e["message"].as_str().unwrap().contains("LiveKit"), "{e}");
    assert!(reply.json.get("participant_token").is_none());
    assert!(!reply.text.contains(API_SECRET));
    let creates = proxy.calls("CreateRoom");
    assert_eq!(creates.len(), 1, "a 401 is not retried");
    assert_eq!(creates[0].status, 401);
    assert_eq!(
        String::from_utf8_lossy(&creates[0].answer),
        format!("invalid API key: {API_KEY}")
    );
    assert!(
        !reply.text.contains("invalid API key"),
        "LiveKit's answer stays in the log"
    );
}

#[test]
fn readiness_follows_livekit_when_rooms_are_created() {
    let server = LiveKitServer::start();
    let (proxy, app) = host_app(&server);
    let ready = block_on(get(&app, "/readyz"));
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text);
    let probes = proxy.calls("ListRooms");
    assert!(!probes.is_empty());
    for probe in &probes {
        assert_eq!(probe.status, 200, "the real server accepted the probe");
        assert_eq!(probe.token_payload()["video"], json!({"roomList": true}));
    }
    // The probe creates nothing.
    assert!(real_rooms(&server, &[]).is_empty());
}

#[test]
fn create_room_if_not_exists_in_development_mode() {
    let server = LiveKitServer::start();
    let proxy = Recorder::start(&server.url());
    let env = EnvOverrides {
        listen: Some("127.0.0.1:0".into()),
        livekit_url: Some(proxy.ws_url()),
        ..env()
    };
    let app = block_on(async { App::new(Config::dev(&env).unwrap()).unwrap() });
    let reply = generate_access_token(
        &app,
        json!({"identity": "a", "room": "made-by-action", "createRoomIfNotExists": true}),
    );
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(reply.json["server_url"], proxy.ws_url());
    let token = reply.json["token"].as_str().unwrap();
    let claims = verify(token);
    assert_eq!(claims.room(), "made-by-action");
    assert_joins(&server, token);
    assert_eq!(real_rooms(&server, &["made-by-action"]).len(), 1);

    // Not asked: not created.
    let reply = generate_access_token(&app, json!({"identity": "a", "room": "not-made"}));
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert!(real_rooms(&server, &["not-made"]).is_empty());
    assert_eq!(proxy.attempts("CreateRoom"), 1);
    assert_eq!(proxy.calls("CreateRoom")[0].status, 200);
}
