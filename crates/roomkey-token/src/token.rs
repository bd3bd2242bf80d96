//! Minting: the [`AccessToken`] builder.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::claims::Claims;
use crate::error::{LimitedClaim, MintError};
use crate::grants::{
    AgentEndpointGrant, AgentGrant, AgentThreadGrant, InferenceGrant, KindDetail,
    ObservabilityGrant, ParticipantKind, SipGrant, VideoGrant,
};
use crate::jws;
use crate::keys::KeyPair;
use crate::room_config::{JobRestartPolicy, RoomConfiguration};

/// The LiveKit server's default limits on what a token may carry (`limit.*` in its config).
pub mod limits {
    /// Maximum identity length, bytes (`max_participant_identity_length`).
    pub const MAX_IDENTITY_LEN: usize = 256;
    /// Maximum participant name length, bytes (`max_participant_name_length`). The server
    /// does not check it at join, only when the name is changed later; roomkey refuses it at
    /// mint, on every surface, so that no participant starts with a name it could not set.
    pub const MAX_PARTICIPANT_NAME_LEN: usize = 256;
    /// Maximum room name length, bytes (`max_room_name_length`).
    pub const MAX_ROOM_NAME_LEN: usize = 256;
    /// Maximum metadata size, bytes (`max_metadata_size`, 512 KiB).
    pub const MAX_METADATA_SIZE: usize = 512 * 1024;
    /// Maximum total attribute size, bytes (`max_attributes_size`, 64 KiB).
    pub const MAX_ATTRIBUTES_SIZE: usize = 64 * 1024;
    /// Deepest nesting of arrays and objects read in a token's claims. LiveKit's own claims
    /// nest four levels; the limit is for unknown claims, so that whatever verifies can be
    /// printed (JSON readers refuse deep documents: `serde_json` at 128 levels).
    pub const MAX_JSON_DEPTH: usize = 64;
}

/// Default token lifetime: 6 hours, as in every official SDK.
pub const DEFAULT_TTL: Duration = Duration::from_secs(6 * 60 * 60);

// Each thread keeps one payload buffer for minting, so a mint allocates only the token.
thread_local! {
    static PAYLOAD_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Largest payload buffer kept between mints.
const PAYLOAD_BUFFER_KEEP: usize = 16 * 1024;

/// Longest TTL accepted: 100 years.
const MAX_TTL_SECS: u64 = 100 * 365 * 24 * 60 * 60;

/// Builds and signs a participant access token.
///
/// Set what the token says with the `with_*` methods, then [`sign`](AccessToken::sign) it with a
/// [`KeyPair`]. The builder is not consumed, so one configuration can mint many tokens. `iss`,
/// `iat`, `nbf` and `exp` are set at signing time from the key and the clock
/// ([`sign_at`](AccessToken::sign_at) takes the clock as an argument).
///
/// # Example
/// ```
/// use roomkey_token::{AccessToken, ApiSecret, KeyPair, VideoGrant};
///
/// let key = KeyPair::new("APIexample", &ApiSecret::new("example-secret-0123456789abcdefghij"))?;
/// let mut grant = VideoGrant::join("standup");
/// grant.can_publish = Some(false);
/// let jwt = AccessToken::new()
///     .with_identity("alice")
///     .with_name("Alice")
///     .with_video(grant)
///     .sign_at(&key, 1_700_000_000)?;
/// assert!(jwt.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct AccessToken {
    claims: Claims,
    ttl: Duration,
    allow_sensitive_credentials: bool,
}

impl Default for AccessToken {
    fn default() -> Self {
        AccessToken::new()
    }
}

impl AccessToken {
    /// An empty token with the default TTL (6 h).
    #[inline]
    pub fn new() -> Self {
        AccessToken {
            claims: Claims::default(),
            ttl: DEFAULT_TTL,
            allow_sensitive_credentials: false,
        }
    }

    /// Starts from existing claims (for example a verified token's). Their `iss`, `exp`, `nbf`
    /// and `iat` are dropped: signing sets them.
    pub fn from_claims(mut claims: Claims) -> Self {
        claims.iss.clear();
        claims.exp = None;
        claims.nbf = None;
        claims.iat = None;
        // Signing writes the `identity` copy from `sub`.
        claims.identity.clear();
        AccessToken {
            claims,
            ..AccessToken::new()
        }
    }

    /// The claims as configured so far (without `iss` and times).
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// The claims, to change in place: for minting many tokens that differ in a field or two
    /// without building each from scratch. Signing sets `iss`, `exp`, `nbf` and `iat` itself
    /// and writes the `identity` copy from `sub`, so those are not read from here; every other
    /// change is checked when signing, as the `with_` methods' are.
    pub fn claims_mut(&mut self) -> &mut Claims {
        &mut self.claims
    }

    /// The configured TTL.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Whether credentials in the room configuration's egress are allowed (see
    /// [`allow_sensitive_credentials`](AccessToken::allow_sensitive_credentials)).
    pub fn allows_sensitive_credentials(&self) -> bool {
        self.allow_sensitive_credentials
    }

    /// Sets the participant identity (`sub`, and the `identity` copy Go writes).
    #[must_use]
    #[inline]
    pub fn with_identity(mut self, identity: impl Into<String>) -> Self {
        self.claims.sub = identity.into();
        // The `identity` copy is written from `sub` when the token is signed.
        self.claims.identity.clear();
        self
    }

    /// Sets the display name.
    #[must_use]
    #[inline]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.claims.name = name.into();
        self
    }

    /// Sets the participant metadata.
    #[must_use]
    #[inline]
    pub fn with_metadata(mut self, metadata: impl Into<String>) -> Self {
        self.claims.metadata = metadata.into();
        self
    }

    /// Sets one participant attribute (replacing an earlier value for the key).
    #[must_use]
    #[inline]
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.claims.attributes.insert(key.into(), value.into());
        self
    }

    /// Replaces all participant attributes.
    #[must_use]
    #[inline]
    pub fn with_attributes(mut self, attributes: BTreeMap<String, String>) -> Self {
        self.claims.attributes = attributes;
        self
    }

    /// Sets the participant kind.
    #[must_use]
    #[inline]
    pub fn with_kind(mut self, kind: ParticipantKind) -> Self {
        self.claims.kind = Some(kind);
        self
    }

    /// Sets the participant kind details.
    #[must_use]
    #[inline]
    pub fn with_kind_details(mut self, details: Vec<KindDetail>) -> Self {
        self.claims.kind_details = details;
        self
    }

    /// Sets the video grant.
    #[must_use]
    #[inline]
    pub fn with_video(mut self, grant: VideoGrant) -> Self {
        self.claims.video = Some(grant);
        self
    }

    /// Sets the SIP grant.
    #[must_use]
    #[inline]
    pub fn with_sip(mut self, grant: SipGrant) -> Self {
        self.claims.sip = Some(grant);
        self
    }

    /// Sets the agent grant.
    #[must_use]
    #[inline]
    pub fn with_agent(mut self, grant: AgentGrant) -> Self {
        self.claims.agent = Some(grant);
        self
    }

    /// Sets the inference grant.
    #[must_use]
    #[inline]
    pub fn with_inference(mut self, grant: InferenceGrant) -> Self {
        self.claims.inference = Some(grant);
        self
    }

    /// Sets the observability grant.
    #[must_use]
    #[inline]
    pub fn with_observability(mut self, grant: ObservabilityGrant) -> Self {
        self.claims.observability = Some(grant);
        self
    }

    /// Sets the agent endpoint grant.
    #[must_use]
    #[inline]
    pub fn with_agent_endpoint(mut self, grant: AgentEndpointGrant) -> Self {
        self.claims.agent_endpoint = Some(Box::new(grant));
        self
    }

    /// Sets the agent thread grant.
    #[must_use]
    #[inline]
    pub fn with_agent_thread(mut self, grant: AgentThreadGrant) -> Self {
        self.claims.agent_thread = Some(Box::new(grant));
        self
    }

    /// Sets the room configuration (used if this join creates the room).
    #[must_use]
    #[inline]
    pub fn with_room_config(mut self, config: RoomConfiguration) -> Self {
        self.claims.room_config = Some(Box::new(config));
        self
    }

    /// Sets the room preset.
    #[must_use]
    #[inline]
    pub fn with_room_preset(mut self, preset: impl Into<String>) -> Self {
        self.claims.room_preset = preset.into();
        self
    }

    /// Sets the `sha256` claim (base64 SHA-256 of a body, for webhooks).
    #[must_use]
    #[inline]
    pub fn with_sha256(mut self, sha256: impl Into<String>) -> Self {
        self.claims.sha256 = sha256.into();
        self
    }

    /// Sets how long the token is valid.
    #[must_use]
    #[inline]
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// Allows a room configuration that embeds egress credentials. Off by default, as in the Go
    /// reference: anyone who holds the token can decode them.
    #[must_use]
    #[inline]
    pub fn allow_sensitive_credentials(mut self, allow: bool) -> Self {
        self.allow_sensitive_credentials = allow;
        self
    }

    /// Checks everything signing checks, without signing.
    ///
    /// # Errors
    /// The first problem found, as a [`MintError`].
    pub fn validate(&self) -> Result<(), MintError> {
        let c = &self.claims;
        let ttl = self.ttl.as_secs();
        if ttl == 0 || ttl > MAX_TTL_SECS {
            return Err(MintError::InvalidTtl { seconds: ttl });
        }
        check_len(
            LimitedClaim::Identity,
            c.sub.len(),
            limits::MAX_IDENTITY_LEN,
        )?;
        check_len(
            LimitedClaim::Name,
            c.name.len(),
            limits::MAX_PARTICIPANT_NAME_LEN,
        )?;
        check_len(
            LimitedClaim::Metadata,
            c.metadata.len(),
            limits::MAX_METADATA_SIZE,
        )?;
        let attributes = c.attributes_size();
        if attributes > limits::MAX_ATTRIBUTES_SIZE {
            return Err(MintError::AttributesTooLarge {
                len: attributes,
                max: limits::MAX_ATTRIBUTES_SIZE,
            });
        }
        if let Some(video) = &c.video {
            if video.room_join && c.sub.is_empty() {
                return Err(MintError::JoinWithoutIdentity);
            }
            check_len(
                LimitedClaim::Room,
                video.room.len(),
                limits::MAX_ROOM_NAME_LEN,
            )?;
            check_len(
                LimitedClaim::DestinationRoom,
                video.destination_room.len(),
                limits::MAX_ROOM_NAME_LEN,
            )?;
            if let Some(unknown) = video.can_publish_sources.iter().find(|s| !s.is_known()) {
                return Err(MintError::UnknownTrackSource {
                    value: unknown.to_string(),
                });
            }
        }
        if let Some(kind) = c.kind.as_ref().filter(|k| !k.is_known()) {
            return Err(MintError::UnknownKind {
                value: kind.to_string(),
            });
        }
        if let Some(detail) = c.kind_details.iter().find(|d| !d.is_known()) {
            return Err(MintError::UnknownKindDetail {
                value: detail.to_string(),
            });
        }
        if let Some(config) = &c.room_config {
            if let Some(policy) = config
                .agents
                .iter()
                .map(|a| a.restart_policy)
                .find(|p| matches!(p, JobRestartPolicy::Unrecognized(_)))
            {
                return Err(MintError::UnknownRestartPolicy {
                    value: policy.number(),
                });
            }
            if config.egress.as_ref().is_some_and(|e| !e.is_object()) {
                return Err(MintError::EgressNotObject);
            }
            if !self.allow_sensitive_credentials {
                if let Some(path) = config.find_sensitive_credentials() {
                    return Err(MintError::SensitiveCredentials { path });
                }
            }
        }
        Ok(())
    }

    /// Signs the token, valid from now for the TTL.
    ///
    /// # Errors
    /// A [`MintError`] if the token would be invalid (see [`validate`](AccessToken::validate)).
    pub fn sign(&self, key: &KeyPair) -> Result<String, MintError> {
        self.sign_at(key, unix_now())
    }

    /// Signs the token as if the time were `now` (unix seconds): `iat` = `nbf` = `now`,
    /// `exp` = `now` + TTL.
    ///
    /// # Errors
    /// A [`MintError`] if the token would be invalid (see [`validate`](AccessToken::validate)).
    pub fn sign_at(&self, key: &KeyPair, now: i64) -> Result<String, MintError> {
        self.validate()?;
        PAYLOAD_BUFFER.with_borrow_mut(|buf| {
            buf.clear();
            self.write_payload(buf, key.api_key(), now);
            let len = jws::signed_len(buf.len());
            let result = if len > crate::DEFAULT_MAX_TOKEN_LEN {
                Err(MintError::TokenTooLarge {
                    len,
                    max: crate::DEFAULT_MAX_TOKEN_LEN,
                })
            } else {
                Ok(jws::sign(&key.mac, buf))
            };
            if buf.capacity() > PAYLOAD_BUFFER_KEEP {
                // Do not hold on to the memory of an unusually large token.
                *buf = Vec::new();
            }
            result
        })
    }

    /// The claims exactly as [`sign_at`](AccessToken::sign_at) would sign them.
    pub fn claims_at(&self, api_key: &str, now: i64) -> Claims {
        let mut claims = self.claims.clone();
        claims.iss = api_key.to_owned();
        claims.exp = Some(self.expires_at(now));
        claims.nbf = Some(now);
        claims.iat = Some(now);
        if claims.identity.is_empty() {
            claims.identity.clone_from(&claims.sub);
        }
        claims
    }

    /// The `exp` of a token signed at `now` (unix seconds).
    pub fn expires_at(&self, now: i64) -> i64 {
        // `validate` bounds the TTL to 100 years, so this neither truncates nor overflows.
        #[allow(clippy::cast_possible_wrap)]
        now.saturating_add(self.ttl.as_secs() as i64)
    }

    /// The payload JSON, as signed (tests compare it with the Go reference).
    #[cfg(test)]
    fn payload_at(&self, api_key: &str, now: i64) -> Vec<u8> {
        let mut buf = Vec::new();
        self.write_payload(&mut buf, api_key, now);
        buf
    }

    /// Writes the payload JSON: the registered claims from the key and the clock, then the
    /// claims (see [`crate::payload`]).
    fn write_payload(&self, buf: &mut Vec<u8>, api_key: &str, now: i64) {
        crate::payload::write(buf, &self.claims, api_key, self.expires_at(now), now);
    }
}

fn check_len(field: LimitedClaim, len: usize, max: usize) -> Result<(), MintError> {
    if len > max {
        Err(MintError::TooLong { field, len, max })
    } else {
        Ok(())
    }
}

/// The system clock in unix seconds (0 if the clock is before 1970): the time
/// [`AccessToken::sign`] and [`Verifier::verify`](crate::Verifier::verify) use.
pub fn unix_now() -> i64 {
    unix_seconds(SystemTime::now())
}

/// A time in whole unix seconds (0 for a time before 1970), as [`unix_now`] reads the clock.
pub fn unix_seconds(time: SystemTime) -> i64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grants::TrackSource;
    use crate::keys::ApiSecret;

    fn key() -> KeyPair {
        KeyPair::new(
            "APIexample",
            &ApiSecret::new("example-secret-0123456789abcdefghij"),
        )
        .unwrap()
    }

    #[test]
    fn unix_seconds_truncates_and_is_zero_before_1970() {
        let epoch = UNIX_EPOCH;
        assert_eq!(unix_seconds(epoch + Duration::from_millis(1_999)), 1);
        assert_eq!(unix_seconds(epoch - Duration::from_secs(5)), 0);
    }

    #[test]
    fn matches_the_go_reference_token_byte_for_byte() {
        // The token livekit/protocol's Go `AccessToken` writes for alice/standup/canPublish=false.
        // Our key order puts the times before sub, so compare the parsed payload and check the
        // signature separately.
        let mut grant = VideoGrant::join("standup");
        grant.can_publish = Some(false);
        let t = AccessToken::new()
            .with_identity("alice")
            .with_name("Alice")
            .with_video(grant);
        let payload = String::from_utf8(t.payload_at("APIexample", 1_700_000_000)).unwrap();
        assert_eq!(
            payload,
            r#"{"iss":"APIexample","exp":1700021600,"nbf":1700000000,"iat":1700000000,"sub":"alice","identity":"alice","name":"Alice","video":{"roomJoin":true,"room":"standup","canPublish":false}}"#
        );
        let go: serde_json::Value = serde_json::from_str(r#"{"iss":"APIexample","sub":"alice","exp":1700021600,"nbf":1700000000,"iat":1700000000,"identity":"alice","name":"Alice","video":{"roomJoin":true,"room":"standup","canPublish":false}}"#).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&payload).unwrap(),
            go
        );
        assert!(t.sign_at(&key(), 1_700_000_000).is_ok());
    }

    #[test]
    fn empty_token_has_only_registered_claims() {
        let payload = String::from_utf8(AccessToken::new().payload_at("k\"ey", 5)).unwrap();
        assert_eq!(payload, r#"{"iss":"k\"ey","exp":21605,"nbf":5,"iat":5}"#);
    }

    #[test]
    fn validation_errors() {
        let join = || AccessToken::new().with_video(VideoGrant::join("r"));
        assert_eq!(join().validate(), Err(MintError::JoinWithoutIdentity));
        assert!(
            AccessToken::new()
                .with_video(VideoGrant::join(""))
                .with_identity("a")
                .validate()
                .is_ok()
        );
        assert_eq!(
            join().with_identity("a".repeat(257)).validate(),
            Err(MintError::TooLong {
                field: LimitedClaim::Identity,
                len: 257,
                max: 256
            })
        );
        assert!(
            join().with_identity("é".repeat(128)).validate().is_ok(),
            "256 bytes is allowed"
        );
        assert_eq!(
            AccessToken::new()
                .with_identity("a")
                .with_video(VideoGrant::join("r".repeat(300)))
                .validate(),
            Err(MintError::TooLong {
                field: LimitedClaim::Room,
                len: 300,
                max: 256
            })
        );
        assert!(matches!(
            join()
                .with_identity("a")
                .with_metadata("m".repeat(512 * 1024 + 1))
                .validate(),
            Err(MintError::TooLong {
                field: LimitedClaim::Metadata,
                ..
            })
        ));
        assert!(
            join()
                .with_identity("a")
                .with_metadata("m".repeat(512 * 1024))
                .validate()
                .is_ok()
        );
        assert_eq!(
            join()
                .with_identity("a")
                .with_attribute("k", "v".repeat(64 * 1024))
                .validate(),
            Err(MintError::AttributesTooLarge {
                len: 64 * 1024 + 1,
                max: 64 * 1024
            })
        );
        let mut g = VideoGrant::join("r");
        g.can_publish_sources = vec![TrackSource::Camera, TrackSource::Other("webcam".into())];
        assert_eq!(
            AccessToken::new()
                .with_identity("a")
                .with_video(g)
                .validate(),
            Err(MintError::UnknownTrackSource {
                value: "webcam".into()
            })
        );
        assert_eq!(
            AccessToken::new()
                .with_kind(ParticipantKind::Other("robot".into()))
                .validate(),
            Err(MintError::UnknownKind {
                value: "robot".into()
            })
        );
        assert_eq!(
            AccessToken::new()
                .with_kind_details(vec![KindDetail::Other("x".into())])
                .validate(),
            Err(MintError::UnknownKindDetail { value: "x".into() })
        );
        assert_eq!(
            AccessToken::new().with_ttl(Duration::ZERO).validate(),
            Err(MintError::InvalidTtl { seconds: 0 })
        );
        let secret_config = RoomConfiguration {
            egress: Some(serde_json::json!({"tracks": {"s3": {"secret": "s"}}})),
            ..RoomConfiguration::default()
        };
        let t = AccessToken::new().with_room_config(secret_config);
        assert_eq!(
            t.validate(),
            Err(MintError::SensitiveCredentials {
                path: "roomConfig.egress.tracks.s3.secret".into()
            })
        );
        assert!(t.allow_sensitive_credentials(true).validate().is_ok());
    }

    #[test]
    fn claims_at_matches_the_signed_payload() {
        let t = AccessToken::new()
            .with_identity("bob")
            .with_ttl(Duration::from_secs(60));
        let claims = t.claims_at("APIk", 100);
        let signed: Claims = serde_json::from_slice(&t.payload_at("APIk", 100)).unwrap();
        assert_eq!(claims, signed);
        assert_eq!(
            (claims.nbf, claims.iat, claims.exp),
            (Some(100), Some(100), Some(160))
        );
    }
}
