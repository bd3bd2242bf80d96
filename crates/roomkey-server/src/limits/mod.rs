//! The rate limits per client address and per caller, counted with GCRA (the generic cell rate
//! algorithm): each key has a theoretical arrival time, which each admitted request moves on by
//! the emission interval T (a minute divided by the limit); a request is admitted while that
//! time is at most T × (burst − 1) ahead of now. So `burst` requests pass at once, then one
//! every T.
//!
//! `store = "memory"` counts them in this process with the governor crate. `store = "redis"`
//! counts them in a Redis that every replica shares ([`shared`]), with the same arithmetic in one
//! Lua script, so that N replicas together admit what one would; while Redis cannot answer,
//! `on_store_error` decides, and `"allow"` falls back to the in-memory limits of each replica.
//!
//! A request's address is checked before its caller, and a key over its limit stops the check:
//! the limits after it do not count that request (as in memory, where the caller's limit is
//! not reached).

mod shared;

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::{Config, LimitStore};
use crate::error::ApiError;
use crate::metrics::StoreMetrics;

pub(crate) use shared::StoreStatus;

/// How many keys an in-memory limiter holds before forgetting those that are back to a full
/// burst.
const LIMITER_KEYS_BEFORE_CLEANUP: usize = 10_000;

/// Which limit refused a request (the `scope` of its 429).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// The client address's.
    Ip,
    /// The caller's.
    Caller,
}

impl Scope {
    /// The word in the 429's message.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Scope::Ip => "ip",
            Scope::Caller => "caller",
        }
    }

    /// Whether `error` is a 429 of this limit.
    pub(crate) fn refused(self, error: &ApiError) -> bool {
        matches!(error, ApiError::RateLimited { scope, .. } if *scope == self.label())
    }
}

/// The server's rate limits.
#[derive(Debug)]
pub(crate) struct Limits {
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_caller: Option<DefaultKeyedRateLimiter<String>>,
    /// With `store = "redis"`; then the in-memory limiters count only what `on_store_error =
    /// "allow"` lets through while Redis cannot answer.
    shared: Option<shared::Shared>,
}

impl Limits {
    /// The limits of a configuration (`metrics`: the store's, with `store = "redis"`). Nothing
    /// is connected yet: see [`Limits::connect`].
    pub(crate) fn new(config: &Config, metrics: Option<StoreMetrics>) -> Self {
        let shared = match (&config.limit_store, metrics) {
            (LimitStore::Redis(settings), Some(metrics)) => Some(shared::Shared::new(
                settings,
                shared::Rate::new(config.per_ip_per_minute, config.burst),
                shared::Rate::new(config.per_caller_per_minute, config.burst),
                metrics,
            )),
            _ => None,
        };
        Limits {
            per_ip: limiter(config.per_ip_per_minute, config.burst),
            per_caller: limiter(config.per_caller_per_minute, config.burst),
            shared,
        }
    }

    /// Whether client addresses are limited.
    pub(crate) fn limits_ip(&self) -> bool {
        self.per_ip.is_some()
    }

    /// Whether callers are limited.
    pub(crate) fn limits_callers(&self) -> bool {
        self.per_caller.is_some()
    }

    /// Whether the limits are counted in a store shared by replicas, where each check is a
    /// round trip.
    pub(crate) fn is_shared(&self) -> bool {
        self.shared.is_some()
    }

    /// Checks a request against the limit of its address (`ip`, already reduced to its
    /// [`crate::client_addr::limit_key`]) and then of its caller; either may be left out, and
    /// one that is not limited is skipped. In memory this completes without waiting.
    ///
    /// # Errors
    /// [`ApiError::RateLimited`] for the first limit the request is over, or
    /// [`ApiError::LimitsUnavailable`] while the shared store cannot answer and
    /// `on_store_error = "deny"`.
    pub(crate) async fn check(
        &self,
        ip: Option<IpAddr>,
        caller: Option<String>,
    ) -> Result<(), ApiError> {
        let ip = ip.filter(|_| self.per_ip.is_some());
        let caller = caller.filter(|_| self.per_caller.is_some());
        match &self.shared {
            None => self.check_in_memory(ip, caller.as_ref()),
            // Boxed: the store's call is a large state that in-memory checks need not carry.
            Some(shared) => Box::pin(shared.check(self, ip, caller)).await,
        }
    }

    /// The in-memory check: the store of `store = "memory"`, and the fallback of
    /// `on_store_error = "allow"`.
    fn check_in_memory(&self, ip: Option<IpAddr>, caller: Option<&String>) -> Result<(), ApiError> {
        if let (Some(limiter), Some(ip)) = (&self.per_ip, ip) {
            in_memory(limiter, &ip, Scope::Ip)?;
        }
        if let (Some(limiter), Some(caller)) = (&self.per_caller, caller) {
            in_memory(limiter, caller, Scope::Caller)?;
        }
        Ok(())
    }

    /// Connects to the shared store, if there is one, and makes sure it can run the limits'
    /// script: at start-up, so that a wrong URL or password stops the server with a clear
    /// error instead of every request falling back. (A request before this connects on its
    /// own.)
    ///
    /// # Errors
    /// What went wrong, with the URL (never the password) and what to check.
    pub(crate) async fn connect(&self) -> Result<(), String> {
        match &self.shared {
            Some(shared) => shared.connect_at_start().await,
            None => Ok(()),
        }
    }

    /// How the shared store is, for `/readyz` (`None` without one).
    pub(crate) async fn store_status(&self) -> Option<StoreStatus> {
        match &self.shared {
            Some(shared) => Some(shared.status().await),
            None => None,
        }
    }
}

/// An in-memory limiter, when the limit is not 0.
fn limiter<K: std::hash::Hash + Eq + Clone>(
    per_minute: u32,
    burst: u32,
) -> Option<DefaultKeyedRateLimiter<K>> {
    quota(per_minute, burst).map(RateLimiter::keyed)
}

/// The quota of a limit (`None` for 0, no limit): the same numbers as the shared store's
/// [`shared::Rate`].
fn quota(per_minute: u32, burst: u32) -> Option<Quota> {
    NonZeroU32::new(per_minute).map(|rate| {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Quota::per_minute(rate).allow_burst(burst)
    })
}

fn in_memory<K: std::hash::Hash + Eq + Clone>(
    limiter: &DefaultKeyedRateLimiter<K>,
    key: &K,
    scope: Scope,
) -> Result<(), ApiError> {
    // Keys of callers and addresses not seen for a while would otherwise pile up.
    if limiter.len() > LIMITER_KEYS_BEFORE_CLEANUP {
        limiter.retain_recent();
    }
    limiter.check_key(key).map_err(|not_until| {
        // The limiter's own clock: building a `DefaultClock` per refusal calibrates a new one
        // (CPUID and a TSC calibration), which made a 429 cost 65 µs of CPU against 25 µs
        // for an issued token in `scripts/bench-server`.
        let wait = not_until.wait_time_from(governor::clock::Clock::now(limiter.clock()));
        rate_limited(scope, wait)
    })
}

/// The 429 of a limit that admits a request again after `wait`.
fn rate_limited(scope: Scope, wait: std::time::Duration) -> ApiError {
    ApiError::RateLimited {
        retry_after: wait.as_secs() + 1,
        scope: scope.label(),
    }
}
