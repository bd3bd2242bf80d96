//! Prometheus metrics: tokens issued and denied, request latency, RoomService calls, the shared
//! rate-limit store.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Issued {
    pub(crate) endpoint: &'static str,
    pub(crate) profile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Denied {
    pub(crate) endpoint: &'static str,
    pub(crate) reason: &'static str,
    pub(crate) profile: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Endpoint {
    pub(crate) endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Reason {
    pub(crate) reason: &'static str,
}

/// Why connections are closed by the server, in the order of [`ConnectionMetrics::closed`].
const CLOSE_REASONS: [&str; 4] = ["header_timeout", "idle", "evicted", "refused_at_limit"];

/// Connection counts, shared with the accept loop.
#[derive(Clone, Debug)]
pub(crate) struct ConnectionMetrics {
    open: Gauge,
    closed: [Counter; 4],
}

impl ConnectionMetrics {
    pub(crate) fn opened(&self) {
        self.open.inc();
    }

    pub(crate) fn ended(&self) {
        self.open.dec();
    }

    /// Counts a connection the server closed, for one of [`CLOSE_REASONS`].
    pub(crate) fn closed(&self, reason: &'static str) {
        debug_assert!(
            CLOSE_REASONS.contains(&reason),
            "{reason} is not a close reason"
        );
        if let Some(i) = CLOSE_REASONS.iter().position(|r| *r == reason) {
            self.closed[i].inc();
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Outcome {
    pub(crate) outcome: &'static str,
}

/// The endpoints, in the order of [`Metrics::issued_for`]'s `endpoint` index.
pub(crate) const ENDPOINTS: [&str; 2] = ["token", "generate_access_token"];

/// Every reason code a refusal can have ([`crate::ApiError::code`]), for the counters resolved
/// at start-up.
pub(crate) const REASONS: [&str; 13] = [
    "unauthenticated",
    "forbidden",
    "admin_only",
    "bad_request",
    "too_large",
    "unsupported_media_type",
    "rate_limited",
    "rate_limit_unavailable",
    "timeout",
    "not_found",
    "method_not_allowed",
    "livekit_unavailable",
    "internal",
];

/// The server's metrics.
#[derive(Debug)]
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) denied: Family<Denied, Counter>,
    pub(crate) room_service: Family<Outcome, Counter>,
    /// Keys the standard endpoint ignored (labelled by endpoint only: the key names come from
    /// callers, and a label per name would let them grow the metrics without bound).
    pub(crate) ignored_fields: Counter,
    /// Issued counters resolved once, per profile and endpoint, off the request path.
    issued_by_profile: Vec<[Counter; 2]>,
    /// Denied counters resolved once, per endpoint, reason and profile (the last "profile"
    /// is "-", for a refusal before the caller is known), so that a refusal flood neither
    /// allocates a label nor takes the family's lock.
    denied_resolved: Vec<Counter>,
    profiles: usize,
    /// Latency histograms, per endpoint.
    latency_by_endpoint: [Histogram; 2],
    /// Open connections, and those the server closed.
    pub(crate) connections: ConnectionMetrics,
    /// Webhooks received, by event ([`crate::webhooks::event_label`]).
    webhooks: Family<Event, Counter>,
    /// Webhook deliveries recognised as retries of one received before.
    webhook_duplicates: Counter,
    /// Webhooks refused, by reason (`roomkey_token::webhook::WebhookError::code`).
    webhooks_refused: Family<Reason, Counter>,
    /// The shared rate-limit store's health, with `store = "redis"`.
    pub(crate) store: Option<StoreMetrics>,
}

/// Why a call to the shared store failed, in the order of [`StoreMetrics::errors`].
pub(crate) const STORE_ERRORS: [&str; 3] = ["timeout", "unreachable", "error"];

/// The shared rate-limit store's metrics: whether it answers, its failures, the requests
/// decided without it, and how long its answers take.
#[derive(Clone, Debug)]
pub(crate) struct StoreMetrics {
    /// 1 while the store answers, 0 from a failure until it answers again.
    pub(crate) up: Gauge,
    /// Failed calls, by [`STORE_ERRORS`].
    pub(crate) errors: [Counter; 3],
    /// Limit checks decided by `on_store_error` instead of the store.
    pub(crate) fallbacks: Counter,
    /// Time for the store's answers (one script run each).
    pub(crate) duration: Histogram,
}

impl StoreMetrics {
    /// Counts a failed call (`reason`: one of [`STORE_ERRORS`]).
    pub(crate) fn failed(&self, reason: &'static str) {
        debug_assert!(STORE_ERRORS.contains(&reason), "{reason}");
        let i = STORE_ERRORS.iter().position(|r| *r == reason).unwrap_or(2);
        self.errors[i].inc();
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OnError {
    pub(crate) on_store_error: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct Event {
    pub(crate) event: &'static str,
}

impl Metrics {
    /// Metrics for a server with these profiles; `store` is its `on_store_error` when the
    /// rate limits are shared through Redis.
    pub(crate) fn new(profiles: &[String], store: Option<&'static str>) -> Self {
        let mut registry = Registry::with_prefix("roomkey");
        let issued = Family::<Issued, Counter>::default();
        let denied = Family::<Denied, Counter>::default();
        let latency = Family::<Endpoint, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
            ])
        });
        let room_service = Family::<Outcome, Counter>::default();
        registry.register("tokens_issued", "Tokens issued", issued.clone());
        registry.register(
            "tokens_denied",
            "Token requests refused, by reason",
            denied.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time to answer token requests",
            latency.clone(),
        );
        registry.register(
            "room_service_calls",
            "RoomService calls, by outcome",
            room_service.clone(),
        );
        let ignored_fields = Counter::default();
        registry.register(
            "request_fields_ignored",
            "Unknown keys in /api/token bodies, ignored as the token endpoint contract asks (the server log names each key once)",
            ignored_fields.clone(),
        );
        let open = Gauge::default();
        registry.register(
            "connections_open",
            "Client connections open now",
            open.clone(),
        );
        let closed = Family::<Reason, Counter>::default();
        registry.register(
            "connections_closed",
            "Connections the server closed: no request head in time, idle, evicted at the connection limit to make room, or refused at the limit",
            closed.clone(),
        );
        let connections = ConnectionMetrics {
            open,
            closed: CLOSE_REASONS.map(|reason| closed.get_or_create(&Reason { reason }).clone()),
        };
        let issued_by_profile = profiles
            .iter()
            .map(|profile| {
                ENDPOINTS.map(|endpoint| {
                    issued
                        .get_or_create(&Issued {
                            endpoint,
                            profile: profile.clone(),
                        })
                        .clone()
                })
            })
            .collect();
        let mut denied_resolved = Vec::new();
        for endpoint in ENDPOINTS {
            for reason in REASONS {
                for profile in profiles.iter().map(String::as_str).chain(["-"]) {
                    denied_resolved.push(
                        denied
                            .get_or_create(&Denied {
                                endpoint,
                                reason,
                                profile: profile.to_owned(),
                            })
                            .clone(),
                    );
                }
            }
        }
        let latency_by_endpoint =
            ENDPOINTS.map(|endpoint| latency.get_or_create(&Endpoint { endpoint }).clone());
        let webhooks = Family::<Event, Counter>::default();
        registry.register(
            "webhooks_received",
            "LiveKit webhooks received and verified, by event (retried deliveries not counted again)",
            webhooks.clone(),
        );
        let webhook_duplicates = Counter::default();
        registry.register(
            "webhook_duplicates",
            "LiveKit webhook deliveries whose event id was received before (the server retried)",
            webhook_duplicates.clone(),
        );
        let webhooks_refused = Family::<Reason, Counter>::default();
        registry.register(
            "webhooks_refused",
            "Webhook requests refused, by reason",
            webhooks_refused.clone(),
        );
        let store = store.map(|on_store_error| {
            let up = Gauge::default();
            registry.register(
                "rate_limit_store_up",
                "1 while the shared rate-limit store (Redis) answers, 0 from a failure until it answers again",
                up.clone(),
            );
            let errors = Family::<Reason, Counter>::default();
            registry.register(
                "rate_limit_store_errors",
                "Calls to the shared rate-limit store that failed: timeout (slower than store_timeout), unreachable (no connection), error (any other)",
                errors.clone(),
            );
            let fallbacks = Family::<OnError, Counter>::default();
            registry.register(
                "rate_limit_store_fallbacks",
                "Rate-limit checks decided by on_store_error because the shared store could not answer",
                fallbacks.clone(),
            );
            let duration = Histogram::new([
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
            ]);
            registry.register(
                "rate_limit_store_duration_seconds",
                "Time for the shared rate-limit store's answers",
                duration.clone(),
            );
            StoreMetrics {
                up,
                errors: STORE_ERRORS.map(|reason| errors.get_or_create(&Reason { reason }).clone()),
                fallbacks: fallbacks.get_or_create(&OnError { on_store_error }).clone(),
                duration,
            }
        });
        Metrics {
            store,
            registry,
            denied,
            room_service,
            ignored_fields,
            issued_by_profile,
            denied_resolved,
            profiles: profiles.len(),
            latency_by_endpoint,
            connections,
            webhooks,
            webhook_duplicates,
            webhooks_refused,
        }
    }

    /// Counts a verified webhook (`event`: a known event name or "other").
    pub(crate) fn webhook_received(&self, event: &'static str) {
        self.webhooks.get_or_create(&Event { event }).inc();
    }

    /// Counts a retried delivery.
    pub(crate) fn webhook_duplicate(&self) {
        self.webhook_duplicates.inc();
    }

    /// Counts a refused webhook request.
    pub(crate) fn webhook_refused(&self, reason: &'static str) {
        self.webhooks_refused
            .get_or_create(&Reason { reason })
            .inc();
    }

    /// Counts a refusal (`profile`: the caller's profile index, when it is known).
    pub(crate) fn denied(&self, endpoint: usize, reason: &'static str, profile: Option<usize>) {
        debug_assert!(
            REASONS.contains(&reason),
            "{reason} is missing from REASONS"
        );
        let Some(r) = REASONS.iter().position(|known| *known == reason) else {
            // A reason added to ApiError but not to REASONS: still counted, the slow way.
            self.denied
                .get_or_create(&Denied {
                    endpoint: ENDPOINTS[endpoint],
                    reason,
                    profile: "-".to_owned(),
                })
                .inc();
            return;
        };
        let p = profile
            .filter(|p| *p < self.profiles)
            .unwrap_or(self.profiles);
        let index = (endpoint * REASONS.len() + r) * (self.profiles + 1) + p;
        if let Some(counter) = self.denied_resolved.get(index) {
            counter.inc();
        }
    }

    /// Counts an issued token.
    pub(crate) fn issued(&self, endpoint: usize, profile: usize) {
        if let Some(counters) = self.issued_by_profile.get(profile) {
            counters[endpoint].inc();
        }
    }

    /// Records the time an answer took.
    pub(crate) fn observe(&self, endpoint: usize, seconds: f64) {
        self.latency_by_endpoint[endpoint].observe(seconds);
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String does not fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
