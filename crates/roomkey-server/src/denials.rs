//! One log line per refused token request, at a bounded rate.
//!
//! An operator must be able to see an attack or a misconfigured client, but a flood of
//! refusals must not become a flood of log lines that fills the disk or costs more than the
//! refusal itself. Lines are written at most [`LINES_PER_SECOND`] a second (with a burst of
//! [`BURST`]); the next line written says how many were left out. The line names the status,
//! the reason code, the endpoint, the caller (when it authenticated), its profile and the
//! client address, never a key, a token or the request's content.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

/// Steady rate of refusal lines.
const LINES_PER_SECOND: NonZeroU32 = NonZeroU32::new(10).expect("non-zero");
/// Lines that may be written at once after a quiet spell.
const BURST: NonZeroU32 = NonZeroU32::new(50).expect("non-zero");

/// Who a refused request came from, as far as it got.
#[derive(Debug, Default)]
pub(crate) struct Refused {
    /// The client address (the peer, or the trusted `X-Forwarded-For` entry).
    pub(crate) client: Option<IpAddr>,
    /// The caller's configured name, once it authenticated.
    pub(crate) caller: Option<String>,
}

/// The refusal log and its rate limit.
#[derive(Debug)]
pub(crate) struct Denials {
    limiter: DefaultDirectRateLimiter,
    suppressed: AtomicU64,
}

impl Denials {
    pub(crate) fn new() -> Self {
        Denials {
            limiter: RateLimiter::direct(Quota::per_second(LINES_PER_SECOND).allow_burst(BURST)),
            suppressed: AtomicU64::new(0),
        }
    }

    /// Logs one refusal, or counts it as left out when the rate is exceeded.
    pub(crate) fn log(&self, error: &ApiError, endpoint: &str, profile: &str, who: &Refused) {
        if self.limiter.check().is_err() {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let left_out = self.suppressed.swap(0, Ordering::Relaxed);
        let status = error.status().as_u16();
        let client = who
            .client
            .map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let caller = who.caller.as_deref().unwrap_or("-");
        let reason = error.code();
        // A name the server chose (a field, a header, an attribute key), not the content.
        let field = error.field().unwrap_or("-");
        // 5xx are the server's (or LiveKit's) failures; 4xx are the client's.
        if status >= 500 {
            tracing::warn!(
                status,
                reason,
                field,
                endpoint,
                caller,
                profile,
                client,
                left_out,
                "token request failed"
            );
        } else {
            tracing::info!(
                status,
                reason,
                field,
                endpoint,
                caller,
                profile,
                client,
                left_out,
                "token request refused"
            );
        }
    }
}
