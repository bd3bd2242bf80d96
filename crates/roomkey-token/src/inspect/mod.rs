//! The token doctor: what a token says, what the server will make of it, and the known mistakes
//! in it, as a list of [`Finding`]s with stable codes.
//!
//! [`inspect`] reads any text: a token that does not decode is explained as far as it goes
//! (`malformed`), one signed with another algorithm still shows its claims (`alg_not_hs256`).
//! Without keys the signature is `unchecked`; with keys it is checked as
//! [`Verifier`](crate::Verifier) checks it. Times are judged against the `now` it is given, with
//! the server's leeway; [`clock::skew_findings`] judges them against a server's clock as well.
//! Like the rest of this crate it does no I/O: asking a server is the caller's job.

pub mod clock;
mod findings;
mod permissions;
pub mod server;

use std::time::Duration;

use base64_simd::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::claims::Claims;
use crate::error::VerifyError;
use crate::keys::KeySet;
use crate::verify::{DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, Verifier};

pub use permissions::permissions;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; nothing is wrong.
    Info,
    /// The server accepts the token, but it is probably not what was meant, or risky.
    Warning,
    /// The server refuses the token, or the token does not do what it appears to.
    Error,
}

impl Severity {
    /// `error`, `warning` or `info`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $text:literal, )*) => {
        /// What a finding is about: a stable name, for scripts and documentation.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* #[serde(rename = $text)] $variant, )*
        }

        impl Code {
            /// Every code, in the order they are declared.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as it is printed (`expired_within_leeway`).
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $text, )* }
            }
        }
    };
}

codes! {
    /// The text is not a JWT that can be decoded.
    Malformed = "malformed",
    /// The header names another algorithm than HS256.
    AlgNotHs256 = "alg_not_hs256",
    /// No key was given, so the signature was not checked.
    SignatureUnchecked = "signature_unchecked",
    /// The signature does not match the key's secret.
    BadSignature = "bad_signature",
    /// None of the keys given is the token's `iss`.
    UnknownKey = "unknown_key",
    /// The token has no `iss`: no server can pick a secret for it.
    NoIssuer = "no_issuer",
    /// `exp` is past, beyond the leeway.
    Expired = "expired",
    /// `exp` is past, but within the leeway.
    ExpiredWithinLeeway = "expired_within_leeway",
    /// `nbf` is ahead, beyond the leeway.
    NotYetValid = "not_yet_valid",
    /// `nbf` is ahead, within the leeway.
    NotYetValidWithinLeeway = "not_yet_valid_within_leeway",
    /// `iat` is in the future: the minting machine's clock is ahead.
    IssuedInFuture = "issued_in_future",
    /// No `exp`.
    NoExp = "no_exp",
    /// A join token without an identity.
    NoIdentity = "no_identity",
    /// A join token without a room.
    JoinWithoutRoom = "join_without_room",
    /// A token that joins nothing and grants nothing.
    NoJoin = "no_join",
    /// A claim nobody reads (with the one probably meant).
    UnknownClaim = "unknown_claim",
    /// A member of the video grant written at the top level, where it is ignored.
    GrantOutsideVideo = "grant_outside_video",
    /// A claim of the wrong JSON type.
    WrongType = "wrong_type",
    /// `canPublishSources` with `canPublish` false.
    SourcesWithoutPublish = "sources_without_publish",
    /// A lifetime the client SDKs spend mostly refetching.
    TtlTooShort = "ttl_too_short",
    /// A lifetime over a day.
    TtlVeryLong = "ttl_very_long",
    /// Too long for the `?access_token=` URL the clients connect with.
    OversizedForUrl = "oversized_for_url",
    /// An identity over the server's default limit.
    IdentityTooLong = "identity_too_long",
    /// A room name over the server's default limit.
    RoomNameTooLong = "room_name_too_long",
    /// Metadata over the server's default limit.
    MetadataOverLimit = "metadata_over_limit",
    /// Metadata close to the server's default limit.
    MetadataNearLimit = "metadata_near_limit",
    /// Attributes over the server's default limit.
    AttributesOverLimit = "attributes_over_limit",
    /// Attributes close to the server's default limit.
    AttributesNearLimit = "attributes_near_limit",
    /// An administrative grant in a participant's join token.
    AdminGrantInJoinToken = "admin_grant_in_join_token",
    /// Storage or stream credentials in `roomConfig.egress`, readable by anyone with the token.
    EgressCredentialsInRoomConfig = "egress_credentials_in_room_config",
    /// Agents in `roomConfig`: dispatched only if this join creates the room.
    AgentsNeedNewRoom = "agents_need_new_room",
    /// The clocks of this machine and the server disagree.
    ClockSkew = "clock_skew",
    /// The server accepted the token.
    ServerAccepted = "server_accepted",
    /// The server refused the token.
    ServerRefused = "server_refused",
    /// The server does not know the token's API key.
    KeyNotOnServer = "key_not_on_server",
    /// The server will not create the room and it does not exist.
    RoomNotFound = "room_not_found",
    /// The token's agents will not come: the room already exists.
    AgentsIgnoredForExistingRoom = "agents_ignored_for_existing_room",
    /// The server could not be asked.
    ServerUnreachable = "server_unreachable",
}

/// One thing found in a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// What it is about.
    pub code: Code,
    /// How bad it is.
    pub severity: Severity,
    /// What was found, with the values involved.
    pub message: String,
    /// What to do about it.
    pub hint: String,
}

impl Finding {
    /// A finding.
    pub fn new(
        code: Code,
        severity: Severity,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        Finding {
            code,
            severity,
            message: message.into(),
            hint: hint.into(),
        }
    }
}

/// Whether the signature was checked, and what came of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Signature {
    /// It matches one of the keys given.
    Valid,
    /// It does not, or it could not be checked against the keys given.
    Invalid,
    /// No keys were given.
    Unchecked,
}

/// What [`inspect`] judges against.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct InspectOptions {
    /// The time to judge `exp`, `nbf` and `iat` against, unix seconds.
    pub now: i64,
    /// The clock leeway on `exp` and `nbf` (the server's is 60 s).
    pub leeway: Duration,
}

impl InspectOptions {
    /// Judging at `now` with the server's 60 s leeway.
    pub fn at(now: i64) -> Self {
        InspectOptions {
            now,
            leeway: DEFAULT_LEEWAY,
        }
    }

    /// Replaces the leeway.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    pub(crate) fn leeway_secs(&self) -> i64 {
        i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX)
    }
}

/// A token taken apart and judged.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Inspection {
    /// Whether the signature was checked, and what came of it.
    pub signature: Signature,
    /// The header, when it decodes to JSON.
    pub header: Option<Value>,
    /// The payload as it is, unknown claims included, when it decodes to a JSON object.
    pub payload: Option<Map<String, Value>>,
    /// The claims as roomkey and the server read them, when the payload has the right types.
    pub claims: Option<Claims>,
    /// The token's length in bytes.
    pub token_len: usize,
    /// What the token was judged against.
    pub options: InspectOptions,
    /// Everything found, errors first.
    pub findings: Vec<Finding>,
}

impl Inspection {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Adds findings (a server's verdict, say), keeping errors first.
    pub fn add(&mut self, findings: impl IntoIterator<Item = Finding>) {
        self.findings.extend(findings);
        self.sort();
    }

    /// About how long the connect URL a client builds with this token is, bytes.
    pub fn url_len(&self) -> usize {
        findings::url_len(self.token_len)
    }

    /// Whether a finding with this code is listed.
    pub fn has(&self, code: Code) -> bool {
        self.findings.iter().any(|f| f.code == code)
    }

    fn sort(&mut self) {
        // Stable: within a severity, the order the checks ran in (signature, times, claims).
        self.findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    }

    /// The inspection as one JSON object: `signature`, `header`, `claims` (the payload as it
    /// is), `times`, `permissions`, `size`, `findings`, and `server` (`null`; a caller that asks
    /// a server replaces it).
    pub fn to_json(&self) -> Value {
        json!({
            "signature": self.signature,
            "header": self.header,
            "claims": self.payload,
            "times": self.claims.as_ref().map(|c| times_json(c, &self.options)),
            "permissions": self.claims.as_ref().map(permissions),
            "size": {
                "bytes": self.token_len,
                "url_bytes": self.url_len(),
                "fits_in_url": self.url_len() <= findings::URL_LIMIT,
            },
            "findings": self.findings,
            "server": null,
        })
    }
}

/// Takes a token apart and judges it (see the [module](self) documentation). White space around
/// the token and a `Bearer ` prefix are ignored.
pub fn inspect(token: &str, keys: Option<&KeySet>, options: InspectOptions) -> Inspection {
    let token = token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    let mut inspection = Inspection {
        signature: Signature::Unchecked,
        header: None,
        payload: None,
        claims: None,
        token_len: token.len(),
        options,
        findings: Vec::new(),
    };
    let found = &mut inspection.findings;
    let segments: Vec<&str> = token.split('.').collect();
    if token.is_empty() || token.len() > DEFAULT_MAX_TOKEN_LEN || segments.len() != 3 {
        let why = if token.is_empty() {
            "the token is empty".to_owned()
        } else if token.len() > DEFAULT_MAX_TOKEN_LEN {
            format!(
                "the token is {} bytes, over the {DEFAULT_MAX_TOKEN_LEN}-byte cap",
                token.len()
            )
        } else {
            format!(
                "a JWT has 3 dot-separated parts, this text has {}",
                segments.len()
            )
        };
        found.push(malformed(why));
        return inspection;
    }
    match decode_json(segments[0]) {
        Ok(header) => {
            let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
            if alg != "HS256" {
                found.push(Finding::new(
                    Code::AlgNotHs256,
                    Severity::Error,
                    format!("the header says alg {alg:?}; LiveKit tokens are HS256 only"),
                    "mint the token with a LiveKit SDK or roomkey, which sign with HS256 and the \
                     API secret",
                ));
            }
            inspection.header = Some(header);
        }
        Err(why) => found.push(malformed(format!("the header {why}"))),
    }
    let payload = match decode_json(segments[1]) {
        Ok(Value::Object(payload)) => payload,
        Ok(_) => {
            found.push(malformed(
                "the payload is JSON but not an object".to_owned(),
            ));
            return inspection;
        }
        Err(why) => {
            found.push(malformed(format!("the payload {why}")));
            return inspection;
        }
    };
    findings::check_shape(&payload, found);
    let claims: Option<Claims> = serde_json::from_value(Value::Object(payload.clone()))
        .map_err(|e| {
            if !found.iter().any(|f| f.code == Code::WrongType) {
                found.push(malformed(format!("the claims do not read: {e}")));
            }
        })
        .ok();
    inspection.payload = Some(payload);
    if inspection.header.is_some() {
        inspection.signature = check_signature(token, keys, found);
    }
    if let Some(claims) = &claims {
        findings::check_times(claims, &options, found);
        findings::check_claims(claims, token.len(), found);
    }
    inspection.claims = claims;
    inspection.sort();
    inspection
}

fn malformed(why: String) -> Finding {
    Finding::new(
        Code::Malformed,
        Severity::Error,
        why,
        "pass the whole token as the SDK or token endpoint returned it (three base64url parts \
         joined by dots, no quotes)",
    )
}

/// Decodes one base64url segment into JSON; the error completes "the header …".
fn decode_json(segment: &str) -> Result<Value, String> {
    // Lenient about padding here: the point is to show what the token says. The verifier,
    // which decides, is strict.
    let bytes = URL_SAFE_NO_PAD
        .decode_to_vec(segment.trim_end_matches('='))
        .map_err(|_| "is not base64url".to_owned())?;
    serde_json::from_slice(&bytes).map_err(|e| format!("is not JSON: {e}"))
}

fn check_signature(token: &str, keys: Option<&KeySet>, found: &mut Vec<Finding>) -> Signature {
    let Some(keys) = keys else {
        found.push(Finding::new(
            Code::SignatureUnchecked,
            Severity::Info,
            "the signature was not checked: no API secret was given",
            "give the key and secret (--api-key with --api-secret-file, LIVEKIT_API_KEY and \
             LIVEKIT_API_SECRET, or --keys-file) to check it, or --server to ask the LiveKit server",
        ));
        return Signature::Unchecked;
    };
    // Times are judged by the findings, so the verifier only decides the signature here.
    let verifier = Verifier::new(keys.clone()).with_leeway(Duration::from_secs(u64::MAX));
    match verifier.verify_at(token, 0) {
        Ok(_) | Err(VerifyError::MissingExpiry) => Signature::Valid,
        Err(VerifyError::MissingIssuer) => {
            found.push(Finding::new(
                Code::NoIssuer,
                Severity::Error,
                "the token has no issuer (iss), so no secret can be chosen to check it",
                "mint it with the API key as the issuer; every LiveKit SDK does",
            ));
            Signature::Invalid
        }
        Err(VerifyError::UnknownKey { iss }) => {
            let mut given = keys.api_keys();
            given.truncate(5);
            found.push(Finding::new(
                Code::UnknownKey,
                Severity::Error,
                format!(
                    "the token was signed with API key {iss:?}, and no secret for it was given \
                     (keys given: {})",
                    given.join(", ")
                ),
                "use the secret of that key, or mint the token with one of the keys given",
            ));
            Signature::Invalid
        }
        Err(VerifyError::BadSignature) => {
            found.push(Finding::new(
                Code::BadSignature,
                Severity::Error,
                "the signature does not match the secret given for the token's API key",
                "the token was signed with another secret (another project's, or an old one), \
                 or altered after signing",
            ));
            Signature::Invalid
        }
        // Shape and algorithm problems are findings of their own already; the strict decoder
        // may still refuse what the lenient one read (padding, a `crit` header).
        Err(e) => {
            if !found.iter().any(|f| f.severity == Severity::Error) {
                found.push(malformed(e.to_string()));
            }
            Signature::Invalid
        }
    }
}

/// Unix seconds as `{"unix", "utc", "relative"}` against `now`.
pub fn time_json(unix: i64, now: i64) -> Value {
    json!({
        "unix": unix,
        "utc": utc(unix),
        "relative": relative(unix - now),
    })
}

fn times_json(claims: &Claims, options: &InspectOptions) -> Value {
    let now = options.now;
    let at = |t: Option<i64>| t.map(|t| time_json(t, now));
    json!({
        "now": time_json(now, now),
        "leeway_seconds": options.leeway.as_secs(),
        "iat": at(claims.iat),
        "nbf": at(claims.nbf),
        "exp": at(claims.exp),
        "ttl_seconds": findings::ttl(claims),
    })
}

/// Unix seconds as an RFC 3339 UTC timestamp; a time outside the years -9999 to 9999 as its
/// number.
pub fn utc(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map_or_else(|_| format!("{unix} (unix seconds)"), |t| t.to_string())
}

/// A signed number of seconds from now as "in 14 min" or "3 min ago", to the two largest
/// units ("in 2 h 5 min", "30 s ago"); zero is "now".
pub fn relative(secs: i64) -> String {
    if secs == 0 {
        return "now".to_owned();
    }
    let text = span(secs.unsigned_abs());
    if secs > 0 {
        format!("in {text}")
    } else {
        format!("{text} ago")
    }
}

/// A number of seconds to its two largest units: "2 h 5 min", "30 s", "3 d 4 h".
pub fn span(secs: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(86_400, "d"), (3600, "h"), (60, "min"), (1, "s")];
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, name) in UNITS {
        if rest >= size || (size == 1 && parts.is_empty()) {
            parts.push(format!("{} {name}", rest / size));
            rest %= size;
        } else if !parts.is_empty() {
            break; // "1 h 0 min 5 s" says too much: stop at the first gap.
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}
