//! Error types, one per operation: [`KeyError`], [`MintError`], [`VerifyError`].

use std::fmt;

/// A problem with an API key, an API secret or a key set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The API key is the empty string.
    #[error(
        "the API key is empty; set it to your LiveKit project's API key (it usually starts with \"API\")"
    )]
    EmptyApiKey,
    /// The API secret is the empty string.
    #[error(
        "the API secret for key {key:?} is empty; set it to the secret that LiveKit paired with that key"
    )]
    EmptyApiSecret {
        /// The key whose secret is empty.
        key: String,
    },
    /// A line of a keys file (`key: secret`) could not be read.
    #[error(
        "keys line {line}: {reason}; each line must read `key: secret`, with a space after the colon"
    )]
    Syntax {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The same API key appears twice in a key set.
    #[error("keys line {line}: the key {key:?} is listed twice; keep one line per key")]
    DuplicateKey {
        /// 1-based line number of the second occurrence.
        line: usize,
        /// The repeated key.
        key: String,
    },
    /// A key set holds no key at all.
    #[error("the key set is empty; give at least one `key: secret` pair")]
    NoKeys,
}

/// Why a token could not be minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MintError {
    /// The video grant has `roomJoin` but the token has no identity.
    #[error(
        "a token that joins a room needs a participant identity; set one (e.g. --identity alice) or drop the join grant"
    )]
    JoinWithoutIdentity,
    /// A string claim is longer than the LiveKit server accepts.
    #[error(
        "{field} is {len} bytes long, over the LiveKit server's limit of {max} bytes; shorten it"
    )]
    TooLong {
        /// The claim.
        field: LimitedClaim,
        /// Its length in bytes.
        len: usize,
        /// The server's limit in bytes.
        max: usize,
    },
    /// The total size of the attributes is over the server's limit.
    #[error(
        "attributes take {len} bytes (keys plus values), over the LiveKit server's limit of {max} bytes; remove or shorten some"
    )]
    AttributesTooLarge {
        /// Sum of key and value lengths, in bytes.
        len: usize,
        /// The server's limit.
        max: usize,
    },
    /// `canPublishSources` holds a name that is not a LiveKit track source.
    #[error(
        "unknown track source {value:?}; use camera, microphone, screen_share or screen_share_audio"
    )]
    UnknownTrackSource {
        /// The offending value.
        value: String,
    },
    /// `kind` is not a LiveKit participant kind.
    #[error(
        "unknown participant kind {value:?}; use standard, ingress, egress, sip, agent, connector or bridge"
    )]
    UnknownKind {
        /// The offending value.
        value: String,
    },
    /// `kindDetails` holds a name that is not a LiveKit kind detail.
    #[error(
        "unknown participant kind detail {value:?}; use cloud_agent, forwarded, connector_whatsapp, connector_twilio, bridge_rtsp or simulation"
    )]
    UnknownKindDetail {
        /// The offending value.
        value: String,
    },
    /// `roomConfig.agents[].restartPolicy` is not a known policy.
    #[error("unknown agent restart policy {value}; use JRP_ON_FAILURE or JRP_NEVER")]
    UnknownRestartPolicy {
        /// The offending enum number.
        value: i32,
    },
    /// The room configuration embeds storage or stream credentials.
    #[error(
        "the room configuration holds sensitive credentials at {path}; anyone holding the token can read them. Remove them, or allow them explicitly (--allow-sensitive-credentials)"
    )]
    SensitiveCredentials {
        /// JSON path of the first credential found, e.g. `roomConfig.egress.tracks.s3.secret`.
        path: String,
    },
    /// `roomConfig.egress` is not a JSON object.
    #[error("roomConfig.egress must be a JSON object (LiveKit's RoomEgress)")]
    EgressNotObject,
    /// The encoded token would be longer than verifiers accept (JSON escaping can make
    /// metadata within the server's limits several times longer).
    #[error(
        "the token would be {len} bytes long, over the {max}-byte cap that verifiers (and HTTP servers) accept; shorten the metadata or attributes"
    )]
    TokenTooLarge {
        /// The encoded length.
        len: usize,
        /// The cap ([`DEFAULT_MAX_TOKEN_LEN`](crate::DEFAULT_MAX_TOKEN_LEN)).
        max: usize,
    },
    /// The TTL is zero or too large to represent.
    #[error("the TTL must be between 1 second and 100 years, got {seconds} s")]
    InvalidTtl {
        /// The TTL that was asked for, in seconds.
        seconds: u64,
    },
}

/// A string claim whose length the LiveKit server limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitedClaim {
    /// `sub`, the participant identity.
    Identity,
    /// `name`.
    Name,
    /// `metadata`.
    Metadata,
    /// `video.room`.
    Room,
    /// `video.destinationRoom`.
    DestinationRoom,
}

impl LimitedClaim {
    /// Its JSON path in the payload.
    pub fn json_path(self) -> &'static str {
        match self {
            LimitedClaim::Identity => "sub",
            LimitedClaim::Name => "name",
            LimitedClaim::Metadata => "metadata",
            LimitedClaim::Room => "video.room",
            LimitedClaim::DestinationRoom => "video.destinationRoom",
        }
    }
}

impl fmt::Display for LimitedClaim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LimitedClaim::Identity => f.write_str("sub (identity)"),
            other => f.write_str(other.json_path()),
        }
    }
}

/// Which of the three parts of a compact JWS an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Part {
    /// The JOSE header (first segment).
    Header,
    /// The claims (second segment).
    Payload,
    /// The MAC (third segment).
    Signature,
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

/// Why a token was rejected.
///
/// Every failure has its own variant; the messages name the problem and, where the token alone
/// shows it, the fix. None of them contain the token or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The input is the empty string. (Nothing is trimmed: white space around a token is a
    /// malformed token; callers that read tokens from text trim it themselves.)
    #[error("the token is empty")]
    Empty,
    /// The token is longer than [`VerifyOptions::max_token_len`](crate::VerifyOptions).
    #[error("the token is {len} bytes long, over the {max}-byte cap")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The cap in force.
        max: usize,
    },
    /// The token does not have exactly three dot-separated segments.
    #[error("a JWT has 3 dot-separated segments, this has {found}")]
    SegmentCount {
        /// How many segments there are.
        found: usize,
    },
    /// A segment is not canonical unpadded base64url.
    #[error("the {part} is not valid unpadded base64url")]
    Base64 {
        /// Which segment.
        part: Part,
    },
    /// The header is not a JSON object of the expected shape.
    #[error("the header is not valid JSON: {detail}")]
    HeaderJson {
        /// What the JSON parser reported.
        detail: String,
    },
    /// The header names an algorithm other than HS256.
    #[error("the token uses algorithm {found:?}; LiveKit tokens are HS256 only")]
    UnsupportedAlgorithm {
        /// The `alg` header value.
        found: String,
    },
    /// The header carries a `crit` parameter, whose extensions we do not implement.
    #[error("the header lists critical extensions (crit), which LiveKit tokens never use")]
    CriticalHeader,
    /// The claims are not a JSON object of the expected shape.
    #[error("the claims are not valid: {detail}")]
    ClaimsJson {
        /// What the JSON parser reported (field and position).
        detail: String,
    },
    /// The token has no `iss` claim, so no key can be chosen.
    #[error("the token has no issuer (iss); LiveKit tokens carry the API key there")]
    MissingIssuer,
    /// No secret is configured for the token's issuer.
    #[error(
        "no secret is configured for API key {iss:?}; check the key, or add it to the keys file"
    )]
    UnknownKey {
        /// The `iss` claim.
        iss: String,
    },
    /// The MAC does not match: wrong secret, or the token was altered.
    #[error(
        "the signature does not match; the token was signed with another secret or has been altered"
    )]
    BadSignature,
    /// The token has no `exp` claim.
    #[error(
        "the token has no expiry (exp), so it would never expire; roomkey requires one, as the LiveKit SDK verifiers and newer LiveKit servers do"
    )]
    MissingExpiry,
    /// `exp` is in the past, beyond the leeway.
    #[error(
        "the token expired {} (exp {}), beyond the {leeway} s leeway",
        crate::inspect::relative(.exp.saturating_sub(*.now)),
        crate::inspect::utc(*.exp)
    )]
    Expired {
        /// The `exp` claim.
        exp: i64,
        /// The verification time.
        now: i64,
        /// The leeway in seconds.
        leeway: u64,
    },
    /// `nbf` is in the future, beyond the leeway.
    #[error(
        "the token is not valid until {} (nbf {}), beyond the {leeway} s leeway: the clock of \
         the machine that minted it is ahead of this one's",
        crate::inspect::relative(.nbf.saturating_sub(*.now)),
        crate::inspect::utc(*.nbf)
    )]
    NotYetValid {
        /// The `nbf` claim.
        nbf: i64,
        /// The verification time.
        now: i64,
        /// The leeway in seconds.
        leeway: u64,
    },
}
