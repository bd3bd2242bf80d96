//! An OIDC issuer's signing keys (its JWKS), downloaded on demand and kept between requests.
//!
//! Whoever can reach the token endpoint can send a session JWT with any `kid`, so the refresh is
//! built to be steered by no one:
//! - a download runs in a task of its own: the request that asked for it may give up (its client
//!   hangs up) without cancelling it;
//! - one download at a time per issuer, and the least time between two (`jwks_min_refresh`) is
//!   counted from when the last one *finished*;
//! - no lock is held across the network: a request whose key is cached never waits for one;
//! - redirects are not followed, the body is capped, and a key set that is empty or unreadable
//!   never replaces a good one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, DecodingKey, jwk::Jwk};
use tokio::sync::watch;

/// Keys older than this are downloaded again on their next use, so that a key the issuer has
/// withdrawn stops being accepted. The request that notices is still served from the cache.
const MAX_AGE: Duration = Duration::from_secs(3600);
/// The largest JWKS document read (a real one is a few KiB).
pub(crate) const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How long one download may take, and so how long a request with a new `kid` waits at most.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(5);

/// Signing keys by `kid`.
type Keys = HashMap<String, (Algorithm, Arc<DecodingKey>)>;

/// Why a key was not found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyError {
    /// The issuer publishes no key with this `kid` (as far as the cache knows).
    Unknown,
    /// The key is for another algorithm than the token's header names.
    WrongAlgorithm,
}

/// One issuer's key cache.
pub(crate) struct Jwks {
    url: String,
    min_refresh: Duration,
    http: reqwest::Client,
    state: Mutex<State>,
}

struct State {
    keys: Arc<Keys>,
    /// When keys last came from a download.
    fetched: Option<Instant>,
    /// When the last download ended, however it ended.
    finished: Option<Instant>,
    /// The download under way: its receivers see `true` once it has ended.
    running: Option<watch::Receiver<bool>>,
}

impl std::fmt::Debug for Jwks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwks")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl Jwks {
    /// An empty cache for the JWKS at `url` (already checked: https, or http on loopback).
    pub(crate) fn new(url: &str, min_refresh: Duration) -> Arc<Jwks> {
        // No redirects: a JWKS URL that moves must be configured again, not followed to
        // whatever host the answer names.
        let http = reqwest::Client::builder()
            .timeout(DOWNLOAD_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Arc::new(Jwks {
            url: url.to_owned(),
            min_refresh,
            http,
            state: Mutex::new(State {
                keys: Arc::new(Keys::new()),
                fetched: None,
                finished: None,
                running: None,
            }),
        })
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is consistent between statements; a panic elsewhere does not spoil it.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The key for `kid`: from the cache, else after the download that a new `kid` starts (or
    /// joins), waiting for it at most its timeout.
    pub(crate) async fn key(
        self: &Arc<Self>,
        kid: &str,
        alg: Algorithm,
    ) -> Result<Arc<DecodingKey>, KeyError> {
        let mut done = {
            let mut state = self.state();
            if state.keys.contains_key(kid) {
                if state.fetched.is_none_or(|t| t.elapsed() >= MAX_AGE) {
                    self.start_download(&mut state);
                }
                return pick(&state.keys, kid, alg);
            }
            match self.start_download(&mut state) {
                Some(done) => done,
                // Refreshed too recently for another download: the key is unknown.
                None => return Err(KeyError::Unknown),
            }
        };
        let _ = tokio::time::timeout(DOWNLOAD_TIMEOUT, done.wait_for(|ended| *ended)).await;
        let keys = self.state().keys.clone();
        pick(&keys, kid, alg)
    }

    /// Starts a download unless one is under way (then its end is returned) or the last one
    /// ended less than `min_refresh` ago (then `None`).
    fn start_download(self: &Arc<Self>, state: &mut State) -> Option<watch::Receiver<bool>> {
        if let Some(running) = &state.running {
            return Some(running.clone());
        }
        if state
            .finished
            .is_some_and(|t| t.elapsed() < self.min_refresh)
        {
            return None;
        }
        let (ended, done) = watch::channel(false);
        state.running = Some(done.clone());
        let jwks = Arc::clone(self);
        tokio::spawn(async move {
            // Marks the download ended even if the task is torn down (runtime shutdown).
            let guard = Ended { jwks: &jwks, ended };
            let result = download(&jwks.http, &jwks.url).await;
            guard.finish(result);
        });
        Some(done)
    }
}

/// The end of one download: stores what it brought and wakes whoever waits.
struct Ended<'a> {
    jwks: &'a Jwks,
    ended: watch::Sender<bool>,
}

impl Ended<'_> {
    fn finish(self, result: Result<Keys, String>) {
        match result {
            Ok(keys) => {
                let mut state = self.jwks.state();
                state.keys = Arc::new(keys);
                state.fetched = Some(Instant::now());
            }
            // The keys in the cache stay in use.
            Err(reason) => {
                tracing::warn!(jwks_url = %self.jwks.url, error = %reason, "JWKS download failed; keeping the keys already known");
            }
        }
        // `Drop` records the end.
    }
}

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        {
            let mut state = self.jwks.state();
            state.finished = Some(Instant::now());
            state.running = None;
        }
        let _ = self.ended.send(true);
    }
}

fn pick(keys: &Keys, kid: &str, alg: Algorithm) -> Result<Arc<DecodingKey>, KeyError> {
    match keys.get(kid) {
        Some((key_alg, key)) if *key_alg == alg => Ok(key.clone()),
        Some(_) => Err(KeyError::WrongAlgorithm),
        None => Err(KeyError::Unknown),
    }
}

/// Downloads and reads a JWKS: status 200, at most [`MAX_BODY_BYTES`], at least one usable key.
async fn download(http: &reqwest::Client, url: &str) -> Result<Keys, String> {
    let mut response = http.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("?");
        return Err(format!(
            "the JWKS URL answers {status}, a redirect to {to:?}, which is not followed; set jwks_url to the final URL"
        ));
    }
    if status != reqwest::StatusCode::OK {
        return Err(format!("the JWKS URL answers {status}"));
    }
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(format!("the key set is larger than {MAX_BODY_BYTES} bytes"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(format!("the key set is larger than {MAX_BODY_BYTES} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    let keys = read_key_set(&body)?;
    if keys.is_empty() {
        return Err("the key set has no usable RS256 or ES256 signing key".into());
    }
    Ok(keys)
}

/// The `kid` and algorithm of each usable signing key of a JWKS document, sorted by `kid`: what
/// [`read_key_set`] keeps, for the fuzz target that checks it (through `fuzz_hooks`).
///
/// # Errors
/// The document is not a JWKS (the message says why).
pub fn usable_keys(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let mut keys: Vec<(String, String)> = read_key_set(body)?
        .into_iter()
        .map(|(kid, (alg, _))| (kid, format!("{alg:?}")))
        .collect();
    keys.sort_unstable();
    Ok(keys)
}

/// The usable signing keys of a JWKS document. Key by key: one key this code cannot read
/// (another type, an encryption key) must not make the others unusable.
fn read_key_set(body: &[u8]) -> Result<Keys, String> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, KeyAlgorithm, PublicKeyUse};
    // Read as a JSON object, not through a derived struct: serde also reads a struct from an
    // array of its fields, and would take `[[…]]` for a key set (found by the jwks fuzz target).
    let document: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("the key set is not JSON: {e}"))?;
    let serde_json::Value::Object(mut document) = document else {
        return Err("the key set is not a JWKS: not a JSON object".into());
    };
    let Some(serde_json::Value::Array(set)) = document.remove("keys") else {
        return Err("the key set is not a JWKS: no \"keys\" array".into());
    };
    let mut keys = Keys::new();
    for value in set {
        let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
            continue;
        };
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|u| *u != PublicKeyUse::Signature)
        {
            continue;
        }
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => continue,
        };
        let declared = jwk.common.key_algorithm;
        if declared.is_some_and(|a| {
            !matches!(
                (a, alg),
                (KeyAlgorithm::RS256, Algorithm::RS256) | (KeyAlgorithm::ES256, Algorithm::ES256)
            )
        }) {
            continue;
        }
        if let Ok(key) = DecodingKey::from_jwk(&jwk) {
            keys.insert(
                jwk.common.key_id.clone().unwrap_or_default(),
                (alg, Arc::new(key)),
            );
        }
    }
    Ok(keys)
}
