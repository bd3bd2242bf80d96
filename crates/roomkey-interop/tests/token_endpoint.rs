//! `roomkey serve --dev` as the standard token endpoint of LiveKit's own clients, against the
//! real LiveKit server (v1.13.5): the server knows the `devkey`/`secret` pair that `--dev` signs
//! with (as `livekit-server --dev` does), and roomkey hands out the server's URL (`LIVEKIT_URL`).
//!
//! - `livekit-client` 2.23.0 in headless Chromium (`interop/browser/livekit-join.mjs`): a page on
//!   roomkey's origin fetches a token with `TokenSource.endpoint(<roomkey>/api/token)`, joins
//!   with `new Room().connect(serverUrl, participantToken)`, publishes the fake microphone and
//!   camera, and the server's RoomService lists it (livekit-server-sdk, from Node) — then it
//!   leaves and the server lists nobody.
//! - the Rust `livekit-token-source` crate: `endpoint(<roomkey>/api/token)` (plain and
//!   `.cached()`), whose tokens the server accepts on `/rtc/validate`, and whose error carries
//!   roomkey's answer when roomkey refuses.
//!
//! Runs inside `interop/netns` (`bash interop/netns cargo test -p roomkey-interop --test
//! token_endpoint`), after `bash interop/setup.sh`, `bash scripts/install-browser` and
//! `cargo build -p roomkey`; without them it fails and says which is missing.

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use livekit_token_source::{
    TokenSourceConfigurable as _, TokenSourceError, TokenSourceFetchOptions, TokenSourceResponse,
};
use roomkey_interop::livekit::http_client;
use roomkey_interop::paths::{interop_dir, node_program};
use roomkey_interop::process::run_bounded;
use roomkey_interop::{LiveKitOptions, LiveKitServer, RoomkeyServe};
use roomkey_token::{ApiSecret, KeyPair, KeySet, Verifier};
use serde_json::{Value, json};

/// The pair `roomkey serve --dev` signs with when no credentials are configured, and that
/// `livekit-server --dev` accepts.
const DEV_KEY: &str = "devkey";
const DEV_SECRET: &str = "secret";
/// The `--dev` profile's token lifetime (15 minutes).
const DEV_TTL: i64 = 900;

const CHROMIUM: &str = "/usr/bin/chromium";
/// How long the browser driver may run (its own watchdog stops it at 120 s).
const DRIVER_WITHIN: Duration = Duration::from_secs(150);
/// How long one `livekit-token-source` fetch may take.
const FETCH_WITHIN: Duration = Duration::from_secs(20);

/// A LiveKit server that knows the `--dev` pair.
fn dev_livekit(label: &str) -> LiveKitServer {
    LiveKitServer::start_with(LiveKitOptions {
        keys: vec![(DEV_KEY.to_owned(), DEV_SECRET.to_owned())],
        label: label.to_owned(),
        ..LiveKitOptions::default()
    })
}

/// `roomkey serve --dev` handing out `livekit_url` (`LIVEKIT_URL`), with no credentials in its
/// environment: it signs with `devkey`/`secret`.
fn dev_serve(livekit_url: &str) -> RoomkeyServe {
    RoomkeyServe::start(&["--dev"], &[("LIVEKIT_URL", livekit_url)])
}

/// `roomkey_tokens_issued_total{endpoint="token",profile="dev"}` from `/metrics`.
fn tokens_issued(roomkey: &RoomkeyServe) -> u64 {
    let text = http_client()
        .get(roomkey.url("/metrics"))
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.text())
        .unwrap_or_else(|e| panic!("GET /metrics: {e}"));
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("roomkey_tokens_issued_total{")
                && l.contains(r#"endpoint="token""#)
                && l.contains(r#"profile="dev""#)
        })
        .unwrap_or_else(|| panic!("no tokens-issued counter for /api/token in:\n{text}"));
    line.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not a counter line: {line}"))
}

fn dev_verifier() -> Verifier {
    Verifier::new(KeySet::single(
        KeyPair::new(DEV_KEY, &ApiSecret::new(DEV_SECRET)).expect("the dev pair"),
    ))
}

/// Verifies a token with the `--dev` pair and returns its claims.
fn dev_claims(token: &str, what: &str) -> Value {
    let verified = dev_verifier()
        .verify(token)
        .unwrap_or_else(|e| panic!("{what}: the token does not verify with devkey/secret: {e}"));
    serde_json::from_str(verified.payload()).expect("claims are JSON")
}

/// The claims roomkey must have written for a request of room, identity, name, metadata and
/// attributes, under the `--dev` profile: the join grant for that room and nothing else.
fn check_claims(claims: &Value, want: &Value, what: &str) {
    assert_eq!(claims["iss"], DEV_KEY, "{what}: signed with the --dev key");
    assert_eq!(claims["sub"], want["identity"], "{what}: identity");
    assert_eq!(claims["name"], want["name"], "{what}: name");
    assert_eq!(claims["metadata"], want["metadata"], "{what}: metadata");
    assert_eq!(
        claims["attributes"], want["attributes"],
        "{what}: attributes"
    );
    assert_eq!(
        claims["video"],
        json!({"roomJoin": true, "room": want["room"]}),
        "{what}: the join grant for the room asked for, permissions left to the server's defaults"
    );
    let (nbf, exp) = (
        claims["nbf"].as_i64().expect("integer nbf"),
        claims["exp"].as_i64().expect("integer exp"),
    );
    assert_eq!(exp - nbf, DEV_TTL, "{what}: the --dev TTL");
}

/// The real server's verdict on a token: `200 success`.
fn assert_server_accepts(server: &LiveKitServer, token: &str, what: &str) {
    let (status, body) = server.validate(token);
    assert_eq!(
        (status, body.trim()),
        (200, "success"),
        "{what}: /rtc/validate refused roomkey's token"
    );
}

/// Asserts that `seen`, a view of the participant (the client's or the server's), shows the
/// identity, name, metadata and attributes asked for.
fn assert_participant_as_asked(seen: &Value, want: &Value, view: &str) {
    for field in ["identity", "name", "metadata", "attributes"] {
        assert_eq!(seen[field], want[field], "{view}: {field}");
    }
}

fn s<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer} in {v:#}"))
}

/// Fails (never skips) when what the browser test needs is not installed.
fn check_browser_prerequisites() {
    let node_modules = interop_dir().join("node_modules");
    for package in ["playwright-core", "livekit-client", "livekit-server-sdk"] {
        assert!(
            node_modules.join(package).join("package.json").is_file(),
            "interop/node_modules/{package} is missing: run `bash interop/setup.sh` first"
        );
    }
    assert!(
        Path::new(CHROMIUM).is_file(),
        "{CHROMIUM} is missing: run `bash scripts/install-browser` first (Debian's chromium)"
    );
}

#[test]
fn livekit_client_in_chromium_joins_the_real_server_with_a_token_from_roomkey_serve() {
    check_browser_prerequisites();
    let node = node_program();
    let server = dev_livekit("token-endpoint-browser");
    let roomkey = dev_serve(&server.ws_url());
    assert!(
        roomkey
            .log()
            .contains(&format!("tokens for {}", server.ws_url())),
        "the --dev banner names the LiveKit URL it hands out:\n{}",
        roomkey.log()
    );

    let want = json!({
        "room": "endpoint-standup",
        "identity": "ada",
        "name": "Ada Lovelace ✓",
        "metadata": "{\"role\":\"host\"}",
        "attributes": {"team": "blue", "desk": "3"},
    });
    // The page asks for exactly that, in the endpoint's fields.
    let request = json!({
        "roomName": want["room"],
        "participantName": want["name"],
        "participantIdentity": want["identity"],
        "participantMetadata": want["metadata"],
        "participantAttributes": want["attributes"],
    });

    let mut cmd = Command::new(&node);
    cmd.arg(interop_dir().join("browser/livekit-join.mjs"))
        .args(["--roomkey", roomkey.base()])
        .args(["--livekit", &server.url()])
        .args(["--key", DEV_KEY, "--secret", DEV_SECRET])
        .args(["--request", &request.to_string()]);
    let started = Instant::now();
    let run = run_bounded(cmd, &[], DRIVER_WITHIN, "interop/browser/livekit-join.mjs");
    let code = run.status.code().unwrap_or(-1);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&run.stdout),
        String::from_utf8_lossy(&run.stderr),
    );
    eprintln!(
        "livekit-join.mjs took {:?}; its stderr:\n{stderr}",
        started.elapsed()
    );
    let out: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("livekit-join.mjs (exit {code}) printed no JSON ({e}):\n{stdout}\n{stderr}")
    });
    assert!(
        code == 0 && out["ok"] == true,
        "livekit-join.mjs failed (exit {code}): {}\n{out:#}",
        out["error"]
    );
    assert_eq!(out["livekit_client"], "2.23.0", "the pinned livekit-client");

    // The token endpoint: roomkey's answer, as the SDK read it.
    let fetched = &out["fetched"];
    assert_eq!(
        s(fetched, "/server_url"),
        server.ws_url(),
        "server_url is LIVEKIT_URL"
    );
    let token = s(fetched, "/participant_token");
    let claims = dev_claims(token, "livekit-client's token");
    check_claims(&claims, &want, "livekit-client's token");
    assert_eq!(
        fetched["payload"]["sub"], "ada",
        "the SDK decoded the same token"
    );
    assert_server_accepts(&server, token, "livekit-client's token");
    let audit = roomkey.wait_for_log_line(&["token issued", r#"identity="ada""#]);
    assert!(
        audit.contains(r#"room="endpoint-standup""#) && audit.contains("ttl_s=900"),
        "one audit line for the token: {audit}"
    );
    assert_eq!(
        out["requests_to_roomkey"],
        json!(["POST /api/token"]),
        "the page asked roomkey for one token and nothing else (same origin: no preflight)"
    );

    // The join, as the SDK saw it: Connected (after its first peer connection), in the room and
    // as the participant roomkey's token names.
    let connected = &out["connected"];
    assert_eq!(connected["state"], "connected", "{connected:#}");
    assert_eq!(connected["is_connected"], true);
    assert_eq!(connected["room_name"], want["room"]);
    assert_participant_as_asked(connected, &want, "livekit-client, connected");
    assert!(
        s(connected, "/room_sid").starts_with("RM_"),
        "{connected:#}"
    );
    assert!(
        s(connected, "/participant_sid").starts_with("PA_"),
        "{connected:#}"
    );
    assert_eq!(
        connected["permissions"],
        json!({"canPublish": true, "canSubscribe": true, "canPublishData": true, "hidden": false}),
        "the server's defaults for the permissions roomkey leaves unset"
    );
    assert_eq!(
        connected["server_info"]["version"],
        roomkey_interop::livekit::LIVEKIT_SERVER_VERSION,
        "the real server, as it introduced itself to the client"
    );

    // Media over the namespace's veth: both fake devices published and acknowledged.
    let published = out["published"].as_array().expect("published tracks");
    let mut sources: Vec<&str> = published
        .iter()
        .map(|p| p["source"].as_str().unwrap_or(""))
        .collect();
    sources.sort_unstable();
    assert_eq!(sources, ["camera", "microphone"], "{published:#?}");
    for p in published {
        assert!(
            s(p, "/sid").starts_with("TR_"),
            "the server gave the track a sid: {p}"
        );
    }

    // The server's own view (RoomService ListParticipants, while the page was connected).
    assert!(
        out["server_rooms"]
            .as_array()
            .expect("rooms")
            .contains(&want["room"]),
        "the join created the room: {}",
        out["server_rooms"]
    );
    let listed = out["server_participants"].as_array().expect("participants");
    assert_eq!(listed.len(), 1, "one participant: {listed:#?}");
    let p = &listed[0];
    assert_participant_as_asked(p, &want, "the server's ListParticipants");
    assert_eq!(p["sid"], connected["participant_sid"]);
    assert_eq!(
        p["state"], "ACTIVE",
        "media transport connected, as the server sees it"
    );
    let mut tracks: Vec<(String, String)> = p["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .map(|t| (s(t, "/type").to_owned(), s(t, "/source").to_owned()))
        .collect();
    tracks.sort();
    assert_eq!(
        tracks,
        [
            ("AUDIO".to_owned(), "MICROPHONE".to_owned()),
            ("VIDEO".to_owned(), "CAMERA".to_owned())
        ],
        "the server holds both tracks: {p:#}"
    );
    let listed_sids: Vec<&str> = p["tracks"]
        .as_array()
        .expect("tracks")
        .iter()
        .map(|t| s(t, "/sid"))
        .collect();
    for pubd in published {
        assert!(
            listed_sids.contains(&s(pubd, "/sid")),
            "{pubd} on the server"
        );
    }
    assert_eq!(out["still_connected"], "connected");

    // Leaving.
    assert_eq!(out["final_state"], "disconnected");
    assert_eq!(out["server_participants_after_leave"], json!([]));
    let states: Vec<&str> = out["states"]
        .as_array()
        .expect("states")
        .iter()
        .map(|v| v.as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        states,
        ["connecting", "connected", "disconnected"],
        "no reconnect on the way"
    );
    let problems = out["problems"].as_array().expect("problems");
    assert!(problems.is_empty(), "errors in the page: {problems:#?}");
}

/// Runs one async fetch on a runtime of its own, in a thread, at most [`FETCH_WITHIN`].
fn fetch_bounded<S>(
    source: Arc<S>,
    options: TokenSourceFetchOptions,
) -> Result<TokenSourceResponse, TokenSourceError>
where
    S: livekit_token_source::TokenSourceConfigurable + Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let _ = tx.send(runtime.block_on(source.fetch(&options)));
    });
    rx.recv_timeout(FETCH_WITHIN).unwrap_or_else(|e| {
        panic!("livekit-token-source's fetch did not finish within {FETCH_WITHIN:?}: {e}")
    })
}

#[test]
fn livekit_token_source_crate_gets_tokens_from_roomkey_serve_that_the_real_server_accepts() {
    let server = dev_livekit("token-endpoint-rust");
    let roomkey = dev_serve(&server.ws_url());

    // The plain endpoint source.
    let source = Arc::new(livekit_token_source::endpoint(roomkey.url("/api/token")));
    let options = TokenSourceFetchOptions::new()
        .with_room_name("rust-standup")
        .with_participant_identity("grace")
        .with_participant_name("Grace Hopper")
        .with_participant_metadata("{\"role\":\"guest\"}")
        .with_participant_attribute("team", "green");
    let response = fetch_bounded(Arc::clone(&source), options.clone())
        .unwrap_or_else(|e| panic!("endpoint fetch: {e}"));
    assert_eq!(
        response.server_url,
        server.ws_url(),
        "server_url is LIVEKIT_URL"
    );
    let claims = dev_claims(&response.participant_token, "livekit-token-source's token");
    check_claims(
        &claims,
        &json!({
            "room": "rust-standup",
            "identity": "grace",
            "name": "Grace Hopper",
            "metadata": "{\"role\":\"guest\"}",
            "attributes": {"team": "green"},
        }),
        "livekit-token-source's token",
    );
    assert_server_accepts(
        &server,
        &response.participant_token,
        "livekit-token-source's token",
    );

    // Agent dispatch through the crate's options lands in the token's roomConfig.
    let agent_options = TokenSourceFetchOptions::new()
        .with_room_name("rust-support")
        .with_participant_identity("grace")
        .with_agent_name("triage")
        .with_agent_metadata("{\"lang\":\"de\"}");
    let agent = fetch_bounded(Arc::clone(&source), agent_options)
        .unwrap_or_else(|e| panic!("endpoint fetch with an agent: {e}"));
    let agent_claims = dev_claims(&agent.participant_token, "the token with an agent");
    assert_eq!(agent_claims["video"]["room"], "rust-support");
    assert_eq!(
        agent_claims["roomConfig"]["agents"],
        json!([{"agentName": "triage", "metadata": "{\"lang\":\"de\"}"}]),
        "{agent_claims:#}"
    );
    assert_server_accepts(&server, &agent.participant_token, "the token with an agent");

    // The cached source: one request to roomkey for two fetches with equal options (the 15-minute
    // token is well outside the crate's 60 s refresh margin), a new one when the options change.
    let issued_before = tokens_issued(&roomkey);
    assert_eq!(issued_before, 2, "roomkey counted the two tokens above");
    let cached = Arc::new(livekit_token_source::endpoint(roomkey.url("/api/token")).cached());
    let first = fetch_bounded(Arc::clone(&cached), options.clone()).expect("cached fetch 1");
    let second = fetch_bounded(Arc::clone(&cached), options.clone()).expect("cached fetch 2");
    assert_eq!(
        first.participant_token, second.participant_token,
        "the cache served the second fetch"
    );
    assert_eq!(tokens_issued(&roomkey), issued_before + 1);
    let other = fetch_bounded(Arc::clone(&cached), options.with_room_name("rust-overflow"))
        .expect("cached fetch with other options");
    assert_ne!(other.participant_token, first.participant_token);
    assert_eq!(
        dev_claims(&other.participant_token, "refetched")["video"]["room"],
        "rust-overflow"
    );
    assert_eq!(tokens_issued(&roomkey), issued_before + 2);
    assert_server_accepts(&server, &other.participant_token, "the refetched token");

    // roomkey refuses a room name over LiveKit's limit; the crate surfaces status and body.
    let refused = fetch_bounded(
        Arc::clone(&source),
        TokenSourceFetchOptions::new()
            .with_room_name("r".repeat(300))
            .with_participant_identity("grace"),
    );
    match refused {
        Err(TokenSourceError::Server { status, body }) => {
            assert_eq!(status, 400, "{body}");
            let body: Value = serde_json::from_str(&body).expect("roomkey's error is JSON");
            assert_eq!(body["error"]["code"], "bad_request", "{body:#}");
            assert_eq!(body["error"]["field"], "room_name", "{body:#}");
        }
        other => panic!("a 300-byte room name was not refused by roomkey: {other:?}"),
    }
}
