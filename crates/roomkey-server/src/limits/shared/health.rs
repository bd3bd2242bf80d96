//! Whether the shared store answers: the breaker that keeps a failing store from costing every
//! request a timeout, and the log lines that say when it fails and when it answers again.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use super::{Failure, RETRY_AFTER_FAILURE, WARNING_EVERY};
use crate::config::{OnStoreError, RedisStoreSettings};
use crate::metrics::StoreMetrics;

/// Whether the store answers: the breaker, and its log lines.
#[derive(Debug)]
pub(super) struct Health {
    epoch: Instant,
    /// 0 while the store answers; else when (µs after `epoch`) one request may try it again.
    retry_at: AtomicU64,
    /// A request is trying the store again.
    probing: AtomicBool,
    /// When the failures began, and how many calls have failed since.
    outage: Mutex<Option<(Instant, u64)>>,
    warnings: DefaultDirectRateLimiter,
    left_out: AtomicU64,
    url: String,
    on_error: OnStoreError,
}

/// Leave to call the store; a probe's ends with it, even if the request is dropped midway.
pub(super) struct Permit<'a> {
    health: &'a Health,
    probe: bool,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if self.probe {
            self.health.probing.store(false, Ordering::Release);
        }
    }
}

impl Health {
    pub(super) fn new(settings: &RedisStoreSettings) -> Self {
        let every =
            Quota::with_period(WARNING_EVERY).unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN));
        Health {
            epoch: Instant::now(),
            retry_at: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            outage: Mutex::new(None),
            warnings: RateLimiter::direct(every),
            left_out: AtomicU64::new(0),
            url: settings.url.clone(),
            on_error: settings.on_error,
        }
    }

    pub(super) fn now_us(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Whether a request may call the store now: always while it answers; after a failure,
    /// one request at a time once [`RETRY_AFTER_FAILURE`] has passed.
    pub(super) fn may_call(&self) -> Option<Permit<'_>> {
        let retry_at = self.retry_at.load(Ordering::Acquire);
        if retry_at == 0 {
            return Some(Permit {
                health: self,
                probe: false,
            });
        }
        if self.now_us() < retry_at {
            return None;
        }
        self.probing
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed)
            .ok()
            .map(|_| Permit {
                health: self,
                probe: true,
            })
    }

    pub(super) fn answered(&self, metrics: &StoreMetrics) {
        if self.retry_at.load(Ordering::Acquire) == 0 {
            return;
        }
        self.retry_at.store(0, Ordering::Release);
        metrics.up.set(1);
        let outage = self
            .outage
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let (down_for, failed_calls) =
            outage.map_or((Duration::ZERO, 0), |(since, n)| (since.elapsed(), n));
        tracing::info!(
            store = self.url.as_str(),
            down_ms = u64::try_from(down_for.as_millis()).unwrap_or(u64::MAX),
            failed_calls,
            "the shared rate-limit store answers again; the limits are shared again"
        );
    }

    pub(super) fn failed(&self, failure: &Failure, metrics: &StoreMetrics) {
        metrics.up.set(0);
        metrics.failed(failure.reason());
        let retry_at = self.now_us() + u64::try_from(RETRY_AFTER_FAILURE.as_micros()).unwrap_or(0);
        self.retry_at.store(retry_at.max(1), Ordering::Release);
        {
            let mut outage = self.outage.lock().unwrap_or_else(PoisonError::into_inner);
            match outage.as_mut() {
                Some((_, n)) => *n += 1,
                None => *outage = Some((Instant::now(), 1)),
            }
        }
        if self.warnings.check().is_err() {
            self.left_out.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let left_out = self.left_out.swap(0, Ordering::Relaxed);
        let meaning = match self.on_error {
            OnStoreError::Allow => {
                "on_store_error = \"allow\": each replica's own limits apply until it answers"
            }
            OnStoreError::Deny => {
                "on_store_error = \"deny\": token requests are refused (503) until it answers"
            }
        };
        tracing::warn!(
            store = self.url.as_str(),
            error = %failure,
            reason = failure.reason(),
            left_out,
            "the shared rate-limit store failed; {meaning}"
        );
    }
}
