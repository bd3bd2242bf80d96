//! The HTTP side: faults first (as a proxy or load balancer in front of the server would apply
//! them), then the token check, then CreateRoom and ListRooms on rooms kept in memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use rand::Rng as _;
use serde_json::{Value, json};

use crate::auth::{self, Auth};
use crate::config::TestServerConfig;
use crate::faults::{Fault, FaultQueue};

/// Where RoomService's Twirp methods live.
const PREFIX: &str = "/twirp/livekit.RoomService/";
/// Where AgentDispatchService's live: only its faults are imitated (the real server serves the
/// calls themselves in the interop tests).
const DISPATCH_PREFIX: &str = "/twirp/livekit.AgentDispatchService/";
/// The real server's limit on an API request's body.
const MAX_BODY: usize = 10 << 20;

pub(crate) type Answer = Response<Full<Bytes>>;

/// Everything the connections share.
#[derive(Debug)]
pub(crate) struct Shared {
    keys: HashMap<String, String>,
    /// The rooms, in creation order, as CreateRoom answered them.
    pub(crate) rooms: Mutex<Vec<Value>>,
    pub(crate) attempts: Mutex<BTreeMap<String, usize>>,
    pub(crate) faults: Mutex<FaultQueue>,
    pub(crate) requests: AtomicUsize,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: &TestServerConfig) -> Self {
        Shared {
            keys: config.keys.iter().cloned().collect(),
            rooms: Mutex::new(Vec::new()),
            attempts: Mutex::new(BTreeMap::new()),
            faults: Mutex::new(FaultQueue::default()),
            requests: AtomicUsize::new(0),
        }
    }
}

/// The error that makes hyper close a connection without answering.
#[derive(Debug)]
pub(crate) struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("fault injection: connection dropped")
    }
}

impl std::error::Error for DropConnection {}

/// Serves one request.
pub(crate) async fn handle(
    shared: &Shared,
    req: Request<Incoming>,
) -> Result<Answer, DropConnection> {
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let (parts, body) = req.into_parts();
    let rpc = parts
        .uri
        .path()
        .strip_prefix(PREFIX)
        .or_else(|| parts.uri.path().strip_prefix(DISPATCH_PREFIX))
        .filter(|m| !m.contains('/'))
        .map(str::to_owned);
    if let Some(rpc) = &rpc {
        *lock(&shared.attempts).entry(rpc.clone()).or_insert(0) += 1;
    }
    let (delay, fault) = lock(&shared.faults).take(rpc.as_deref());
    // The request is read whole first, faults included: a dropped connection loses an answer,
    // not a request.
    let body = Limited::new(body, MAX_BODY)
        .collect()
        .await
        .map(http_body_util::Collected::to_bytes);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    Ok(match fault {
        Some(Fault::Drop) => return Err(DropConnection),
        Some(Fault::Status(status)) => {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let reason = code.canonical_reason().unwrap_or("Error");
            plain(code.as_u16(), &format!("{} {reason}\n", code.as_u16()))
        }
        Some(Fault::Twirp { code, msg }) => twirp_error(&code, &msg),
        Some(Fault::Delay(_)) | None => match body {
            Ok(body) => serve(shared, &parts, rpc.as_deref(), &body),
            Err(_) => plain(413, "request body too large"),
        },
    })
}

fn serve(
    shared: &Shared,
    parts: &hyper::http::request::Parts,
    rpc: Option<&str>,
    body: &[u8],
) -> Answer {
    let authorization = parts
        .headers
        .get(AUTHORIZATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .filter(|v| !v.is_empty());
    let auth = auth::check(authorization.as_deref(), &shared.keys);
    if let Auth::Rejected(text) = &auth {
        return plain(401, text);
    }
    let path = parts.uri.path();
    let Some(rpc) = rpc else {
        // `/` is the real server's health check.
        return match path {
            "/" => plain(200, "OK"),
            _ => plain(404, "404 page not found"),
        };
    };
    if parts.method != Method::POST {
        return bad_route(
            &format!(
                "unsupported method {:?} (only POST is allowed)",
                parts.method.as_str()
            ),
            parts.method.as_str(),
            path,
        );
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim();
    if media_type.eq_ignore_ascii_case("application/protobuf") {
        return twirp_error("unimplemented", "roomkey-testserver speaks Twirp JSON only");
    }
    if !media_type.eq_ignore_ascii_case("application/json") {
        return bad_route(
            &format!("unexpected Content-Type: {content_type:?}"),
            "POST",
            path,
        );
    }
    let request = match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => v,
        _ => return twirp_error("malformed", "the json request could not be decoded"),
    };
    match rpc {
        "CreateRoom" if auth.allows("roomCreate") => create_room(shared, &request),
        "ListRooms" if auth.allows("roomList") => list_rooms(shared, &request),
        "CreateRoom" | "ListRooms" => twirp_error("unauthenticated", "permissions denied"),
        other => twirp_error(
            "unimplemented",
            &format!("roomkey-testserver serves only CreateRoom and ListRooms, not {other}"),
        ),
    }
}

/// A field of a JSON request by its protojson name or its proto name.
fn field<'a>(request: &'a Value, json_name: &str, proto_name: &str) -> Option<&'a Value> {
    request
        .get(json_name)
        .or_else(|| request.get(proto_name))
        .filter(|v| !v.is_null())
}

/// A number setting: `default` when absent or 0 (as the server treats 0), `None` when it is not
/// a number.
fn number(request: &Value, json_name: &str, proto_name: &str, default: u64) -> Option<u64> {
    match field(request, json_name, proto_name) {
        None => Some(default),
        Some(v) => v.as_u64().map(|n| if n == 0 { default } else { n }),
    }
}

/// CreateRoom: the existing room unchanged if there is one of that name, else a new room with
/// the request's settings (and the real server's defaults: 300 s, 20 s, no limit).
fn create_room(shared: &Shared, request: &Value) -> Answer {
    let malformed = || twirp_error("malformed", "the json request could not be decoded");
    let name = match field(request, "name", "name") {
        None => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return malformed(),
    };
    let metadata = match field(request, "metadata", "metadata") {
        None => "",
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return malformed(),
    };
    let (Some(empty_timeout), Some(departure_timeout), Some(max_participants)) = (
        number(request, "emptyTimeout", "empty_timeout", 300),
        number(request, "departureTimeout", "departure_timeout", 20),
        number(request, "maxParticipants", "max_participants", 0),
    ) else {
        return malformed();
    };
    let mut rooms = lock(&shared.rooms);
    if let Some(existing) = rooms.iter().find(|r| r["name"] == name) {
        return json_answer(existing);
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    // Written as the real server writes a Room: proto field names, every field, int64 as strings.
    let room = json!({
        "sid": sid(),
        "name": name,
        "empty_timeout": empty_timeout,
        "departure_timeout": departure_timeout,
        "max_participants": max_participants,
        "creation_time": now.as_secs().to_string(),
        "creation_time_ms": now.as_millis().to_string(),
        "turn_password": "",
        "enabled_codecs": [],
        "metadata": metadata,
        "num_participants": 0,
        "num_publishers": 0,
        "active_recording": false,
        "version": null,
    });
    let answer = json_answer(&room);
    rooms.push(room);
    answer
}

/// ListRooms: every room, or those of the given names.
fn list_rooms(shared: &Shared, request: &Value) -> Answer {
    let names: Vec<&str> = match field(request, "names", "names") {
        None => Vec::new(),
        Some(Value::Array(items)) => match items.iter().map(Value::as_str).collect() {
            Some(names) => names,
            None => return twirp_error("malformed", "the json request could not be decoded"),
        },
        Some(_) => return twirp_error("malformed", "the json request could not be decoded"),
    };
    let rooms: Vec<Value> = lock(&shared.rooms)
        .iter()
        .filter(|r| names.is_empty() || names.iter().any(|n| r["name"] == *n))
        .cloned()
        .collect();
    json_answer(&json!({ "rooms": rooms }))
}

/// A room id as the real server makes them: `RM_` and 12 base62 characters.
fn sid() -> String {
    const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let mut out = String::from("RM_");
    for _ in 0..12 {
        out.push(char::from(BASE62[rng.random_range(0..BASE62.len())]));
    }
    out
}

fn answer(status: u16, content_type: &'static str, body: String) -> Answer {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn plain(status: u16, text: &str) -> Answer {
    answer(status, "text/plain; charset=utf-8", text.to_owned())
}

fn json_answer(value: &Value) -> Answer {
    answer(200, "application/json", value.to_string())
}

/// A Twirp error, `{"code":…,"msg":…}`, with the status Twirp gives its code.
pub(crate) fn twirp_error(code: &str, msg: &str) -> Answer {
    let body = format!(
        "{{\"code\":{},\"msg\":{}}}",
        Value::from(code),
        Value::from(msg)
    );
    answer(status_of_code(code), "application/json", body)
}

fn bad_route(msg: &str, method: &str, path: &str) -> Answer {
    let body = format!(
        "{{\"code\":\"bad_route\",\"msg\":{},\"meta\":{{\"twirp_invalid_route\":{}}}}}",
        Value::from(msg),
        Value::from(format!("{method} {path}"))
    );
    answer(404, "application/json", body)
}

/// The HTTP status of a Twirp error code (twitchtv/twirp `ServerHTTPStatusFromErrorCode`).
pub fn status_of_code(code: &str) -> u16 {
    match code {
        "canceled" | "deadline_exceeded" => 408,
        "invalid_argument" | "malformed" | "out_of_range" => 400,
        "not_found" | "bad_route" => 404,
        "already_exists" | "aborted" => 409,
        "permission_denied" => 403,
        "unauthenticated" => 401,
        "resource_exhausted" => 429,
        "failed_precondition" => 412,
        "unimplemented" => 501,
        "unavailable" => 503,
        _ => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_take_either_name_and_default_zero() {
        let r = json!({"emptyTimeout": 600, "departure_timeout": 0, "maxParticipants": "x"});
        assert_eq!(number(&r, "emptyTimeout", "empty_timeout", 300), Some(600));
        assert_eq!(
            number(&r, "departureTimeout", "departure_timeout", 20),
            Some(20)
        );
        assert_eq!(number(&r, "maxParticipants", "max_participants", 0), None);
        assert_eq!(number(&json!({}), "a", "b", 7), Some(7));
    }

    #[test]
    fn sids_look_like_the_real_ones() {
        let s = sid();
        assert!(s.starts_with("RM_") && s.len() == 15, "{s}");
        assert_ne!(s, sid());
    }
}
