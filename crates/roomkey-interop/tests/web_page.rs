//! The web page at `/`, in a real headless Chromium: `roomkey serve` (a `--dev` server and a
//! server with a configured admin caller) driven by `interop/browser/webpage.mjs` (Playwright
//! over CDP). The page is filled in and submitted; every token it shows, copies or that LiveKit's
//! own browser SDK (`livekit-client`, `TokenSource.endpoint`) gets from `/api/token` is verified
//! here with roomkey-token and checked against what was asked for. Its "Inspect a token" panel
//! (`POST /api/inspect`) is given a minted, an expired, a hostile and a garbage token, and what it
//! shows is checked against what the token doctor finds in them.
//!
//! Needs `bash interop/setup.sh` (Node packages), `bash scripts/install-browser` (Debian's
//! chromium) and the `roomkey` binary (`cargo test --workspace` builds it); without them the test
//! fails and says so. It lives in the interop crate so that plain `cargo test` needs Rust alone.
//!
//! This file is long because it is one browser session: the page's script and the checks of
//! everything it shows share one Chromium and two servers, which each split part would start
//! again.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use roomkey_interop::RoomkeyServe;
use roomkey_token::{AccessToken, ApiSecret, KeyPair, KeySet, Verifier, VideoGrant};
use serde_json::{Value, json};

const CHROMIUM: &str = "/usr/bin/chromium";
const SUMMARY: &str = "Successfully generated access token for participant to join the call.";

/// The `--dev` profile's default TTL (the configured server below checks a TTL of its own).
const DEV_TTL: u64 = 900;
const ADMIN_TTL: u64 = 5400;

const ADMIN_API_KEY: &str = "APIwebtest";
const ADMIN_SECRET: &str = "web-test-secret-0123456789abcdefghijklmnop";
const ADMIN_LIVEKIT_URL: &str = "wss://web-test.example";
const ADMIN_CALLER_KEY: &str = "rk_web_admin_0123456789";
const USER_CALLER_KEY: &str = "rk_web_user_0123456789";

/// Claims that are markup, for the inspect panel: shown as text, they run nothing.
const HOSTILE_IDENTITY: &str = "<img src=x onerror=\"window.__pwned=1\">";
const HOSTILE_NAME: &str = "<b>bold</b>";
const HOSTILE_ROOM: &str = "<script>window.__pwned=2</script>";

/// Every input of the Generate Access Token action: (id, label, description), as the action
/// words them.
const SEED_INPUTS: &[(&str, &str, &str)] = &[
    ("room", "Room Name", "The name of the room to join"),
    (
        "ttl",
        "Token TTL (seconds)",
        "How long the access token should be valid for (in seconds)",
    ),
    (
        "name",
        "Participant Name",
        "Display name for the participant",
    ),
    (
        "identity",
        "Participant Identity",
        "Unique identity for the participant joining the call",
    ),
    (
        "metadata",
        "Participant Metadata",
        "Optional metadata to attach to the participant",
    ),
    (
        "canPublish",
        "Can Publish",
        "Whether the participant can publish audio/video tracks",
    ),
    (
        "canSubscribe",
        "Can Subscribe",
        "Whether the participant can subscribe to other participants' tracks",
    ),
    (
        "canPublishData",
        "Can Publish Data",
        "Whether the participant can publish data messages",
    ),
    (
        "hidden",
        "Hidden Participant",
        "Whether the participant should be hidden from other participants",
    ),
    (
        "roomCreate",
        "Room Create Permission",
        "Permission to create rooms",
    ),
    (
        "roomList",
        "Room List Permission",
        "Permission to list rooms",
    ),
    (
        "roomRecord",
        "Room Record Permission",
        "Permission to start a recording",
    ),
    (
        "roomAdmin",
        "Room Admin Permission",
        "Permission to control the specific room",
    ),
    (
        "ingressAdmin",
        "Ingress Admin Permission",
        "Permission to control ingress, not specific to any room or ingress",
    ),
    (
        "canUpdateOwnMetadata",
        "Can Update Own Metadata",
        "Allow participant to update its own metadata",
    ),
    (
        "recorder",
        "Recorder",
        "Participant is recording the room, allows room to indicate it's being recorded",
    ),
    (
        "agent",
        "Agent",
        "Participant allowed to connect to LiveKit as Agent Framework worker",
    ),
    (
        "canSubscribeMetrics",
        "Can Subscribe Metrics",
        "Allow participant to subscribe to metrics",
    ),
    (
        "destinationRoom",
        "Destination Room",
        "Destination room which this participant can forward to",
    ),
    (
        "createRoomIfNotExists",
        "Create Room If Not Exists",
        "Whether to create the room if it doesn't exist",
    ),
];

/// Switches the token writes as `*bool` (false is written); the others are omitted when false.
const OPTIONAL_BOOLS: &[&str] = &[
    "canPublish",
    "canSubscribe",
    "canPublishData",
    "canUpdateOwnMetadata",
    "canSubscribeMetrics",
];
const FLAGS: &[&str] = &[
    "hidden",
    "roomCreate",
    "roomList",
    "roomRecord",
    "roomAdmin",
    "ingressAdmin",
    "recorder",
    "agent",
];

fn workspace_root() -> PathBuf {
    roomkey_interop::paths::repo_root()
}

/// Fails (never skips) when what the browser test needs is not installed.
fn check_prerequisites(root: &Path) {
    let interop = root.join("interop/node_modules");
    for package in ["playwright-core", "livekit-client"] {
        assert!(
            interop.join(package).join("package.json").is_file(),
            "interop/node_modules/{package} is missing: run `bash interop/setup.sh` first \
             (it installs the pinned Node packages this test drives the browser with)"
        );
    }
    assert!(
        Path::new(CHROMIUM).is_file() && Path::new("/usr/bin/chromedriver").is_file(),
        "{CHROMIUM} or /usr/bin/chromedriver is missing: run `bash scripts/install-browser` first \
         (it installs Debian's chromium and chromium-driver)"
    );
    let node = Command::new("node").arg("--version").output();
    assert!(
        node.is_ok_and(|o| o.status.success()),
        "node is not on PATH: install Node 20 or newer, then run `bash interop/setup.sh`"
    );
}

/// A temporary directory, removed on drop.
#[derive(Debug)]
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!("roomkey-web-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn key_hash(key: &str) -> String {
    let out = Command::new(roomkey_interop::paths::roomkey_binary())
        .args(["key-hash", key])
        .output()
        .expect("run roomkey key-hash");
    assert!(out.status.success(), "roomkey key-hash failed");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn verifier(api_key: &str, secret: &str) -> Verifier {
    Verifier::new(KeySet::single(
        KeyPair::new(api_key, &ApiSecret::new(secret)).unwrap(),
    ))
}

/// Verifies a token and returns its payload as JSON.
fn verified_payload(verifier: &Verifier, token: &str, what: &str) -> Value {
    let verified = verifier
        .verify(token)
        .unwrap_or_else(|e| panic!("{what}: the token does not verify: {e}\n{token}"));
    serde_json::from_str(verified.payload()).unwrap()
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    v.pointer(path)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {path} in {v:#}"))
}

/// Checks that the claims carry exactly what the form asked for.
fn check_claims(payload: &Value, form: &Value, what: &str) {
    let ask = |k: &str| form.get(k).filter(|v| !v.is_null() && *v != "");
    assert_eq!(
        payload["sub"], form["identity"],
        "{what}: identity\n{payload:#}"
    );
    assert_eq!(payload["identity"], form["identity"], "{what}: identity");
    for (field, claim) in [("name", "/name"), ("metadata", "/metadata")] {
        match ask(field) {
            Some(want) => assert_eq!(payload.pointer(claim), Some(want), "{what}: {field}"),
            None => assert_eq!(payload.pointer(claim), None, "{what}: {field} is unset"),
        }
    }
    let ttl = form["ttl"].as_i64().unwrap();
    let (exp, nbf) = (
        payload["exp"].as_i64().unwrap(),
        payload["nbf"].as_i64().unwrap(),
    );
    assert_eq!(exp - nbf, ttl, "{what}: ttl = exp - nbf");

    let video = payload["video"]
        .as_object()
        .unwrap_or_else(|| panic!("{what}: no video grant"));
    let mut want = serde_json::Map::new();
    want.insert("roomJoin".into(), json!(true));
    want.insert("room".into(), form["room"].clone());
    if let Some(dest) = ask("destinationRoom") {
        want.insert("destinationRoom".into(), dest.clone());
    }
    for name in OPTIONAL_BOOLS {
        if let Some(v) = ask(name) {
            want.insert((*name).into(), v.clone());
        }
    }
    for name in FLAGS {
        if ask(name) == Some(&json!(true)) {
            want.insert((*name).into(), json!(true));
        }
    }
    assert_eq!(
        video, &want,
        "{what}: the video grant is exactly the join grant plus the switches set"
    );
}

/// What the page shows for a token: the same token, its decoded header and claims, its expiry.
fn check_shown(result: &Value, copy: &Value, payload: &Value, form: &Value, what: &str) {
    let token = s(result, "/token");
    assert_eq!(s(copy, "/button"), "Copied", "{what}: Copy button");
    assert_eq!(
        s(copy, "/clipboard"),
        token,
        "{what}: the clipboard holds the token"
    );
    let header: Value = serde_json::from_str(s(result, "/header")).unwrap();
    assert_eq!(
        header,
        json!({"alg": "HS256", "typ": "JWT"}),
        "{what}: header"
    );
    let shown: Value = serde_json::from_str(s(result, "/claims")).unwrap();
    assert_eq!(
        &shown, payload,
        "{what}: the claims decoded by the page (base64url, UTF-8) are the token's"
    );
    assert_eq!(s(result, "/summary"), SUMMARY, "{what}: summary");
    assert_eq!(s(result, "/identity"), s(form, "/identity"), "{what}");
    assert_eq!(s(result, "/room"), s(form, "/room"), "{what}");
    assert_eq!(
        s(result, "/expires_exp"),
        payload["exp"].to_string(),
        "{what}: the expiry shown is the token's exp"
    );
    assert!(
        s(result, "/expires_datetime").ends_with('Z'),
        "{what}: <time datetime> is ISO 8601"
    );
    assert!(
        result["invalid"].as_array().unwrap().is_empty(),
        "{what}: no field is marked invalid"
    );
}

/// Checks the token a page minted from `form` and everything it shows of it; `issuer` is the API
/// key the server signs with. Returns the result the page reported, for checks of its own.
fn check_form_result<'a>(
    page: &'a Value,
    verifier: &Verifier,
    issuer: &str,
    form: &Value,
    what: &str,
) -> &'a Value {
    let result = &page["result"];
    let payload = verified_payload(verifier, s(result, "/token"), what);
    assert_eq!(payload["iss"], json!(issuer), "{what}: issuer");
    check_claims(&payload, form, what);
    check_shown(result, &page["copy"], &payload, form, what);
    result
}

/// The `--dev` server's key pair: the server has the secret of every token built with it.
fn dev_key() -> KeyPair {
    KeyPair::new("devkey", &ApiSecret::new("secret")).unwrap()
}

/// The findings the inspect panel shows, as `(severity, code)`.
fn shown_findings(shown: &Value) -> Vec<(&str, &str)> {
    shown["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (s(f, "/severity"), s(f, "/code")))
        .collect()
}

/// What every inspection of a token that decodes shows about its signature: the panel never
/// checks one, even when the server has the token's secret.
fn check_unchecked(shown: &Value, what: &str) {
    assert!(
        s(shown, "/signature").starts_with("not checked"),
        "{what}: {shown:#}"
    );
    assert!(
        shown_findings(shown).contains(&("info", "signature_unchecked")),
        "{what}: {shown:#}"
    );
}

fn check_page_hygiene(page: &Value, what: &str) {
    assert_eq!(page["local_storage"], json!([]), "{what}: localStorage");
    assert_eq!(page["session_storage"], json!([]), "{what}: sessionStorage");
    assert_eq!(page["cookies"], json!(""), "{what}: cookies");
    assert_eq!(
        page["csp_violations"],
        json!([]),
        "{what}: Content-Security-Policy violations"
    );
    for problem in page["problems"].as_array().unwrap() {
        let problem = problem.as_str().unwrap();
        assert!(
            problem.starts_with(
                "console: Failed to load resource: the server responded with a status of 4"
            ),
            "{what}: unexpected error in the page: {problem}"
        );
    }
}

#[test]
fn web_page_mints_tokens_in_a_real_browser() {
    let started = Instant::now();
    let root = workspace_root();
    check_prerequisites(&root);

    // A non-dev server: one admin caller, one ordinary caller, an admin profile allowing ttl.
    let dir = TempDir::new();
    std::fs::write(dir.0.join("secret"), ADMIN_SECRET).unwrap();
    let config = format!(
        r#"livekit_url = "{ADMIN_LIVEKIT_URL}"
api_key = "{ADMIN_API_KEY}"
api_secret_file = "secret"

[[caller]]
name = "web-admin"
key_sha256 = "{admin}"
profile = "ops"
admin = true

[[caller]]
name = "web-user"
key_sha256 = "{user}"
profile = "ops"

[profile.ops]
rooms = ["ops-*"]
identity = "request"
fields = ["participant_identity", "participant_name", "participant_metadata", "ttl"]
ttl = "1h"
max_ttl = "24h"

[profile.ops.grants]
room_admin = true
room_list = true
can_subscribe_metrics = true
"#,
        admin = key_hash(ADMIN_CALLER_KEY),
        user = key_hash(USER_CALLER_KEY),
    );
    let config_path = dir.0.join("roomkey.toml");
    std::fs::write(&config_path, config).unwrap();

    let dev = RoomkeyServe::start(&["--dev"], &[]);
    let ops = RoomkeyServe::start(&["--config", config_path.to_str().unwrap()], &[]);

    let dev_form = json!({
        "identity": "web-alice",
        "room": "web-standup",
        "name": "Zoë 李 🎧",
        "metadata": "{\"role\":\"host\",\"note\":\"ünïcödé ✓\"}",
        "ttl": DEV_TTL,
        "destinationRoom": "web-overflow",
        "canPublish": false,
        "canSubscribe": true,
        "canPublishData": null,
        "hidden": true,
        "roomCreate": false,
        "roomList": null,
        "roomRecord": true,
        "roomAdmin": null,
        "ingressAdmin": null,
        "canUpdateOwnMetadata": false,
        "recorder": null,
        "agent": true,
        "canSubscribeMetrics": null,
        "createRoomIfNotExists": null,
    });
    let admin_form = json!({
        "identity": "ops-bob",
        "room": "ops-room",
        "name": "Bob (ops)",
        "metadata": "",
        "ttl": ADMIN_TTL,
        "canPublish": null,
        "canSubscribe": true,
        "roomAdmin": true,
        "roomList": false,
        "canSubscribeMetrics": true,
        "hidden": null,
    });
    let screenshot = std::env::temp_dir().join("roomkey-page.png");
    // Tokens for the inspect panel, signed with the dev server's own secret.
    let expired_minted_at = roomkey_token::unix_now() - 7200;
    let expired = AccessToken::new()
        .with_identity("inspect-dave")
        .with_name("Dave")
        .with_video(VideoGrant::join("inspect-past"))
        .with_ttl(Duration::from_secs(600))
        .sign_at(&dev_key(), expired_minted_at)
        .unwrap();
    let hostile = AccessToken::new()
        .with_identity(HOSTILE_IDENTITY)
        .with_name(HOSTILE_NAME)
        .with_video(VideoGrant::join(HOSTILE_ROOM))
        .sign(&dev_key())
        .unwrap();

    let browser_started = Instant::now();
    let out = Command::new("node")
        .current_dir(&root)
        .arg("interop/browser/webpage.mjs")
        .arg(dev.base())
        .args(["--admin-url", ops.base()])
        .args(["--admin-key", ADMIN_CALLER_KEY])
        .args(["--user-key", USER_CALLER_KEY])
        .args(["--dev-form", &dev_form.to_string()])
        .args(["--admin-form", &admin_form.to_string()])
        .args(["--expired-token", &expired])
        .args(["--hostile-token", &hostile])
        .arg("--screenshot")
        .arg(&screenshot)
        .stdin(Stdio::null())
        .output()
        .expect("run node interop/browser/webpage.mjs");
    let browser_secs = browser_started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "webpage.mjs failed ({}):\nstdout: {stdout}\nstderr: {stderr}\ndev server:\n{}\nconfigured server:\n{}",
        out.status,
        dev.log(),
        ops.log()
    );
    let results: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("webpage.mjs printed no JSON ({e}): {stdout}\n{stderr}"));
    assert_eq!(results["ok"], json!(true));

    // ---- dev server: the form -------------------------------------------------------------
    let page = &results["dev"];
    assert_eq!(page["status"], json!(200));
    assert_eq!(page["dev_header"], json!("1"));
    assert!(
        s(page, "/csp_header").contains("default-src 'none'"),
        "the page is served with its Content-Security-Policy"
    );
    assert!(s(page, "/mode").contains("Development"));
    assert_eq!(
        page["api_key_visible"],
        json!(false),
        "no key field in dev mode"
    );
    let fields = page["fields"].as_object().unwrap();
    assert_eq!(
        fields.len(),
        SEED_INPUTS.len(),
        "one input per input of the Generate Access Token action"
    );
    for (id, label, description) in SEED_INPUTS {
        let f = &fields[*id];
        assert_eq!(f["label"], json!(label), "label of #{id}");
        assert_eq!(f["description"], json!(description), "description of #{id}");
        assert_eq!(
            f["described_by_description"],
            json!(true),
            "#{id} aria-describedby"
        );
        let is_switch =
            OPTIONAL_BOOLS.contains(id) || FLAGS.contains(id) || *id == "createRoomIfNotExists";
        if is_switch {
            assert_eq!(f["tag"], json!("select"), "#{id} is a tri-state select");
            assert_eq!(
                f["options"],
                json!([["", "unset"], ["true", "true"], ["false", "false"]]),
                "#{id} options"
            );
        }
    }
    // Text: seconds or a duration string, read by the server as the CLI reads --ttl.
    assert_eq!(fields["ttl"]["type"], json!("text"));

    let dev_verifier = verifier("devkey", "secret");
    let result = check_form_result(page, &dev_verifier, "devkey", &dev_form, "dev form");
    assert_eq!(s(result, "/server_url"), "ws://localhost:7880");
    assert!(
        s(result, "/expires_text").contains("(in 15 minutes)"),
        "expiry as a relative time: {}",
        s(result, "/expires_text")
    );
    let sent: Value = serde_json::from_str(s(result, "/request_json")).unwrap();
    for (k, v) in dev_form.as_object().unwrap() {
        match v {
            Value::Null => assert!(sent.get(k).is_none(), "unset {k} is not sent"),
            v => assert_eq!(&sent[k], v, "{k} is sent by its own name"),
        }
    }

    let refused = &page["refused"];
    assert_eq!(refused["code"], json!("bad_request:"), "{refused:#}");
    assert!(s(refused, "/message").contains("256"), "{refused:#}");
    assert_eq!(
        refused["invalid"],
        json!(["room"]),
        "the field is highlighted"
    );
    assert_eq!(refused["focused"], json!("room"));
    assert_eq!(
        refused["result_visible"],
        json!(false),
        "an error hides the old token"
    );
    assert_eq!(page["identity_required"]["invalid"], json!("true"));
    assert_eq!(
        page["identity_required"]["requests_sent"],
        json!(0),
        "an empty identity is caught by the page"
    );
    check_page_hygiene(page, "dev page");

    // ---- configured server: the admin key --------------------------------------------------
    let page = &results["admin"];
    assert_eq!(page["status"], json!(200));
    assert_eq!(page["dev_header"], Value::Null);
    assert!(s(page, "/mode").contains("Admin"));
    assert_eq!(page["api_key_visible"], json!(true));
    assert_eq!(page["api_key_type"], json!("password"));
    assert_eq!(page["api_key_label"], json!("Admin API key"));

    // The refusals the page shows: (scenario, error code, or None where it is not checked, the
    // field marked invalid, part of the message).
    for (scenario, code, field, message) in [
        (
            "no_key",
            Some("unauthenticated:"),
            "apiKey",
            "Admin API key",
        ),
        (
            "wrong_key",
            Some("unauthenticated:"),
            "apiKey",
            "not accepted",
        ),
        ("user_key", Some("admin_only:"), "apiKey", "not an admin"),
        ("ttl_too_long", Some("forbidden:"), "ttl", "at most 86400"),
        ("ttl_zero", None, "ttl", "TTL must be positive"),
    ] {
        let error = &page[scenario]["error"];
        if let Some(code) = code {
            assert_eq!(error["code"], json!(code), "{scenario}: {error:#}");
        }
        assert_eq!(error["invalid"], json!([field]), "{scenario}: {error:#}");
        assert!(
            s(error, "/message").contains(message),
            "{scenario}: {error:#}"
        );
    }
    let ops_verifier = verifier(ADMIN_API_KEY, ADMIN_SECRET);
    let duration = &page["ttl_duration"]["result"];
    let claims = verified_payload(&ops_verifier, s(duration, "/token"), "ttl 1h30m");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap(),
        5400,
        "a duration typed into the TTL field"
    );

    let result = check_form_result(
        page,
        &ops_verifier,
        ADMIN_API_KEY,
        &admin_form,
        "admin form",
    );
    assert_eq!(s(result, "/server_url"), ADMIN_LIVEKIT_URL);
    check_page_hygiene(page, "admin page");

    // ---- dev server: the "Inspect a token" panel -------------------------------------------
    let panel = &results["inspect"];
    assert_eq!(panel["token_label"], json!("Token"), "{panel:#}");
    assert!(
        s(panel, "/token_described_by").contains("inspect-token-desc"),
        "{panel:#}"
    );

    // The token the form just minted, sent over by its Inspect button: healthy.
    let minted = &panel["minted"];
    assert_eq!(
        minted["pasted"],
        json!(true),
        "the Inspect button fills the panel"
    );
    assert_eq!(s(minted, "/identity"), "inspect-carol", "{minted:#}");
    assert_eq!(s(minted, "/name"), "Carol");
    assert_eq!(s(minted, "/room"), "inspect-room");
    assert_eq!(s(minted, "/iss"), "devkey");
    check_unchecked(minted, "minted token");
    assert!(
        !shown_findings(minted)
            .iter()
            .any(|(sev, _)| *sev == "error"),
        "a freshly minted token has no errors: {minted:#}"
    );
    assert_eq!(s(minted, "/verdict_class"), "alert ok", "{minted:#}");
    assert_eq!(s(minted, "/status_live"), "polite");
    assert!(
        s(minted, "/status").starts_with("Inspected: "),
        "{minted:#}"
    );
    assert_eq!(s(minted, "/ttl"), "600 s (10 min)");
    // Relative to the server's clock, which may have ticked since the token was minted.
    let minted_claims: Value = serde_json::from_str(s(minted, "/claims")).unwrap();
    assert_eq!(
        s(minted, "/exp_datetime"),
        roomkey_token::inspect::utc(minted_claims["exp"].as_i64().unwrap()),
        "{minted:#}"
    );
    assert!(
        s(minted, "/exp").contains("(in 9 min") || s(minted, "/exp").contains("(in 10 min)"),
        "{minted:#}"
    );
    assert_eq!(minted["exp_marked_expired"], json!(false));
    // The effective video permissions: publishing and subscribing are on when left unset.
    let video = &minted["video"];
    for (key, want) in [
        ("roomJoin", "true"),
        ("room", "inspect-room"),
        ("canPublish", "true"),
        ("canSubscribe", "true"),
        ("canPublishData", "true"),
        ("roomAdmin", "false"),
        ("canPublishSources", "all"),
    ] {
        assert_eq!(video[key], json!(want), "video.{key}: {video:#}");
    }
    assert_eq!(minted["grants"], json!(["video"]));

    // An expired token, signed with the secret the dev server has.
    let shown = &panel["expired"];
    let findings = shown_findings(shown);
    assert_eq!(
        findings.first(),
        Some(&("error", "expired")),
        "errors first: {shown:#}"
    );
    check_unchecked(shown, "expired token");
    let finding = &shown["findings"][0];
    assert!(
        s(finding, "/message").contains("expired 1 h 50 min ago"),
        "{finding:#}"
    );
    assert!(
        s(finding, "/hint").starts_with("mint a new one"),
        "{finding:#}"
    );
    assert_eq!(s(shown, "/identity"), "inspect-dave", "{shown:#}");
    assert_eq!(s(shown, "/room"), "inspect-past");
    assert_eq!(
        s(shown, "/exp_datetime"),
        roomkey_token::inspect::utc(expired_minted_at + 600),
        "the expiry shown is the token's exp, in UTC"
    );
    assert!(s(shown, "/exp").contains(" ago)"), "{shown:#}");
    assert_eq!(shown["exp_marked_expired"], json!(true), "{shown:#}");
    assert_eq!(s(shown, "/verdict_class"), "alert error");
    assert!(s(shown, "/verdict").starts_with("1 error: "), "{shown:#}");
    assert!(s(shown, "/status").contains("1 error"), "{shown:#}");
    assert!(s(shown, "/judged_at").contains("60 s leeway"), "{shown:#}");

    // Claims that are markup stay text.
    let shown = &panel["hostile"];
    assert_eq!(s(shown, "/identity"), HOSTILE_IDENTITY, "{shown:#}");
    assert_eq!(s(shown, "/name"), HOSTILE_NAME);
    assert_eq!(s(shown, "/room"), HOSTILE_ROOM);
    assert_eq!(shown["video"]["room"], json!(HOSTILE_ROOM));
    assert_eq!(
        shown["injected_elements"],
        json!(0),
        "no element from the claims"
    );
    assert_eq!(shown["pwned"], Value::Null, "no script from the claims ran");
    check_unchecked(shown, "hostile token");

    // Garbage: malformed, and nothing else to show.
    let shown = &panel["garbage"];
    assert_eq!(shown_findings(shown), [("error", "malformed")], "{shown:#}");
    assert!(
        s(shown, "/findings/0/message").contains("3 dot-separated parts"),
        "{shown:#}"
    );
    assert_eq!(s(shown, "/identity"), "(none)");
    assert_eq!(s(shown, "/exp"), "not set");
    assert_eq!(shown["grants"], json!([]));
    assert!(
        s(shown, "/permissions_text").contains("no grants"),
        "{shown:#}"
    );
    assert_eq!(s(shown, "/verdict_class"), "alert error");

    assert_eq!(
        panel["empty"]["requests_sent"],
        json!(0),
        "an empty paste is caught by the page"
    );
    assert_eq!(
        panel["empty"]["message"],
        json!("Paste a token to inspect.")
    );
    check_page_hygiene(panel, "inspect panel");

    // ---- livekit-client's TokenSource.endpoint against /api/token ---------------------------
    let sdk = &results["sdk"];
    assert_eq!(sdk["livekit_client"], json!("2.23.0"));
    assert_eq!(sdk["keys"], json!(["serverUrl", "participantToken"]));
    assert_eq!(s(sdk, "/server_url"), "ws://localhost:7880");
    let payload = verified_payload(
        &dev_verifier,
        s(sdk, "/participant_token"),
        "TokenSource.endpoint",
    );
    assert_eq!(payload["sub"], json!("sdk-user"));
    assert_eq!(payload["name"], json!("SDK Ünïcode"));
    assert_eq!(payload["metadata"], json!("sdk-meta"));
    assert_eq!(payload["attributes"], json!({"team": "blue"}));
    assert_eq!(
        payload["video"],
        json!({"roomJoin": true, "room": "sdk-room"})
    );
    assert_eq!(
        payload["roomConfig"]["agents"][0]["agentName"],
        json!("triage")
    );
    assert_eq!(
        payload["roomConfig"]["agents"][0]["metadata"],
        json!("{\"lang\":\"de\"}")
    );
    assert_eq!(
        sdk["payload"]["sub"],
        json!("sdk-user"),
        "the SDK decodes the token itself"
    );
    check_page_hygiene(sdk, "sdk page");

    eprintln!(
        "web: Chromium {} — 4 scenarios in {:.1} s (browser {:.1} s); screenshot {}",
        results["chromium"].as_str().unwrap_or("?"),
        started.elapsed().as_secs_f64(),
        browser_secs,
        screenshot.display()
    );
    drop(dev);
    drop(ops);
}
