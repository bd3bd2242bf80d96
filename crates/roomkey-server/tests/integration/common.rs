//! Shared helpers: configurations, requests through the router, token verification, and a
//! small identity provider that serves a JWKS on loopback.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use base64::Engine as _;
use roomkey_server::AuditLog;
use roomkey_server::hash_key;
use roomkey_server::{App, Config, EnvOverrides};
use roomkey_token::{ApiSecret, Claims, KeyPair, KeySet, Verifier};
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The LiveKit API key the server signs with.
pub const API_KEY: &str = "APItest";
/// Its secret (test-only).
pub const API_SECRET: &str = "test-only-secret-0123456789abcdefghijklmnop";
/// Static caller keys (test-only). Their SHA-256 goes into the configuration.
pub const BACKEND_KEY: &str = "rk_test_backend_Zq8W3mX1pL0vN7cT";
pub const ADMIN_KEY: &str = "rk_test_admin_Hs5Yk2Ja9Qe4Rb6U";
pub const KIOSK_KEY: &str = "rk_test_kiosk_Fd3Gv7Lm1Np8Wx2S";
pub const VIEWER_ADMIN_KEY: &str = "rk_test_viewer_admin_Tt4Kc9Bq2Zr6";

/// The LiveKit URL handed out.
pub const LIVEKIT_URL: &str = "wss://lk.test.invalid";

/// Credentials from the "environment".
pub fn env() -> EnvOverrides {
    EnvOverrides {
        api_key: Some(API_KEY.into()),
        api_secret: Some(API_SECRET.into()),
        ..EnvOverrides::default()
    }
}

/// A configuration with four static callers and no rate limits:
/// * `backend` → `service`: every field allowed but `lk.` attributes, identity from the
///   request, any room;
/// * `kiosk` → `kiosk`: nothing may be set, generated identity, rooms `lobby` and `support-*`,
///   a viewer (`can_publish = false`);
/// * `ops` (admin) → `admin`: room admin, list, sources camera+mic, destination `stage`, ttl;
/// * `viewer-admin` (admin) → `viewer`: may use the Generate Access Token action, but only as a
///   viewer.
///
/// `extra` is appended at the top level (before the tables).
pub fn base_config(extra: &str) -> String {
    format!(
        r#"livekit_url = "{LIVEKIT_URL}"
cors_origins = ["https://app.example.com"]
{extra}

[metrics]
public = true

[rate_limit]
per_caller_per_minute = 0
per_ip_per_minute = 0

[[caller]]
name = "backend"
key_sha256 = "{backend}"
profile = "service"

[[caller]]
name = "kiosk"
key_sha256 = "{kiosk}"
profile = "kiosk"

[[caller]]
name = "ops"
key_sha256 = "{admin}"
profile = "admin"
admin = true

[[caller]]
name = "viewer-admin"
key_sha256 = "{viewer_admin}"
profile = "viewer"
admin = true

[profile.service]
rooms = ["*"]
identity = "request"
fields = ["participant_identity", "participant_name", "participant_metadata", "participant_attributes", "room_config.agents", "room_config.agents.deployment", "room_config.agents.restart_policy", "room_config.agents.attributes", "room_config.settings"]
agents = ["triage", "support-*"]
ttl = "1h"
max_ttl = "6h"

[profile.service.grants]
can_update_own_metadata = true

[profile.kiosk]
rooms = ["lobby", "support-*"]
room_prefix = "kiosk-"
identity = "generated"
ttl = "10m"

[profile.kiosk.grants]
can_publish = false

[profile.admin]
rooms = ["*"]
identity = "request"
fields = ["participant_identity", "participant_name", "participant_metadata", "ttl"]
ttl = "6h"
max_ttl = "24h"

[profile.admin.grants]
room_admin = true
room_list = true
hidden = true
can_update_own_metadata = true
can_publish_sources = ["camera", "microphone"]
destination_room = "stage"

[profile.viewer]
rooms = ["*"]
identity = "request"
fields = ["participant_identity", "participant_name"]
ttl = "5m"

[profile.viewer.grants]
can_publish = false
"#,
        backend = hash_key(BACKEND_KEY),
        kiosk = hash_key(KIOSK_KEY),
        admin = hash_key(ADMIN_KEY),
        viewer_admin = hash_key(VIEWER_ADMIN_KEY),
    )
}

/// The configuration with a per-caller rate limit instead of none.
pub fn caller_rate_limit(text: &str, per_minute: u32, burst: u32) -> String {
    let limited = format!("per_caller_per_minute = {per_minute}\nburst = {burst}");
    assert!(text.contains("per_caller_per_minute = 0"), "{text}");
    text.replace("per_caller_per_minute = 0", &limited)
}

/// The configuration with a per-address rate limit instead of none.
pub fn ip_rate_limit(text: &str, per_minute: u32, burst: u32) -> String {
    let limited = format!("per_ip_per_minute = {per_minute}\nburst = {burst}");
    assert!(text.contains("per_ip_per_minute = 0"), "{text}");
    text.replace("per_ip_per_minute = 0", &limited)
}

/// Parses a configuration (credentials from [`env`]), panicking with the error.
pub fn config(text: &str) -> Config {
    logs();
    Config::parse("test.toml", text, &env(), None).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// The application for a configuration text, writing its audit lines straight into the log
/// writer of [`logs`], as `roomkey serve` does with JSON logs.
pub fn app(text: &str) -> Arc<App> {
    let config = config(text);
    let sink = SINK.get().expect("config() set up the logs").clone();
    App::with_audit_log(config, AuditLog::Json(sink)).expect("app")
}

/// The router for a configuration text.
pub fn router(text: &str) -> Router {
    roomkey_server::router(app(text))
}

/// An answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    /// The body as JSON (`Null` when it is not JSON).
    pub json: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the status, the JSON error envelope and `Cache-Control: no-store`; returns the
    /// inner `error` object.
    #[track_caller]
    pub fn error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            self.headers
        );
        assert_eq!(self.header("cache-control"), Some("no-store"));
        let error = &self.json["error"];
        assert_eq!(error["code"], code, "{}", self.text);
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            self.text
        );
        error
    }

    /// Asserts a 403 naming `field`.
    #[track_caller]
    pub fn forbidden(&self, field: &str) {
        let error = self.error(403, "forbidden");
        assert_eq!(error["field"], field, "{}", self.text);
        assert!(
            error["message"].as_str().unwrap().starts_with(field),
            "{}",
            self.text
        );
    }

    /// Asserts a 201 from the standard endpoint; verifies the token and returns its claims.
    #[track_caller]
    pub fn issued(&self) -> Claims {
        assert_eq!(self.status, StatusCode::CREATED, "{}", self.text);
        assert_eq!(self.header("cache-control"), Some("no-store"));
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json"))
        );
        let token = self.json["participant_token"]
            .as_str()
            .expect("participant_token");
        let claims = verify(token);
        assert_eq!(self.json["room_name"], claims.room(), "{}", self.text);
        assert_eq!(self.json["participant_name"], claims.name.as_str());
        assert!(self.json["server_url"].is_string());
        let mut keys: Vec<_> = self.json.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "participant_name",
                "participant_token",
                "room_name",
                "server_url"
            ],
            "the standard answer has its four fields and nothing else"
        );
        claims
    }
}

/// Sends a request through the router.
pub async fn call(router: &Router, request: Request<Body>) -> Reply {
    logs();
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        text,
        json,
    }
}

/// A JSON POST with an optional bearer token.
pub fn post(path: &str, bearer: Option<&str>, body: &Value) -> Request<Body> {
    post_raw(
        path,
        bearer,
        Some("application/json"),
        serde_json::to_vec(body).unwrap(),
    )
}

/// A POST with any content type and body.
pub fn post_raw(
    path: &str,
    bearer: Option<&str>,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> Request<Body> {
    let mut builder = Request::post(path);
    if let Some(bearer) = bearer {
        builder = builder.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
    }
    if let Some(ct) = content_type {
        builder = builder.header(header::CONTENT_TYPE, ct);
    }
    builder.body(body.into()).unwrap()
}

/// A raw `POST /api/token` from the backend caller: the body as given, of this content type.
pub fn backend_raw(content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    post_raw("/api/token", Some(BACKEND_KEY), content_type, body)
}

/// The request with one more header.
pub fn with_header(mut request: Request<Body>, name: &'static str, value: &str) -> Request<Body> {
    request
        .headers_mut()
        .insert(name, value.parse().expect("a header value"));
    request
}

/// `POST /api/token` through the router.
pub async fn token(router: &Router, bearer: Option<&str>, body: Value) -> Reply {
    call(router, post("/api/token", bearer, &body)).await
}

/// `POST /api/v1/generate-access-token` through the router.
pub async fn action(router: &Router, bearer: Option<&str>, body: Value) -> Reply {
    call(router, post("/api/v1/generate-access-token", bearer, &body)).await
}

/// `GET path`.
pub async fn get(router: &Router, path: &str) -> Reply {
    call(router, Request::get(path).body(Body::empty()).unwrap()).await
}

/// A server on a loopback port, as `roomkey serve` runs it, until [`Served::signal`].
pub struct Served {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Serves `app` on a free loopback port on the current runtime.
pub async fn serve_on_loopback(app: Arc<App>) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(roomkey_server::serve(app, listener, async move {
        let _ = stopped.await;
    }));
    Served { addr, stop, server }
}

impl Served {
    /// `http://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Signals shutdown; the server's task ends once the requests in flight are answered.
    pub fn signal(self) -> tokio::task::JoinHandle<std::io::Result<()>> {
        self.stop.send(()).expect("the server is still running");
        self.server
    }

    /// Signals shutdown and waits for a clean stop.
    pub async fn stop(self) {
        self.signal().await.unwrap().unwrap();
    }
}

/// roomkey's verifier for the server's key.
pub fn verifier() -> Verifier {
    Verifier::new(KeySet::single(
        KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).unwrap(),
    ))
}

/// Verifies a token the server issued and returns its claims.
#[track_caller]
pub fn verify(token: &str) -> Claims {
    let claims = verifier()
        .verify(token)
        .unwrap_or_else(|e| panic!("the server issued a token that does not verify: {e}"))
        .claims;
    assert_eq!(claims.iss, API_KEY);
    claims
}

/// Lifetime of a verified token, seconds.
pub fn ttl_of(claims: &Claims) -> i64 {
    claims.exp.unwrap() - claims.nbf.unwrap()
}

pub fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Logs

/// Everything the tests log, as JSON lines: one process-wide subscriber with the server's own
/// JSON layer and log writer (`roomkey_server::logging`), as `roomkey serve` logs.
///
/// It is installed before any test builds a server ([`config`] and [`call`] call this), so no
/// server callsite is first seen while it is being installed (a per-thread subscriber races
/// with tests on other threads and can miss events).
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

/// The log writer behind [`logs`].
static SINK: OnceLock<roomkey_server::LogSink> = OnceLock::new();

impl Logs {
    /// Everything logged so far (what the log writer still holds is written out first).
    pub fn text(&self) -> String {
        if let Some(sink) = SINK.get() {
            sink.flush();
        }
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide log capture.
pub fn logs() -> &'static Logs {
    static LOGS: OnceLock<Logs> = OnceLock::new();
    LOGS.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt as _;
        let logs = Logs::default();
        let (sink, guard) = roomkey_server::LogSink::spawn(Box::new(logs.clone()));
        // The writer runs for the whole test process.
        std::mem::forget(guard);
        let _ = SINK.set(sink.clone());
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::filter::LevelFilter::TRACE)
            .with(roomkey_server::json_layer(sink));
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
        logs
    })
}

// ---------------------------------------------------------------------------------------------
// A test identity provider

/// The test-only key files in `tests/data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestKey {
    /// RSA 2048: the provider's RS256 key.
    RsaA,
    /// RSA 2048: the forger's key, and the key rotated in.
    RsaB,
    /// P-256: the provider's ES256 key.
    Ec,
}

impl TestKey {
    fn file(self) -> &'static str {
        match self {
            TestKey::RsaA => "test-only-rsa-a",
            TestKey::RsaB => "test-only-rsa-b",
            TestKey::Ec => "test-only-ec-p256",
        }
    }

    fn data(self, ext: &str) -> String {
        let path = format!(
            "{}/tests/data/{}.{ext}",
            env!("CARGO_MANIFEST_DIR"),
            self.file()
        );
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// The public key as a JWK with `kid`.
    pub fn jwk(self, kid: &str) -> Value {
        let mut jwk: Value = serde_json::from_str(&self.data("jwk.json")).unwrap();
        jwk["kid"] = json!(kid);
        jwk
    }

    /// The private key for signing.
    pub fn encoding_key(self) -> jsonwebtoken::EncodingKey {
        let pem = self.data("pem");
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        match self {
            TestKey::Ec => jsonwebtoken::EncodingKey::from_ec_der(&der),
            _ => jsonwebtoken::EncodingKey::from_rsa_der(&der),
        }
    }

    pub fn alg(self) -> jsonwebtoken::Algorithm {
        match self {
            TestKey::Ec => jsonwebtoken::Algorithm::ES256,
            _ => jsonwebtoken::Algorithm::RS256,
        }
    }
}

/// Issuer and audience of the test provider.
pub const ISSUER: &str = "https://idp.test.invalid/";
pub const AUDIENCE: &str = "roomkey-test";

/// Session claims for `sub`, valid for ten minutes.
pub fn session_claims(sub: &str) -> Value {
    let now = now();
    json!({"iss": ISSUER, "aud": AUDIENCE, "sub": sub, "iat": now, "nbf": now - 5, "exp": now + 600})
}

/// Signs session claims with a test key.
pub fn sign_session(key: TestKey, kid: &str, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(key.alg());
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key.encoding_key()).unwrap()
}

/// A JWKS served on loopback, with a download counter; it can be made slow, and it also
/// serves a redirect to itself (`/redirect`) and an oversized copy (`/huge`).
#[derive(Debug, Clone)]
pub struct Idp {
    pub addr: SocketAddr,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    delay: Arc<Mutex<Duration>>,
}

impl Idp {
    /// Serves `keys` at `http://127.0.0.1:PORT/jwks.json` on the current runtime.
    pub async fn start(keys: Vec<Value>) -> Idp {
        let idp = Idp {
            addr: "127.0.0.1:0".parse().unwrap(),
            keys: Arc::new(Mutex::new(keys)),
            fetches: Arc::new(AtomicUsize::new(0)),
            in_flight: Arc::new(AtomicUsize::new(0)),
            delay: Arc::new(Mutex::new(Duration::ZERO)),
        };
        let served = idp.clone();
        let jwks = move || {
            let idp = served.clone();
            async move {
                idp.fetches.fetch_add(1, Ordering::SeqCst);
                idp.in_flight.fetch_add(1, Ordering::SeqCst);
                let delay = *idp.delay.lock().unwrap();
                tokio::time::sleep(delay).await;
                idp.in_flight.fetch_sub(1, Ordering::SeqCst);
                let keys = idp.keys.lock().unwrap().clone();
                axum::Json(json!({ "keys": keys }))
            }
        };
        let huge = {
            let keys = idp.keys.clone();
            move || {
                let keys = keys.lock().unwrap().clone();
                let padding = "x".repeat(2 * 1024 * 1024);
                async move { axum::Json(json!({ "keys": keys, "padding": padding })) }
            }
        };
        let app = Router::new()
            .route("/jwks.json", axum::routing::get(jwks))
            .route(
                "/redirect",
                axum::routing::get(|| async { axum::response::Redirect::temporary("/jwks.json") }),
            )
            .route("/huge", axum::routing::get(huge));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Idp { addr, ..idp }
    }

    /// Every JWKS answer from now on takes `delay`.
    pub fn set_delay(&self, delay: Duration) {
        *self.delay.lock().unwrap() = delay;
    }

    /// Downloads being answered now.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// The standard provider: `rsa-1` (RsaA) and `ec-1` (Ec).
    pub async fn standard() -> Idp {
        Idp::start(vec![TestKey::RsaA.jwk("rsa-1"), TestKey::Ec.jwk("ec-1")]).await
    }

    pub fn jwks_url(&self) -> String {
        format!("http://{}/jwks.json", self.addr)
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }

    /// An `[[oidc]]` table for this provider.
    pub fn oidc_table(&self, profile: &str, extra: &str) -> String {
        format!(
            "[[oidc]]\nissuer = \"{ISSUER}\"\njwks_url = \"{}\"\naudience = \"{AUDIENCE}\"\nprofile = \"{profile}\"\n{extra}\n",
            self.jwks_url()
        )
    }
}
