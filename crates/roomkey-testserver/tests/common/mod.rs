//! Helpers shared by the integration tests: raw HTTP calls, tokens, the spec's test vectors.
#![allow(dead_code, clippy::unwrap_used)]

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use roomkey_testserver::TestServer;
use roomkey_token::{AccessToken, ApiSecret, KeyPair, VideoGrant};
use sha2::Sha256;

/// Spec §2.3, T1: roomCreate, exp 2100-01-01.
pub const T1: &str = "eyJhbGciOiJIUzI1NiJ9.eyJ2aWRlbyI6eyJyb29tQ3JlYXRlIjp0cnVlfSwiaXNzIjoiZGV2a2V5IiwiZXhwIjo0MTAyNDQ0ODAwLCJuYmYiOjE3MDAwMDAwMDB9.LIlIPiiyBx8SnsEqELOVr2WO7asksZ58oM269C5DVyY";
/// T2: roomAdmin, room `my-room`.
pub const T2: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ2aWRlbyI6eyJyb29tQWRtaW4iOnRydWUsInJvb20iOiJteS1yb29tIn0sImlzcyI6ImRldmtleSIsImV4cCI6NDEwMjQ0NDgwMCwibmJmIjoxNzAwMDAwMDAwfQ.-_zQ6YgREZ7_hOlhVKC7NGmOIgHCSWE2t_ZKJmGN4R0";
/// T3: expired.
pub const T3: &str = "eyJhbGciOiJIUzI1NiJ9.eyJ2aWRlbyI6eyJyb29tQ3JlYXRlIjp0cnVlfSwiaXNzIjoiZGV2a2V5IiwiZXhwIjoxNzAwMDAwNjAwLCJuYmYiOjE3MDAwMDAwMDB9.YUXMK00mkwy0Ainm3joQifdG1dVUcbw9MCMrUxOU7m8";
/// T4: T1 signed with `wrong-secret`.
pub const T4: &str = "eyJhbGciOiJIUzI1NiJ9.eyJ2aWRlbyI6eyJyb29tQ3JlYXRlIjp0cnVlfSwiaXNzIjoiZGV2a2V5IiwiZXhwIjo0MTAyNDQ0ODAwLCJuYmYiOjE3MDAwMDAwMDB9.hmu18WL1uhiSAsq-TUcbBIKaVMteknJ48wdmKq0Kzrw";

pub const PREFIX: &str = "/twirp/livekit.RoomService/";
pub const JSON: &str = "application/json";
pub const PROTOBUF: &str = "application/protobuf";
pub const TEXT: &str = "text/plain; charset=utf-8";

pub fn dev_key() -> KeyPair {
    KeyPair::new("devkey", &ApiSecret::new("secret")).unwrap()
}

pub fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A dev-key token carrying only this video grant.
pub fn token(edit: impl FnOnce(&mut VideoGrant)) -> String {
    let mut grant = VideoGrant::default();
    edit(&mut grant);
    AccessToken::new()
        .with_video(grant)
        .with_ttl(Duration::from_secs(600))
        .sign(&dev_key())
        .unwrap()
}

pub fn create_token() -> String {
    token(|g| g.room_create = true)
}

pub fn list_token() -> String {
    token(|g| g.room_list = true)
}

pub fn admin_token(room: &str) -> String {
    token(|g| {
        g.room_admin = true;
        g.room = room.to_owned();
    })
}

/// Signs any header and payload JSON with HMAC-SHA256 (for tokens roomkey refuses to mint).
pub fn sign_raw(header: &str, payload: &str, secret: &str) -> String {
    let mut input = URL_SAFE_NO_PAD.encode(header);
    input.push('.');
    input.push_str(&URL_SAFE_NO_PAD.encode(payload));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag))
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// What came back.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text()))
    }

    pub fn ct(&self) -> &str {
        self.content_type.as_deref().unwrap_or("")
    }
}

/// Sends a request with full control of method, path, headers and body.
pub async fn send(
    server: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Vec<u8>>,
) -> Reply {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = client()
        .request(method, format!("{}{path}", server.url()))
        .body(body.into());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let content_type = headers
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.bytes().await.unwrap().to_vec();
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

/// POSTs a JSON body to a RoomService method with an optional bearer token.
pub async fn call_json(
    server: &TestServer,
    method: &str,
    token: Option<&str>,
    body: &str,
) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", JSON)];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(
        server,
        "POST",
        &format!("{PREFIX}{method}"),
        &headers,
        body.to_owned(),
    )
    .await
}

/// POSTs a protobuf body to a RoomService method.
pub async fn call_proto(
    server: &TestServer,
    method: &str,
    token: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", PROTOBUF)];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    send(server, "POST", &format!("{PREFIX}{method}"), &headers, body).await
}

pub async fn start() -> TestServer {
    TestServer::start(roomkey_testserver::TestServerConfig::default())
        .await
        .unwrap()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
