//! Verification: [`Verifier`], [`VerifyOptions`], [`VerifiedToken`].

use std::time::Duration;

use crate::claims::Claims;
use crate::error::VerifyError;
use crate::jws;
use crate::keys::KeySet;
use crate::token::unix_now;

/// Default cap on a token's length: 1 MiB. A token may legitimately carry 512 KiB of metadata
/// and 64 KiB of attributes, which base64 makes about 770 KB.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 1024 * 1024;

/// Default clock leeway on `exp` and `nbf`: 60 s, as the LiveKit server uses.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

/// How strictly to verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Clock leeway on `exp` and `nbf` (default 60 s).
    pub leeway: Duration,
    /// Longest token accepted, bytes (default 1 MiB).
    pub max_token_len: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            leeway: DEFAULT_LEEWAY,
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
        }
    }
}

/// Verifies tokens against a [`KeySet`], as the LiveKit server does: HS256 only, the secret
/// chosen by the token's issuer, `exp` required, `exp` and `nbf` checked with a leeway.
///
/// # Example
/// ```
/// use roomkey_token::{AccessToken, ApiSecret, KeyPair, KeySet, Verifier, VideoGrant};
///
/// let key = KeyPair::new("APIexample", &ApiSecret::new("example-secret-0123456789abcdefghij"))?;
/// let jwt = AccessToken::new().with_identity("alice").with_video(VideoGrant::join("standup")).sign(&key)?;
/// let verified = Verifier::new(KeySet::single(key)).verify(&jwt)?;
/// assert_eq!(verified.claims.identity(), "alice");
/// assert_eq!(verified.claims.room(), "standup");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Verifier {
    keys: KeySet,
    options: VerifyOptions,
}

/// A token that passed verification.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// The claims, as roomkey models them.
    pub claims: Claims,
    payload: String,
}

impl VerifiedToken {
    /// The payload JSON exactly as signed, unknown claims included.
    pub fn payload(&self) -> &str {
        &self.payload
    }
}

impl Verifier {
    /// A verifier with the default options.
    pub fn new(keys: KeySet) -> Self {
        Verifier {
            keys,
            options: VerifyOptions::default(),
        }
    }

    /// Replaces the options.
    #[must_use]
    pub fn with_options(mut self, options: VerifyOptions) -> Self {
        self.options = options;
        self
    }

    /// Sets the clock leeway.
    #[must_use]
    pub fn with_leeway(mut self, leeway: Duration) -> Self {
        self.options.leeway = leeway;
        self
    }

    /// The keys this verifier accepts.
    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Verifies a token against the system clock.
    ///
    /// # Errors
    /// A [`VerifyError`] naming the first problem.
    pub fn verify(&self, token: &str) -> Result<VerifiedToken, VerifyError> {
        self.verify_at(token, unix_now())
    }

    /// Verifies a token as if the time were `now` (unix seconds).
    ///
    /// The checks run in this order: size, shape and base64 of the three segments; the header
    /// (HS256, no `crit`), before any MAC is computed; the claims' JSON; the issuer's key; the
    /// MAC, compared in constant time; then `exp` (required) and `nbf`.
    ///
    /// # Errors
    /// A [`VerifyError`] naming the first problem.
    pub fn verify_at(&self, token: &str, now: i64) -> Result<VerifiedToken, VerifyError> {
        let parts = jws::decode(token, self.options.max_token_len)?;
        let claims = parse_claims(&parts.payload)?;
        if claims.iss.is_empty() {
            return Err(VerifyError::MissingIssuer);
        }
        let Some(key) = self.keys.get(&claims.iss) else {
            return Err(VerifyError::UnknownKey { iss: claims.iss });
        };
        if !parts.mac_matches(&key.mac) {
            return Err(VerifyError::BadSignature);
        }
        let leeway = self.options.leeway.as_secs();
        let leeway_i = i64::try_from(leeway).unwrap_or(i64::MAX);
        let Some(exp) = claims.exp else {
            return Err(VerifyError::MissingExpiry);
        };
        if now >= exp.saturating_add(leeway_i) {
            return Err(VerifyError::Expired { exp, now, leeway });
        }
        if let Some(nbf) = claims.nbf {
            if now < nbf.saturating_sub(leeway_i) {
                return Err(VerifyError::NotYetValid { nbf, now, leeway });
            }
        }
        Ok(VerifiedToken {
            claims,
            payload: parts.payload,
        })
    }
}

fn parse_claims(payload: &str) -> Result<Claims, VerifyError> {
    if !jws::starts_with_brace(payload.as_bytes()) {
        return Err(VerifyError::ClaimsJson {
            detail: "expected a JSON object".into(),
        });
    }
    // Whatever verifies must also be printable by the CLI and readable into a
    // `serde_json::Value` (whose own limit is 128 levels), unknown claims included.
    let depth = json_depth(payload.as_bytes());
    if depth > crate::limits::MAX_JSON_DEPTH {
        return Err(VerifyError::ClaimsJson {
            detail: format!(
                "the claims are nested {depth} levels deep, deeper than the {} levels roomkey reads",
                crate::limits::MAX_JSON_DEPTH
            ),
        });
    }
    serde_json::from_str(payload).map_err(|e| VerifyError::ClaimsJson {
        detail: e.to_string(),
    })
}

/// How deeply arrays and objects nest in a JSON text (brackets inside strings do not count).
/// Only a text with more brackets than the limit is scanned: nearly every token has a handful.
fn json_depth(json: &[u8]) -> usize {
    if memchr::memchr2_iter(b'{', b'[', json).count() <= crate::limits::MAX_JSON_DEPTH {
        return 1;
    }
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for &b in json {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// Reading tokens without checking them. Nothing here says a token is genuine.
pub mod dangerous {
    use super::{Claims, VerifyError, jws, parse_claims};

    /// Decodes a token's claims **without verifying its signature or times**, for display
    /// ("what does this token say?"). The shape and header checks still apply. Returns the
    /// claims and the raw payload JSON.
    ///
    /// # Errors
    /// A [`VerifyError`] if the token cannot be decoded at all.
    pub fn decode_unverified(token: &str) -> Result<(Claims, String), VerifyError> {
        let parts = jws::decode(token, super::DEFAULT_MAX_TOKEN_LEN)?;
        let claims = parse_claims(&parts.payload)?;
        Ok((claims, parts.payload))
    }
}
