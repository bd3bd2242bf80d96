//! [`RoomClient`]: the RoomService calls, with URL handling, per-call tokens, timeouts and
//! retries.

use std::time::Duration;

use roomkey_token::inspect::Code;
use roomkey_token::{AccessToken, KeyPair, VideoGrant};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{AuthFailure, CredentialSources, RoomError, server_detail};
use crate::types::{
    CreateRoomRequest, ListParticipantsResponse, ListRoomsResponse, ParticipantInfo, Room,
};

/// Timeouts, retries and token lifetime of a [`RoomClient`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Time allowed to open a connection (default 10 s).
    pub connect_timeout: Duration,
    /// Time allowed for one attempt, from sending to the whole answer (default 10 s).
    pub timeout: Duration,
    /// Attempts in all, for failures that are safe to retry (default 3; 1 disables retries).
    pub max_attempts: u32,
    /// Pause before the second attempt; it doubles for each further one (default 200 ms).
    pub backoff: Duration,
    /// Lifetime of the token minted for each call (default 10 min).
    pub token_ttl: Duration,
    /// Mint each call's token as if the time were this (unix seconds) instead of now. For
    /// tests of what a wrong clock does; `None` (the default) uses the clock.
    pub sign_at: Option<i64>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
            max_attempts: 3,
            backoff: Duration::from_millis(200),
            token_ttl: Duration::from_secs(600),
            sign_at: None,
        }
    }
}

/// A RoomService or AgentDispatchService method and the one grant it needs.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Method {
    CreateRoom,
    ListRooms,
    DeleteRoom,
    ListParticipants,
    CreateDispatch,
    ListDispatch,
    DeleteDispatch,
}

impl Method {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Method::CreateRoom => "CreateRoom",
            Method::ListRooms => "ListRooms",
            Method::DeleteRoom => "DeleteRoom",
            Method::ListParticipants => "ListParticipants",
            Method::CreateDispatch => "CreateDispatch",
            Method::ListDispatch => "ListDispatch",
            Method::DeleteDispatch => "DeleteDispatch",
        }
    }

    /// The Twirp service, as it appears in the path.
    fn service(self) -> &'static str {
        match self {
            Method::CreateDispatch | Method::ListDispatch | Method::DeleteDispatch => {
                "livekit.AgentDispatchService"
            }
            _ => "livekit.RoomService",
        }
    }

    /// The grant the server checks, as a user would set it.
    fn grant_name(self) -> &'static str {
        match self {
            Method::CreateRoom | Method::DeleteRoom => "roomCreate",
            Method::ListRooms => "roomList",
            Method::ListParticipants
            | Method::CreateDispatch
            | Method::ListDispatch
            | Method::DeleteDispatch => "roomAdmin (for this room)",
        }
    }

    /// The least-privilege video grant for a call on `room`.
    fn grant(self, room: &str) -> VideoGrant {
        let mut grant = VideoGrant::default();
        match self {
            Method::CreateRoom | Method::DeleteRoom => grant.room_create = true,
            Method::ListRooms => grant.room_list = true,
            Method::ListParticipants
            | Method::CreateDispatch
            | Method::ListDispatch
            | Method::DeleteDispatch => {
                grant.room_admin = true;
                room.clone_into(&mut grant.room);
            }
        }
        grant
    }

    /// Whether sending the request twice has the effect of sending it once. Only such a
    /// request is sent again after a failure that may have happened once the server had it
    /// (a lost connection, a 502 to 504 from a proxy); CreateDispatch would start a second job.
    fn repeatable(self) -> bool {
        !matches!(self, Method::CreateDispatch)
    }
}

/// A client for LiveKit's RoomService and AgentDispatchService.
///
/// Every call mints a fresh short-lived token that carries only the grant that method needs
/// (`roomCreate` for creating and deleting rooms, `roomList` for listing them, `roomAdmin` on
/// the one room for its participants and its agent dispatches). Requests are Twirp JSON over
/// HTTP/1.1 or HTTP/2, with rustls for `https`.
///
/// Failures that are safe to retry are retried with exponential backoff: a connection that
/// could not be opened, and, for every method but CreateDispatch, a connection lost before an
/// answer and HTTP 502, 503 and 504. Those methods are idempotent in effect (a retried
/// DeleteRoom whose first attempt went through reports success); a CreateDispatch that may have
/// reached the server is not sent again, as it would start a second job. Timeouts and 4xx
/// answers are never retried.
#[derive(Debug, Clone)]
pub struct RoomClient {
    http: reqwest::Client,
    base: String,
    key: KeyPair,
    options: ClientOptions,
    sources: CredentialSources,
}

impl RoomClient {
    /// A client for the server at `url` with default options. See [`normalize_url`] for the
    /// URLs accepted.
    ///
    /// # Errors
    /// [`RoomError::InvalidUrl`] for a URL without a usable scheme or host.
    pub fn new(url: &str, key: KeyPair) -> Result<Self, RoomError> {
        RoomClient::with_options(url, key, ClientOptions::default())
    }

    /// A client with explicit options.
    ///
    /// # Errors
    /// [`RoomError::InvalidUrl`] for a URL without a usable scheme or host.
    pub fn with_options(
        url: &str,
        key: KeyPair,
        options: ClientOptions,
    ) -> Result<Self, RoomError> {
        let base = normalize_url(url)?;
        let http = reqwest::Client::builder()
            .connect_timeout(options.connect_timeout)
            .timeout(options.timeout)
            .user_agent(concat!("roomkey/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RoomError::InvalidUrl {
                url: url.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(RoomClient {
            http,
            base,
            key,
            options,
            sources: CredentialSources::default(),
        })
    }

    /// Says where the key and secret came from, so that a rejected call's message can name
    /// the setting to fix (`the API secret (from LIVEKIT_API_SECRET)`).
    #[must_use]
    pub fn with_credential_sources(mut self, sources: CredentialSources) -> Self {
        self.sources = sources;
        self
    }

    /// The HTTP origin requests go to (`http://host:port`).
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Creates a room, or returns the existing room of that name unchanged (LiveKit's
    /// CreateRoom is idempotent: settings of an existing room are not updated).
    ///
    /// # Errors
    /// A [`RoomError`] describing the failure.
    pub async fn create_room(&self, request: &CreateRoomRequest) -> Result<Room, RoomError> {
        self.call(Method::CreateRoom, "", request).await
    }

    /// Lists rooms: all of them when `names` is empty, else those of these names that exist.
    ///
    /// # Errors
    /// A [`RoomError`] describing the failure.
    pub async fn list_rooms(&self, names: &[String]) -> Result<Vec<Room>, RoomError> {
        #[derive(Serialize)]
        struct Req<'a> {
            #[serde(skip_serializing_if = "<[String]>::is_empty")]
            names: &'a [String],
        }
        let resp: ListRoomsResponse = self.call(Method::ListRooms, "", &Req { names }).await?;
        Ok(resp.rooms)
    }

    /// Deletes a room, disconnecting everyone in it.
    ///
    /// # Errors
    /// [`RoomError::NotFound`] if there is no such room, or another [`RoomError`].
    pub async fn delete_room(&self, room: &str) -> Result<(), RoomError> {
        #[derive(Serialize)]
        struct Req<'a> {
            room: &'a str,
        }
        match self
            .call_counting::<_, serde::de::IgnoredAny>(Method::DeleteRoom, "", &Req { room })
            .await
        {
            Ok(_) => Ok(()),
            // The first attempt went through before its connection was lost.
            Err((e, attempts)) if attempts > 1 && e.is_not_found() => Ok(()),
            Err((e, _)) => Err(e),
        }
    }

    /// Lists the participants of a room (empty for a room that does not exist).
    ///
    /// # Errors
    /// A [`RoomError`] describing the failure.
    pub async fn list_participants(&self, room: &str) -> Result<Vec<ParticipantInfo>, RoomError> {
        #[derive(Serialize)]
        struct Req<'a> {
            room: &'a str,
        }
        let resp: ListParticipantsResponse = self
            .call(Method::ListParticipants, room, &Req { room })
            .await?;
        Ok(resp.participants)
    }

    pub(crate) async fn call<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: Method,
        room: &str,
        body: &Req,
    ) -> Result<Resp, RoomError> {
        self.call_counting(method, room, body)
            .await
            .map_err(|(e, _)| e)
    }

    /// Makes one call with retries; on failure also returns the number of attempts made.
    pub(crate) async fn call_counting<Req: Serialize, Resp: DeserializeOwned>(
        &self,
        method: Method,
        room: &str,
        body: &Req,
    ) -> Result<Resp, (RoomError, u32)> {
        let token = AccessToken::new()
            .with_video(method.grant(room))
            .with_ttl(self.options.token_ttl)
            .sign_at(
                &self.key,
                self.options.sign_at.unwrap_or_else(roomkey_token::unix_now),
            )
            .map_err(|e| (e.into(), 0))?;
        let url = format!("{}/twirp/{}/{}", self.base, method.service(), method.name());
        let body = serde_json::to_vec(body).map_err(|e| {
            (
                RoomError::Decode {
                    method: method.name(),
                    detail: e.to_string(),
                },
                0,
            )
        })?;
        let max_attempts = self.options.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= max_attempts;
            let sent = self
                .http
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .bearer_auth(&token)
                .body(body.clone())
                .send()
                .await;
            let failure = match sent {
                Ok(resp) if resp.status().is_success() => match resp.bytes().await {
                    Ok(bytes) => {
                        return decode(method, &bytes).map_err(|e| (e, attempt));
                    }
                    Err(e) => e,
                },
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if matches!(status, 502..=504) && method.repeatable() && !last {
                        self.pause(attempt).await;
                        continue;
                    }
                    return Err((self.error_answer(method, resp).await, attempt));
                }
                Err(e) => e,
            };
            if failure.is_timeout() {
                return Err((
                    RoomError::Timeout {
                        url: self.base.clone(),
                        method: method.name(),
                        after: self.options.timeout,
                    },
                    attempt,
                ));
            }
            if last || !(method.repeatable() || failure.is_connect()) {
                return Err((
                    RoomError::Unreachable {
                        url: self.base.clone(),
                        attempts: attempt,
                        cause: transport_cause(&failure),
                    },
                    attempt,
                ));
            }
            self.pause(attempt).await;
        }
    }

    async fn pause(&self, attempt: u32) {
        let factor = 1u32 << (attempt - 1).min(10);
        tokio::time::sleep(self.options.backoff.saturating_mul(factor)).await;
    }

    /// Turns a non-success answer into a [`RoomError`], from its Twirp JSON body when there is
    /// one and from the status otherwise (the real server's auth errors are text/plain).
    async fn error_answer(&self, method: Method, resp: reqwest::Response) -> RoomError {
        #[derive(serde::Deserialize)]
        struct TwirpError {
            code: String,
            #[serde(default)]
            msg: String,
        }
        let status = resp.status().as_u16();
        let is_json = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        let text = resp.text().await.unwrap_or_default();
        let twirp = if is_json {
            serde_json::from_str::<TwirpError>(&text).ok()
        } else {
            None
        };
        let (code, detail) = match twirp {
            Some(t) => (t.code, server_detail(&t.msg)),
            None => (code_for_status(status).to_owned(), server_detail(&text)),
        };
        match (status, code.as_str()) {
            (401, "unauthenticated") if detail == "permissions denied" => {
                RoomError::PermissionDenied {
                    method: method.name(),
                    grant: method.grant_name(),
                    detail,
                }
            }
            (401, _) => self.unauthenticated(method, detail),
            (_, "permission_denied") | (403, _) => RoomError::PermissionDenied {
                method: method.name(),
                grant: method.grant_name(),
                detail,
            },
            (_, "not_found") => RoomError::NotFound { detail },
            (_, "bad_route") => RoomError::BadRoute {
                url: self.base.clone(),
                detail,
            },
            _ => RoomError::Server {
                method: method.name(),
                status,
                code,
                detail,
            },
        }
    }
}

impl RoomClient {
    /// Explains a 401 from the server's auth layer: which credential, or which clock, to fix.
    fn unauthenticated(&self, method: Method, detail: String) -> RoomError {
        // The same reading of the server's words as `roomkey token inspect --server` gives.
        let reason = match roomkey_token::inspect::server::refusal_code(&detail) {
            Code::KeyNotOnServer => AuthFailure::UnknownKey,
            Code::BadSignature => AuthFailure::WrongSecret,
            Code::Expired => AuthFailure::Expired,
            Code::NotYetValid => AuthFailure::NotYetValid,
            _ => AuthFailure::Other,
        };
        let server = &self.base;
        let key = self.sources.key(self.key.api_key());
        let secret = self.sources.secret();
        let method = method.name();
        let message = match reason {
            AuthFailure::WrongSecret => format!(
                "the LiveKit server at {server} rejected the token's signature: {secret} is not \
                 the secret the server has for {key}; use the secret that belongs to this key \
                 (server: {detail})"
            ),
            AuthFailure::UnknownKey => format!(
                "the LiveKit server at {server} does not know {key}; check the key, and that \
                 the URL is the server (or project) the key belongs to (server: {detail})"
            ),
            AuthFailure::Expired => {
                let ttl = self.options.token_ttl.as_secs();
                format!(
                    "the LiveKit server at {server} says the token roomkey minted for {method} \
                     has expired, though it was valid for {ttl} s by this machine's clock: this \
                     machine's clock is behind the server's by more than {} s (the token's \
                     lifetime plus the server's 60 s leeway); set the clock right, e.g. with NTP \
                     (server: {detail})",
                    ttl + 60
                )
            }
            AuthFailure::NotYetValid => format!(
                "the LiveKit server at {server} says the token roomkey minted for {method} is \
                 not valid yet: this machine's clock is ahead of the server's by more than the \
                 server's 60 s leeway; set the clock right, e.g. with NTP (server: {detail})"
            ),
            AuthFailure::Other => format!(
                "the LiveKit server at {server} rejected the credentials ({detail}); check {key} \
                 and {secret}"
            ),
        };
        RoomError::Unauthenticated {
            reason,
            detail,
            message,
        }
    }
}

fn decode<Resp: DeserializeOwned>(method: Method, bytes: &[u8]) -> Result<Resp, RoomError> {
    serde_json::from_slice(bytes).map_err(|e| RoomError::Decode {
        method: method.name(),
        detail: e.to_string(),
    })
}

/// The Twirp code an intermediary's status stands for (Twirp's own mapping).
fn code_for_status(status: u16) -> &'static str {
    match status {
        400 => "internal",
        401 => "unauthenticated",
        403 => "permission_denied",
        404 => "bad_route",
        429 | 502..=504 => "unavailable",
        _ => "unknown",
    }
}

/// The innermost cause of a transport error, which says the most ("connection refused").
pub(crate) fn transport_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    let inner = cause.to_string();
    if e.is_connect() {
        format!("connection failed: {inner}")
    } else {
        format!("connection lost: {inner}")
    }
}

/// Whether a URL's host is this machine: `localhost` (or a name under `.localhost`, which
/// resolves to loopback by RFC 6761) or a loopback address (127.0.0.0/8, ::1).
pub fn is_local_host(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// Turns a LiveKit URL into the HTTP origin RoomService is served on.
///
/// `ws://` becomes `http://` and `wss://` becomes `https://` (the scheme's case does not
/// matter); `http://` and `https://` are kept. A path is kept (without its trailing `/`), so
/// a server behind a reverse-proxy prefix is reached there: `http://host/livekit` calls
/// `http://host/livekit/twirp/…`. A query or fragment is dropped. A URL with no scheme, or
/// another scheme, is refused with a message that shows how to write it.
///
/// # Errors
/// [`RoomError::InvalidUrl`].
///
/// # Example
/// ```
/// use roomkey_rooms::normalize_url;
/// assert_eq!(normalize_url("wss://demo.livekit.cloud")?, "https://demo.livekit.cloud");
/// assert_eq!(normalize_url("ws://localhost:7880/")?, "http://localhost:7880");
/// assert!(normalize_url("localhost:7880").is_err());
/// # Ok::<(), roomkey_rooms::RoomError>(())
/// ```
pub fn normalize_url(input: &str) -> Result<String, RoomError> {
    let invalid = |reason: String| RoomError::InvalidUrl {
        url: input.to_owned(),
        reason,
    };
    let trimmed = input.trim();
    let Some((scheme, rest)) = trimmed.split_once("://") else {
        let host = if trimmed.is_empty() {
            "HOST:7880"
        } else {
            trimmed
        };
        return Err(invalid(format!(
            "the LiveKit URL {trimmed:?} has no scheme; write http://{host} for a local server, or wss://<project>.livekit.cloud"
        )));
    };
    let http_scheme = match scheme.to_ascii_lowercase().as_str() {
        "ws" | "http" => "http",
        "wss" | "https" => "https",
        other => {
            return Err(invalid(format!(
                "the LiveKit URL scheme {other:?} is not supported; use ws://, wss://, http:// or https:// (e.g. http://{rest})"
            )));
        }
    };
    let parsed = url::Url::parse(&format!("{http_scheme}://{rest}"))
        .map_err(|e| invalid(format!("the LiveKit URL {trimmed:?} is not valid: {e}")))?;
    let Some(host) = parsed.host_str().filter(|h| !h.is_empty()) else {
        return Err(invalid(format!("the LiveKit URL {trimmed:?} has no host")));
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(invalid(
            "the LiveKit URL must not carry a user name or password; credentials go in LIVEKIT_API_KEY and LIVEKIT_API_SECRET".to_owned(),
        ));
    }
    let path = parsed.path().trim_end_matches('/');
    Ok(match parsed.port() {
        Some(port) => format!("{http_scheme}://{host}:{port}{path}"),
        None => format!("{http_scheme}://{host}{path}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let ok = [
            ("ws://localhost:7880", "http://localhost:7880"),
            ("WSS://Demo.LiveKit.Cloud", "https://demo.livekit.cloud"),
            (
                "http://127.0.0.1:7880/base/path/?q=1#f",
                "http://127.0.0.1:7880/base/path",
            ),
            ("wss://h.example/livekit", "https://h.example/livekit"),
            ("ws://h.example//", "http://h.example"),
            ("https://h.example:443", "https://h.example"),
            ("http://[::1]:7880", "http://[::1]:7880"),
            (" wss://p.livekit.cloud/ ", "https://p.livekit.cloud"),
        ];
        for (input, want) in ok {
            assert_eq!(normalize_url(input).unwrap(), want, "{input}");
        }
        for (input, needle) in [
            ("localhost:7880", "write http://localhost:7880"),
            ("example.com", "has no scheme"),
            ("", "has no scheme"),
            ("ftp://h", "not supported"),
            ("http://", "not valid"),
            ("http://user:pw@h", "user name or password"),
        ] {
            let err = normalize_url(input).unwrap_err().to_string();
            assert!(err.contains(needle), "{input}: {err}");
        }
    }

    #[test]
    fn least_privilege_grants() {
        assert!(Method::CreateRoom.grant("x").room_create);
        assert_eq!(Method::CreateRoom.grant("x").room, "");
        assert!(Method::ListRooms.grant("").room_list);
        let g = Method::ListParticipants.grant("r1");
        assert!(g.room_admin && g.room == "r1" && !g.room_join && !g.room_create);
        for method in [
            Method::CreateDispatch,
            Method::ListDispatch,
            Method::DeleteDispatch,
        ] {
            let g = method.grant("r2");
            assert!(g.room_admin && g.room == "r2" && !g.room_create && !g.room_list);
            assert_eq!(method.service(), "livekit.AgentDispatchService");
        }
        assert!(!Method::CreateDispatch.repeatable() && Method::DeleteDispatch.repeatable());
    }
}
