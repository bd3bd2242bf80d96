//! The HTTP side: connections, the request log, faults, and the server's middleware chain in
//! the order of `livekit/livekit pkg/service/server.go` (CORS, `RemoveDoubleSlashes`, the body
//! limit, API-key auth, then the mux with the Twirp RoomService handler).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Extension, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, header};
use axum::routing::any;
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use roomkey_token::{Claims, Verifier, VerifyOptions};
use tower::ServiceExt as _;

use crate::auth::{self, AuthOutcome, Credentials, RoomGrants};
use crate::config::TestServerConfig;
use crate::faults::{Fault, FaultQueue};
use crate::pjson::{self, FromJson, ToJson};
use crate::proto;
use crate::service::Service;
use crate::twirp::{self, TwirpError, go_quote};

/// The path prefix of the RoomService Twirp handler on the server's mux.
pub(crate) const ROOM_SERVICE_PREFIX: &str = "/twirp/livekit.RoomService/";

/// One request, as the server saw and answered it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LoggedRequest {
    /// Arrival order, from 0.
    pub seq: u64,
    /// When the request's head arrived.
    pub received_at: Instant,
    /// HTTP method.
    pub method: String,
    /// The path as routed: percent-decoded, a leading `//` collapsed.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The RoomService method named by the path (`CreateRoom` for
    /// `/twirp/livekit.RoomService/CreateRoom`), whether or not it exists.
    pub rpc: Option<String>,
    /// The request's `Content-Type`.
    pub content_type: Option<String>,
    /// The request's `User-Agent`.
    pub user_agent: Option<String>,
    /// The request's `Authorization` header.
    pub authorization: Option<String>,
    /// The token presented (header or `access_token`), if any.
    pub token: Option<String>,
    /// What the auth middleware made of it. `Anonymous` also for requests that never reached
    /// it (faults, 413).
    pub auth: AuthOutcome,
    /// The request body as read (empty if it was not read).
    pub request_body: Bytes,
    /// The response status; `None` when the connection was dropped without a response.
    pub status: Option<u16>,
    /// The response's `Content-Type`.
    pub response_content_type: Option<String>,
    /// The response body.
    pub response_body: Bytes,
    /// The injected fault that answered the request, if any.
    pub fault: Option<Fault>,
    /// Injected delay before the request was handled.
    pub delay: Duration,
}

impl LoggedRequest {
    /// The verified token's claims.
    pub fn claims(&self) -> Option<&Claims> {
        match &self.auth {
            AuthOutcome::Verified { claims, .. } => Some(claims),
            _ => None,
        }
    }

    /// The verified token's payload as JSON (exactly what was signed).
    pub fn token_payload(&self) -> Option<serde_json::Value> {
        match &self.auth {
            AuthOutcome::Verified { payload, .. } => serde_json::from_str(payload).ok(),
            _ => None,
        }
    }

    /// The presented token's JOSE header as JSON (verified or not).
    pub fn token_header(&self) -> Option<serde_json::Value> {
        let token = self.token.as_deref()?;
        let header = auth::decode_segment(token.split('.').next()?)?;
        serde_json::from_str(&header).ok()
    }

    /// The video grant as the server read it from a verified token.
    pub fn grants(&self) -> Option<&RoomGrants> {
        self.auth.video()
    }

    /// The request body parsed as JSON, if it is JSON.
    pub fn request_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.request_body).ok()
    }

    /// The response body parsed as JSON, if it is JSON.
    pub fn response_json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.response_body).ok()
    }
}

/// Everything the connections share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: TestServerConfig,
    pub(crate) verifier: Verifier,
    pub(crate) service: Service,
    pub(crate) log: Mutex<Vec<LoggedRequest>>,
    pub(crate) attempts: Mutex<BTreeMap<String, usize>>,
    pub(crate) faults: Mutex<FaultQueue>,
    pub(crate) seq: AtomicU64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: TestServerConfig) -> Self {
        let mut options = VerifyOptions::default();
        options.leeway = config.token_leeway;
        // The Go server sets no cap on a token's size; headers are bounded by the HTTP layer.
        options.max_token_len = usize::MAX;
        let verifier = Verifier::new(config.keys.clone()).with_options(options);
        Shared {
            service: Service::new(config.clone()),
            config,
            verifier,
            log: Mutex::new(Vec::new()),
            attempts: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(FaultQueue::default()),
            seq: AtomicU64::new(0),
        }
    }
}

/// The error a request handler returns to make hyper close the connection unanswered.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

/// The request body as the handlers see it.
#[derive(Debug, Clone)]
pub(crate) enum BodyState {
    Read(Bytes),
    /// `Content-Length` over the limit: the body was not read.
    DeclaredTooLarge,
    /// Reading failed (more than the limit arrived, or the connection broke).
    ReadError,
}

/// Per-request context handed from the middleware chain to the mux's handlers.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) path: String,
    pub(crate) auth: AuthOutcome,
    pub(crate) body: BodyState,
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
}

/// The media type of a `Content-Type` value, as Twirp reads it: before any `;`, trimmed,
/// lower-cased.
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// The RoomService method a routed path names.
fn rpc_name(path: &str) -> Option<String> {
    let rest = path.strip_prefix(ROOM_SERVICE_PREFIX)?;
    (!rest.contains('/')).then(|| rest.to_owned())
}

/// Go's `path.Clean` plus the mux's trailing-slash rule (`cleanPath` in net/http).
fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return "/".into();
    }
    let p = if p.starts_with('/') {
        p.to_owned()
    } else {
        format!("/{p}")
    };
    let mut stack: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                stack.pop();
            }
            s => stack.push(s),
        }
    }
    let mut np = format!("/{}", stack.join("/"));
    if p.ends_with('/') && np != "/" {
        np.push('/');
    }
    np
}

/// Go's `url.PathUnescape`: `None` for a bad `%` escape (net/http then answers 400 itself);
/// bytes that are not UTF-8 are kept (lossily, here).
fn decode_path(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Re-encodes a decoded path so that it can be put back in a URI for routing.
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn moved_permanently(location: &str, method: &Method) -> Response<Body> {
    let mut resp = if method == Method::GET {
        let mut r = Response::new(Body::from(format!(
            "<a href=\"{}\">Moved Permanently</a>.\n\n",
            location
                .replace('&', "&amp;")
                .replace('"', "&#34;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        )));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        r
    } else {
        Response::new(Body::empty())
    };
    *resp.status_mut() = StatusCode::MOVED_PERMANENTLY;
    if let Ok(v) = HeaderValue::from_str(location) {
        resp.headers_mut().insert(header::LOCATION, v);
    }
    resp
}

/// What the CORS middleware decided.
enum Cors {
    /// A preflight, answered here.
    Preflight(Response<Body>),
    /// An actual request: add these headers to its response.
    Actual(HeaderMap),
}

/// rs/cors with `AllowOriginFunc: true`, methods OPTIONS/HEAD/GET/POST/PATCH/DELETE, all
/// headers, expose `*`, max age 86400. Returns a complete response for a preflight, otherwise
/// the headers to add to the eventual response.
fn cors(method: &Method, headers: &HeaderMap) -> Cors {
    const ALLOWED: &[&str] = &["OPTIONS", "HEAD", "GET", "POST", "PATCH", "DELETE"];
    let origin = headers.get(header::ORIGIN).cloned();
    let mut out = HeaderMap::new();
    if method == Method::OPTIONS && headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD) {
        out.append(
            header::VARY,
            HeaderValue::from_static(
                "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
            ),
        );
        let requested = headers
            .get(header::ACCESS_CONTROL_REQUEST_METHOD)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).to_ascii_uppercase())
            .unwrap_or_default();
        if let Some(origin) = origin.filter(|o| !o.is_empty()) {
            if ALLOWED.contains(&requested.as_str()) {
                out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
                if let Ok(v) = HeaderValue::from_str(&requested) {
                    out.insert(header::ACCESS_CONTROL_ALLOW_METHODS, v);
                }
                if let Some(h) = headers
                    .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                    .filter(|h| !h.is_empty())
                {
                    out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, h.clone());
                }
                out.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static("86400"),
                );
            }
        }
        let mut resp = Response::new(Body::empty());
        *resp.status_mut() = StatusCode::NO_CONTENT;
        *resp.headers_mut() = out;
        return Cors::Preflight(resp);
    }
    out.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin.filter(|o| !o.is_empty()) {
        if ALLOWED.contains(&method.as_str()) {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            out.insert(
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static("*"),
            );
        }
    }
    Cors::Actual(out)
}

async fn read_body(body: Incoming, limit: usize) -> BodyState {
    let limit = if limit == 0 { usize::MAX } else { limit };
    match Limited::new(body, limit).collect().await {
        Ok(collected) => BodyState::Read(collected.to_bytes()),
        Err(_) => BodyState::ReadError,
    }
}

fn fault_response(fault: &Fault) -> Response<Body> {
    match fault {
        Fault::Status(status) => {
            let code = StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY);
            let text = format!(
                "{} {}\n",
                code.as_u16(),
                code.canonical_reason().unwrap_or("Error")
            );
            let mut resp = twirp::plain_text(code.as_u16(), &text);
            *resp.status_mut() = code;
            resp
        }
        Fault::Twirp { code, msg } => TwirpError::new(code, msg.clone()).into_response(),
        // Delay and Drop never produce a response.
        Fault::Delay(_) | Fault::Drop => twirp::plain_text(500, "fault"),
    }
}

/// Serves one request: log, faults, then the middleware chain and the mux.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    router: Router,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, DropConnection> {
    let received_at = Instant::now();
    let seq = shared.seq.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = req.into_parts();

    // Go's URL.Path is percent-decoded; RemoveDoubleSlashes then drops one leading slash.
    let raw_path = parts.uri.path().to_owned();
    let decoded = decode_path(&raw_path);
    let mut path = decoded.clone().unwrap_or_else(|| raw_path.clone());
    if path.starts_with("//") {
        path.remove(0);
    }
    let rpc = rpc_name(&path);
    if let Some(rpc) = &rpc {
        *lock(&shared.attempts).entry(rpc.clone()).or_insert(0) += 1;
    }
    let (delay, fault) = lock(&shared.faults).take(rpc.as_deref());

    let limit = shared.config.max_request_body;
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let body = if limit > 0 && declared.is_some_and(|n| n > limit as u64) {
        drop(body);
        BodyState::DeclaredTooLarge
    } else {
        read_body(body, limit).await
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let mut entry = LoggedRequest {
        seq,
        received_at,
        method: parts.method.to_string(),
        path: path.clone(),
        query: parts.uri.query().map(str::to_owned),
        rpc,
        content_type: header_str(&parts.headers, header::CONTENT_TYPE),
        user_agent: header_str(&parts.headers, header::USER_AGENT),
        authorization: header_str(&parts.headers, header::AUTHORIZATION),
        token: auth::presented_token(
            header_str(&parts.headers, header::AUTHORIZATION)
                .filter(|v| !v.is_empty())
                .as_deref(),
            parts.uri.query(),
        ),
        auth: AuthOutcome::Anonymous,
        request_body: match &body {
            BodyState::Read(b) => b.clone(),
            _ => Bytes::new(),
        },
        status: None,
        response_content_type: None,
        response_body: Bytes::new(),
        fault: fault.clone(),
        delay,
    };

    let response = match &fault {
        Some(Fault::Drop) => {
            lock(&shared.log).push(entry);
            return Err(DropConnection);
        }
        Some(f @ (Fault::Status(_) | Fault::Twirp { .. })) => fault_response(f),
        _ => {
            if decoded.is_none() {
                // net/http cannot parse the request line: it answers before any handler.
                let mut r = twirp::plain_text(400, "400 Bad Request");
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                r
            } else {
                let (resp, token, outcome) = chain(&shared, router, parts, path, body).await;
                entry.token = token;
                entry.auth = outcome;
                resp
            }
        }
    };

    let (resp_parts, resp_body) = response.into_parts();
    let bytes = resp_body
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes)
        .unwrap_or_default();
    entry.status = Some(resp_parts.status.as_u16());
    entry.response_content_type = header_str(&resp_parts.headers, header::CONTENT_TYPE);
    entry.response_body = bytes.clone();
    lock(&shared.log).push(entry);
    Ok(Response::from_parts(resp_parts, Full::new(bytes)))
}

/// The middleware chain: CORS, body limit, auth, then the mux (an axum router).
async fn chain(
    shared: &Arc<Shared>,
    router: Router,
    parts: Parts,
    path: String,
    body: BodyState,
) -> (Response<Body>, Option<String>, AuthOutcome) {
    let cors_headers = match cors(&parts.method, &parts.headers) {
        Cors::Actual(h) => h,
        Cors::Preflight(resp) => return (resp, None, AuthOutcome::Anonymous),
    };
    let finish = |mut resp: Response<Body>| {
        for (k, v) in &cors_headers {
            resp.headers_mut().append(k, v.clone());
        }
        resp
    };

    if matches!(body, BodyState::DeclaredTooLarge) {
        return (
            finish(twirp::plain_text(413, "request body too large")),
            None,
            AuthOutcome::Anonymous,
        );
    }

    let content_type = header_str(&parts.headers, header::CONTENT_TYPE).unwrap_or_default();
    let is_form = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH)
        && media_type(&content_type) == "application/x-www-form-urlencoded";
    let authorization = parts
        .headers
        .get(header::AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|v| !v.is_empty());
    let form_body = match (&body, is_form) {
        (BodyState::Read(b), true) => Some(b.clone()),
        _ => None,
    };
    let creds = Credentials {
        authorization: authorization.as_deref(),
        query: parts.uri.query(),
        form_body: form_body.as_deref(),
    };
    let now = i64::try_from(crate::service::now().as_secs()).unwrap_or(i64::MAX);
    let (outcome, token) = auth::authenticate(&creds, &shared.config.keys, &shared.verifier, now);
    if let AuthOutcome::Rejected(text) = &outcome {
        let resp = finish(twirp::plain_text(401, text));
        return (resp, token, outcome);
    }

    // The mux: cleaned paths only, anything else is redirected.
    let cleaned = clean_path(&path);
    if cleaned != path {
        let location = match parts.uri.query() {
            Some(q) => format!("{}?{q}", encode_path(&cleaned)),
            None => encode_path(&cleaned),
        };
        return (
            finish(moved_permanently(&location, &parts.method)),
            token,
            outcome,
        );
    }
    let uri: Uri = match parts.uri.query() {
        Some(q) => format!("{}?{q}", encode_path(&path)),
        None => encode_path(&path),
    }
    .parse()
    .unwrap_or_else(|_| Uri::from_static("/"));
    let mut req = Request::from_parts(parts, Body::empty());
    *req.uri_mut() = uri;
    req.extensions_mut().insert(Arc::new(Ctx {
        path,
        auth: outcome.clone(),
        body,
    }));
    let resp = match router.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    };
    (finish(resp), token, outcome)
}

// ---------------------------------------------------------------------------------------------
// The mux

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", any(health))
        .route("/settings/regions", any(regions))
        .route("/twirp/livekit.RoomService", any(add_slash))
        .route("/twirp/livekit.RoomService/", any(room_service))
        .route("/twirp/livekit.RoomService/{*rest}", any(room_service))
        .fallback(not_found)
        .with_state(shared)
}

async fn health() -> Response<Body> {
    twirp::plain_text(200, "OK")
}

async fn not_found() -> Response<Body> {
    twirp::http_error(404, "404 page not found")
}

async fn add_slash(method: Method, uri: Uri) -> Response<Body> {
    let location = match uri.query() {
        Some(q) => format!("{ROOM_SERVICE_PREFIX}?{q}"),
        None => ROOM_SERVICE_PREFIX.to_owned(),
    };
    moved_permanently(&location, &method)
}

async fn regions(State(shared): State<Arc<Shared>>) -> Response<Body> {
    let Some(urls) = &shared.config.regions else {
        return twirp::http_error(404, "404 page not found");
    };
    let regions: Vec<serde_json::Value> = urls
        .iter()
        .enumerate()
        .map(|(i, url)| {
            serde_json::json!({
                "region": format!("region-{}", i + 1),
                "url": url,
                "distance": i.to_string(),
            })
        })
        .collect();
    let body = serde_json::json!({ "regions": regions }).to_string();
    let mut resp = Response::new(Body::from(body));
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=0"));
    resp
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Json,
    Protobuf,
}

trait Wire: prost::Message + Default + FromJson {}
impl<T: prost::Message + Default + FromJson> Wire for T {}

fn decode<T: Wire>(enc: Encoding, body: &BodyState) -> Result<T, TwirpError> {
    match enc {
        Encoding::Json => {
            let msg = "the json request could not be decoded";
            let BodyState::Read(bytes) = body else {
                return Err(TwirpError::malformed(msg));
            };
            let value = pjson::first_value(bytes).ok_or_else(|| TwirpError::malformed(msg))?;
            pjson::decode_message::<T>(&value).map_err(|_| TwirpError::malformed(msg))
        }
        Encoding::Protobuf => {
            let BodyState::Read(bytes) = body else {
                return Err(TwirpError::malformed("failed to read request body"));
            };
            T::decode(bytes.as_ref())
                .map_err(|_| TwirpError::malformed("the protobuf request could not be decoded"))
        }
    }
}

fn encode<T: prost::Message + ToJson>(enc: Encoding, msg: &T) -> Response<Body> {
    let (bytes, content_type) = match enc {
        Encoding::Json => (pjson::to_json(msg).into_bytes(), "application/json"),
        Encoding::Protobuf => (msg.encode_to_vec(), "application/protobuf"),
    };
    let mut resp = Response::new(Body::from(bytes));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

/// Twirp's `parseTwirpPath`: `[<prefix>]/<package>.<Service>/<Method>`.
fn parse_twirp_path(path: &str) -> (String, &str, &str) {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 2 {
        return (String::new(), "", "");
    }
    let method = parts[parts.len() - 1];
    let service = parts[parts.len() - 2];
    (parts[..parts.len() - 2].join("/"), service, method)
}

const METHODS: &[&str] = &[
    "CreateRoom",
    "ListRooms",
    "DeleteRoom",
    "ListParticipants",
    "GetParticipant",
    "RemoveParticipant",
    "MutePublishedTrack",
    "UpdateParticipant",
    "UpdateSubscriptions",
    "SendData",
    "UpdateRoomMetadata",
    "ForwardParticipant",
    "MoveParticipant",
    "PerformRpc",
];

/// The generated Twirp `roomServiceServer.ServeHTTP`, then the service method.
async fn room_service(
    State(shared): State<Arc<Shared>>,
    Extension(ctx): Extension<Arc<Ctx>>,
    method: Method,
    headers: HeaderMap,
) -> Response<Body> {
    match serve_twirp(&shared, &ctx, &method, &headers).await {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

async fn serve_twirp(
    shared: &Shared,
    ctx: &Ctx,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response<Body>, TwirpError> {
    let path = ctx.path.as_str();
    if method != Method::POST {
        return Err(TwirpError::bad_route(
            format!(
                "unsupported method {} (only POST is allowed)",
                go_quote(method.as_str())
            ),
            method.as_str(),
            path,
        ));
    }
    let (prefix, service, name) = parse_twirp_path(path);
    let no_handler = || {
        TwirpError::bad_route(
            format!("no handler for path {}", go_quote(path)),
            "POST",
            path,
        )
    };
    if service != "livekit.RoomService" {
        return Err(no_handler());
    }
    if prefix != "/twirp" {
        return Err(TwirpError::bad_route(
            format!(
                "invalid path prefix {}, expected {}, on path {}",
                go_quote(&prefix),
                go_quote("/twirp"),
                go_quote(path)
            ),
            "POST",
            path,
        ));
    }
    if !METHODS.contains(&name) {
        return Err(no_handler());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let enc = match media_type(&content_type).as_str() {
        "application/json" => Encoding::Json,
        "application/protobuf" => Encoding::Protobuf,
        _ => {
            return Err(TwirpError::bad_route(
                format!("unexpected Content-Type: {}", go_quote(&content_type)),
                "POST",
                path,
            ));
        }
    };
    let svc = &shared.service;
    let g = ctx.auth.video();
    let body = &ctx.body;
    Ok(match name {
        "CreateRoom" => encode(enc, &svc.create_room(g, decode(enc, body)?)?),
        "ListRooms" => encode(enc, &svc.list_rooms(g, decode(enc, body)?)?),
        "DeleteRoom" => encode(enc, &svc.delete_room(g, decode(enc, body)?)?),
        "ListParticipants" => encode(enc, &svc.list_participants(g, decode(enc, body)?)?),
        "GetParticipant" => encode(enc, &svc.get_participant(g, decode(enc, body)?)?),
        "RemoveParticipant" => encode(enc, &svc.remove_participant(g, decode(enc, body)?)?),
        "MutePublishedTrack" => encode(enc, &svc.mute_published_track(g, decode(enc, body)?)?),
        "UpdateParticipant" => encode(enc, &svc.update_participant(g, decode(enc, body)?)?),
        "UpdateSubscriptions" => encode(enc, &svc.update_subscriptions(g, decode(enc, body)?)?),
        "SendData" => encode(enc, &svc.send_data(g, decode(enc, body)?)?),
        "UpdateRoomMetadata" => encode(enc, &svc.update_room_metadata(g, decode(enc, body)?)?),
        "ForwardParticipant" | "MoveParticipant" => {
            let req: proto::ForwardParticipantRequest = decode(enc, body)?;
            encode(enc, &svc.forward_or_move(g, req)?)
        }
        _ => encode(enc, &svc.perform_rpc(g, decode(enc, body)?).await?),
    })
}

/// Makes the connection service: every request goes through [`handle`].
pub(crate) fn connection_service(
    shared: Arc<Shared>,
    router: Router,
) -> impl hyper::service::Service<
    Request<Incoming>,
    Response = Response<Full<Bytes>>,
    Error = DropConnection,
    Future = impl Future<Output = Result<Response<Full<Bytes>>, DropConnection>> + Send,
> + Clone {
    hyper::service::service_fn(move |req| handle(shared.clone(), router.clone(), req))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_path_matches_go() {
        assert_eq!(clean_path("/a/b/"), "/a/b/");
        assert_eq!(clean_path("//a"), "/a");
        assert_eq!(clean_path("/a/../b"), "/b");
        assert_eq!(clean_path("/.."), "/");
        assert_eq!(clean_path("/a/./b//c/"), "/a/b/c/");
        assert_eq!(clean_path("/"), "/");
    }

    #[test]
    fn twirp_path_parts() {
        assert_eq!(
            parse_twirp_path("/twirp/livekit.RoomService/CreateRoom"),
            ("/twirp".to_owned(), "livekit.RoomService", "CreateRoom")
        );
        assert_eq!(
            parse_twirp_path("/twirp/livekit.RoomService/x/livekit.RoomService/CreateRoom").0,
            "/twirp/livekit.RoomService/x"
        );
    }
}
