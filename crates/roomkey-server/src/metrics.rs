//! Prometheus metrics: tokens issued and denied, request latency, RoomService calls.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
pub(crate) struct Outcome {
    pub(crate) outcome: &'static str,
}

/// The endpoints, in the order of [`Metrics::issued_for`]'s `endpoint` index.
pub(crate) const ENDPOINTS: [&str; 2] = ["token", "generate_access_token"];

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
    /// Latency histograms, per endpoint.
    latency_by_endpoint: [Histogram; 2],
}

impl Metrics {
    /// Metrics for a server with these profiles.
    pub(crate) fn new(profiles: &[String]) -> Self {
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
        let latency_by_endpoint =
            ENDPOINTS.map(|endpoint| latency.get_or_create(&Endpoint { endpoint }).clone());
        Metrics {
            registry,
            denied,
            room_service,
            ignored_fields,
            issued_by_profile,
            latency_by_endpoint,
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
