//! Caller authentication: static API keys (kept as SHA-256 hashes, compared in constant time)
//! and the app's own session JWTs, verified against an OIDC issuer's JWKS.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, Validation};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;

use crate::config::{Config, OidcIssuer};
use crate::jwks::{Jwks, KeyError};
use crate::policy::Caller;

/// Why a caller was not authenticated (401). Messages say what to fix and reveal nothing about
/// which keys exist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header.
    #[error("missing credentials: send Authorization: Bearer <api key or session token>")]
    Missing,
    /// The header is not a bearer token.
    #[error("the Authorization header must be \"Bearer <token>\"")]
    NotBearer,
    /// No static key matches.
    #[error("the API key is not recognised")]
    UnknownKey,
    /// The session JWT is not acceptable; the reason is generic on purpose.
    #[error("the session token is not valid: {0}")]
    Session(String),
}

/// Authenticates callers against the configuration.
pub struct Authenticator {
    callers: Vec<crate::config::StaticCaller>,
    oidc: Vec<(OidcIssuer, Arc<Jwks>)>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("static_callers", &self.callers.len())
            .field("oidc_issuers", &self.oidc.len())
            .finish_non_exhaustive()
    }
}

impl Authenticator {
    /// Builds the authenticator for a configuration.
    pub fn new(config: &Config) -> Self {
        Authenticator {
            callers: config.callers.clone(),
            oidc: config
                .oidc
                .iter()
                .map(|o| (o.clone(), Jwks::new(&o.jwks_url, o.jwks_min_refresh)))
                .collect(),
        }
    }

    /// Authenticates the value of an `Authorization` header.
    ///
    /// # Errors
    /// An [`AuthError`] (answered with 401).
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Caller, AuthError> {
        if let Some(known) = self.authenticate_now(header) {
            return known;
        }
        let token = bearer(header)?;
        // Boxed: a JWKS download is a large state that static-key requests need not carry.
        Box::pin(self.session(token)).await
    }

    /// [`Authenticator::authenticate`] when it needs no waiting: a missing or malformed header,
    /// or a static key. `None` for a session JWT, whose keys may have to be downloaded.
    pub(crate) fn authenticate_now(
        &self,
        header: Option<&str>,
    ) -> Option<Result<Caller, AuthError>> {
        let token = match bearer(header) {
            Ok(token) => token,
            Err(e) => return Some(Err(e)),
        };
        if token.bytes().filter(|b| *b == b'.').count() == 2 && !self.oidc.is_empty() {
            return None;
        }
        Some(self.static_key(token))
    }

    fn static_key(&self, key: &str) -> Result<Caller, AuthError> {
        let hash: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        // Compare against every caller, without stopping at a match.
        let mut found = None;
        for (i, caller) in self.callers.iter().enumerate() {
            if bool::from(caller.key_hash.ct_eq(&hash)) {
                found = Some(i);
            }
        }
        let caller = &self.callers[found.ok_or(AuthError::UnknownKey)?];
        Ok(Caller {
            name: caller.name.clone(),
            subject: None,
            display_name: None,
            profile: caller.profile,
            admin: caller.admin,
            ttl_cap: None,
            session_expires_at: None,
        })
    }

    async fn session(&self, token: &str) -> Result<Caller, AuthError> {
        let bad = |m: &str| AuthError::Session(m.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| bad("malformed"))?;
        if !matches!(header.alg, Algorithm::RS256 | Algorithm::ES256) {
            return Err(bad("only RS256 and ES256 are accepted"));
        }
        let iss = unverified_issuer(token).ok_or_else(|| bad("no issuer"))?;
        let (issuer, jwks) = self
            .oidc
            .iter()
            .find(|(o, _)| o.issuer == iss)
            .ok_or_else(|| bad("unknown issuer"))?;
        let kid = header.kid.clone().unwrap_or_default();
        let key = jwks.key(&kid, header.alg).await.map_err(|e| match e {
            KeyError::Unknown => bad("unknown signing key"),
            KeyError::WrongAlgorithm => bad("the key does not match the algorithm"),
        })?;

        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&issuer.issuer]);
        validation.set_audience(&[&issuer.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.leeway = issuer.leeway.as_secs();
        validation.validate_nbf = true;
        let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
            token,
            &key,
            &validation,
        )
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            bad(match e.kind() {
                K::ExpiredSignature => "expired",
                K::ImmatureSignature => "not valid yet",
                K::InvalidAudience => "wrong audience",
                K::InvalidIssuer => "wrong issuer",
                K::InvalidSignature => "bad signature",
                K::MissingRequiredClaim(_) => "a required claim is missing",
                _ => "rejected",
            })
        })?;
        let claims = data.claims;
        let subject = claims
            .get(&issuer.identity_claim)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| bad("no identity claim"))?;
        // With several issuers, "alice" at one is not "alice" at another.
        let subject = format!("{}{subject}", issuer.identity_prefix);
        let (ttl_cap, session_expires_at) = if issuer.ttl_within_session {
            // `exp` is required and checked above; what is left of it bounds the token.
            let Some(exp) = claims.get("exp").and_then(serde_json::Value::as_u64) else {
                return Err(bad(
                    "its exp is not a whole number of seconds, which a token that may not outlive its session needs",
                ));
            };
            let left = exp.saturating_sub(unix_now());
            if left == 0 {
                return Err(bad(
                    "expired (within the leeway, but a LiveKit token may not outlive its session here)",
                ));
            }
            (
                Some(Duration::from_secs(left)),
                Some(i64::try_from(exp).unwrap_or(i64::MAX)),
            )
        } else {
            (None, None)
        };
        let display_name = issuer
            .name_claim
            .as_ref()
            .and_then(|c| claims.get(c))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned);
        Ok(Caller {
            name: format!("oidc:{}", issuer.issuer),
            subject: Some(subject),
            display_name,
            profile: issuer.profile,
            admin: false,
            ttl_cap,
            session_expires_at,
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header.
fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
    let header = header.ok_or(AuthError::Missing)?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or(AuthError::NotBearer)
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads `iss` without verifying, only to choose which issuer's keys to verify with.
fn unverified_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    #[derive(serde::Deserialize)]
    struct Iss {
        iss: String,
    }
    serde_json::from_slice::<Iss>(&bytes).ok().map(|i| i.iss)
}

/// Whether `key` hashes to `hash`, compared in constant time.
pub(crate) fn key_matches(key: &str, hash: &[u8; 32]) -> bool {
    let digest: [u8; 32] = Sha256::digest(key.as_bytes()).into();
    bool::from(digest.ct_eq(hash))
}

/// Hex SHA-256 of an API key, as `key_sha256` in the configuration wants it.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A new random caller API key (`rk_` and 40 letters and digits, about 238 bits), for a
/// `[[caller]]` of the configuration, which holds its [`hash_key`].
pub fn generate_caller_key() -> String {
    format!("rk_{}", crate::policy::random_id(40))
}
