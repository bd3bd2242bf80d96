//! LiveKit webhooks: verifying a request the server sent, and signing one exactly as it does.
//!
//! The LiveKit server POSTs a protobuf-JSON `WebhookEvent` with an `Authorization` header that is
//! an access token (no `Bearer ` prefix) signed with the webhook API key, valid 5 minutes, whose
//! `sha256` claim is the standard padded base64 of the SHA-256 of the **raw** body. So the body
//! must be hashed as it arrived: a framework that parses and re-serialises it first breaks the
//! digest. The key is chosen by the token's `iss`, so a key set with the old and the new key
//! keeps working through a rotation.
//!
//! # Example
//! ```
//! use roomkey_token::webhook::{sign_webhook, verify_webhook, WebhookOptions};
//! use roomkey_token::{ApiSecret, KeyPair, KeySet};
//!
//! let key = KeyPair::new("APIexample", &ApiSecret::new("example-secret-0123456789abcdefghij"))?;
//! let body = br#"{"event":"room_started","id":"EV_1","createdAt":"1700000000","room":{"name":"standup"}}"#;
//! let auth = sign_webhook(body, &key)?;
//! let event = verify_webhook(body, Some(&auth), &KeySet::single(key), WebhookOptions::default())?;
//! assert_eq!(event.event.as_str(), "room_started");
//! assert_eq!(event.room_name(), Some("standup"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::Duration;

use base64_simd::STANDARD;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::error::{MintError, VerifyError};
use crate::keys::{KeyPair, KeySet};
use crate::token::{AccessToken, unix_now};
use crate::verify::{DEFAULT_LEEWAY, Verifier};

/// How long the `Authorization` token the server signs stays valid.
pub const WEBHOOK_TOKEN_TTL: Duration = Duration::from_secs(5 * 60);

/// The content type the server sends webhooks with.
pub const WEBHOOK_CONTENT_TYPE: &str = "application/webhook+json";

/// The longest body [`verify_webhook`] reads as an event (events are a few KiB; egress ones
/// with many outputs a little more).
pub const MAX_WEBHOOK_BODY: usize = 1024 * 1024;

/// How to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookOptions {
    /// Clock leeway on the token's `exp` and `nbf` (60 s, as the server's own Go receiver).
    pub leeway: Duration,
    /// The time to verify at, unix seconds; `None` for the system clock.
    pub now: Option<i64>,
}

impl Default for WebhookOptions {
    fn default() -> Self {
        WebhookOptions {
            leeway: DEFAULT_LEEWAY,
            now: None,
        }
    }
}

impl WebhookOptions {
    /// Replaces the leeway.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Verifies as if the time were `now` (unix seconds).
    #[must_use]
    pub fn at(mut self, now: i64) -> Self {
        self.now = Some(now);
        self
    }
}

/// Why a webhook request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebhookError {
    /// No `Authorization` header, or an empty one.
    #[error(
        "the request has no Authorization header; LiveKit sends the signed token there (the \
         header is Authorization, not the Node SDK's \"Authorize\" constant)"
    )]
    MissingAuth,
    /// The `Authorization` token does not verify.
    #[error("the Authorization token does not verify: {0}")]
    BadToken(VerifyError),
    /// The token was signed with a key that is not in the key set.
    #[error(
        "the webhook was signed with API key {iss:?}, which is not among the keys given (the \
         server's webhook.api_key must be one of them)"
    )]
    UnknownKey {
        /// The token's `iss`.
        iss: String,
    },
    /// The token carries no `sha256` claim, so it does not vouch for any body.
    #[error("the Authorization token has no sha256 claim, so it does not vouch for the body")]
    NoSha256,
    /// The body's digest is not the token's `sha256`.
    #[error(
        "the body is not the one the server signed (its SHA-256 differs from the token's \
         sha256 claim): hash the raw bytes as received, before any JSON parsing, and check that \
         no proxy rewrites the body"
    )]
    BodyMismatch,
    /// The body verified but is not a webhook event.
    #[error("the body is signed correctly but is not a webhook event: {detail}")]
    MalformedBody {
        /// What was wrong with it.
        detail: String,
    },
}

impl WebhookError {
    /// A stable name for the error: `missing_auth`, `bad_token`, `unknown_key`, `no_sha256`,
    /// `body_mismatch`, `malformed_body`.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::MissingAuth => "missing_auth",
            WebhookError::BadToken(_) => "bad_token",
            WebhookError::UnknownKey { .. } => "unknown_key",
            WebhookError::NoSha256 => "no_sha256",
            WebhookError::BodyMismatch => "body_mismatch",
            WebhookError::MalformedBody { .. } => "malformed_body",
        }
    }
}

macro_rules! event_names {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, )*) => {
        /// The name of a webhook event; a name this version does not know is kept as it came.
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum EventName {
            $( $(#[$doc])* $variant, )*
            /// A name this version does not know.
            Other(String),
        }

        impl EventName {
            /// Every name this version knows.
            pub const KNOWN: &'static [EventName] = &[$(EventName::$variant,)*];

            /// The name as the server writes it.
            pub fn as_str(&self) -> &str {
                match self {
                    $( EventName::$variant => $text, )*
                    EventName::Other(name) => name,
                }
            }

            /// The name for its text.
            pub fn from_wire(name: &str) -> EventName {
                match name {
                    $( $text => EventName::$variant, )*
                    other => EventName::Other(other.to_owned()),
                }
            }
        }
    };
}

event_names! {
    /// A room was created.
    RoomStarted = "room_started",
    /// A room ended.
    RoomFinished = "room_finished",
    /// A participant's media transport connected.
    ParticipantJoined = "participant_joined",
    /// A participant left.
    ParticipantLeft = "participant_left",
    /// A participant's connection failed before its media transport connected.
    ParticipantConnectionAborted = "participant_connection_aborted",
    /// A track was published.
    TrackPublished = "track_published",
    /// A track was unpublished.
    TrackUnpublished = "track_unpublished",
    /// An egress started.
    EgressStarted = "egress_started",
    /// An egress changed state.
    EgressUpdated = "egress_updated",
    /// An egress ended.
    EgressEnded = "egress_ended",
    /// An ingress started.
    IngressStarted = "ingress_started",
    /// An ingress ended.
    IngressEnded = "ingress_ended",
}

impl Serialize for EventName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for EventName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(EventName::from_wire(&String::deserialize(d)?))
    }
}

/// A webhook event (`livekit.WebhookEvent` in protobuf JSON). The room, participant, track,
/// egress and ingress are kept as JSON, as the server wrote them; so is every field this version
/// does not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookEvent {
    /// The event's unique id (`EV_…`): a retried delivery carries the same one.
    #[serde(default)]
    pub id: String,
    /// What happened.
    pub event: EventName,
    /// When, unix seconds (protobuf JSON writes int64 as a string; numbers are read too).
    #[serde(default, deserialize_with = "int64")]
    pub created_at: i64,
    /// The room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub room: Option<Value>,
    /// The participant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub participant: Option<Value>,
    /// The track.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track: Option<Value>,
    /// The egress, for egress events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub egress_info: Option<Value>,
    /// The ingress, for ingress events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_info: Option<Value>,
    /// Every other field.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl WebhookEvent {
    /// The room's name, when the event has a room.
    pub fn room_name(&self) -> Option<&str> {
        self.room.as_ref()?.get("name")?.as_str()
    }

    /// The participant's identity, when the event has a participant.
    pub fn participant_identity(&self) -> Option<&str> {
        self.participant.as_ref()?.get("identity")?.as_str()
    }

    /// The track's sid, when the event has a track.
    pub fn track_sid(&self) -> Option<&str> {
        self.track.as_ref()?.get("sid")?.as_str()
    }
}

fn int64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(0),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| serde::de::Error::custom("createdAt is not a whole number")),
        Value::String(s) => s
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("createdAt {s:?} is not a number"))),
        other => Err(serde::de::Error::custom(format!(
            "createdAt is {other}, not a number"
        ))),
    }
}

/// The `sha256` claim for a body: the standard padded base64 of its SHA-256.
pub fn body_digest(body: &[u8]) -> String {
    STANDARD.encode_to_string(Sha256::digest(body))
}

/// Verifies a webhook request: `authorization` is the header's value (with or without
/// `Bearer `), `body` the raw bytes as received. Returns the event.
///
/// The checks run in this order: a header; the token (HS256, the key by its `iss`, `exp`
/// required, `exp` and `nbf` within the leeway); its `sha256`; the body's digest, compared in
/// constant time; then the body as an event.
///
/// # Errors
/// A [`WebhookError`] naming the first problem.
pub fn verify_webhook(
    body: &[u8],
    authorization: Option<&str>,
    keys: &KeySet,
    options: WebhookOptions,
) -> Result<WebhookEvent, WebhookError> {
    let token = authorization
        .map(str::trim)
        .map(|a| a.strip_prefix("Bearer ").unwrap_or(a).trim())
        .filter(|t| !t.is_empty())
        .ok_or(WebhookError::MissingAuth)?;
    let verifier = Verifier::new(keys.clone()).with_leeway(options.leeway);
    let verified = verifier
        .verify_at(token, options.now.unwrap_or_else(unix_now))
        .map_err(|e| match e {
            VerifyError::UnknownKey { iss } => WebhookError::UnknownKey { iss },
            other => WebhookError::BadToken(other),
        })?;
    let claimed = &verified.claims.sha256;
    if claimed.is_empty() {
        return Err(WebhookError::NoSha256);
    }
    // Decoded digests are compared, so a claim written with or without padding is the same.
    let claimed = STANDARD
        .decode_to_vec(claimed)
        .or_else(|_| base64_simd::STANDARD_NO_PAD.decode_to_vec(claimed))
        .map_err(|_| WebhookError::BodyMismatch)?;
    let actual = Sha256::digest(body);
    if !bool::from(claimed.as_slice().ct_eq(actual.as_slice())) {
        return Err(WebhookError::BodyMismatch);
    }
    if body.len() > MAX_WEBHOOK_BODY {
        return Err(WebhookError::MalformedBody {
            detail: format!("the body is {} bytes, over {MAX_WEBHOOK_BODY}", body.len()),
        });
    }
    serde_json::from_slice(body).map_err(|e| WebhookError::MalformedBody {
        detail: e.to_string(),
    })
}

/// The `Authorization` value the LiveKit server sends with `body`: a token signed with `key`,
/// valid 5 minutes from now, whose `sha256` is the body's digest (no `Bearer ` prefix).
///
/// # Errors
/// A [`MintError`] if the token cannot be signed.
pub fn sign_webhook(body: &[u8], key: &KeyPair) -> Result<String, MintError> {
    sign_webhook_at(body, key, unix_now())
}

/// [`sign_webhook`] as if the time were `now` (unix seconds).
///
/// # Errors
/// A [`MintError`] if the token cannot be signed.
pub fn sign_webhook_at(body: &[u8], key: &KeyPair, now: i64) -> Result<String, MintError> {
    AccessToken::new()
        .with_sha256(body_digest(body))
        .with_ttl(WEBHOOK_TOKEN_TTL)
        .sign_at(key, now)
}

/// The ids of the last events seen, to recognise a delivery the server retried: a bounded
/// window (the oldest id is forgotten first), so memory stays fixed however many events come.
#[derive(Debug, Clone)]
pub struct RecentIds {
    capacity: usize,
    order: std::collections::VecDeque<String>,
    seen: std::collections::HashSet<String>,
}

impl RecentIds {
    /// A window of the last `capacity` ids (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        RecentIds {
            capacity,
            order: std::collections::VecDeque::with_capacity(capacity.min(4096)),
            seen: std::collections::HashSet::with_capacity(capacity.min(4096)),
        }
    }

    /// Records `id`; `false` when it is in the window already (a duplicate). An empty id is
    /// never a duplicate: it identifies nothing.
    pub fn first_time(&mut self, id: &str) -> bool {
        if id.is_empty() {
            return true;
        }
        if self.seen.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.seen.remove(&oldest);
            }
        }
        self.order.push_back(id.to_owned());
        self.seen.insert(id.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::RecentIds;

    #[test]
    fn the_window_forgets_the_oldest_id_first() {
        let mut ids = RecentIds::new(2);
        assert!(ids.first_time("a"));
        assert!(!ids.first_time("a"));
        assert!(ids.first_time("b"));
        assert!(ids.first_time("c")); // forgets "a"
        assert!(ids.first_time("a"));
        assert!(!ids.first_time("c"));
        assert!(ids.first_time("") && ids.first_time(""));
    }
}
