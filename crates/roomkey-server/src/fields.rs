//! What the endpoints do with keys they do not know.
//!
//! The action endpoint is roomkey's own format: every unknown key is refused, with the key it
//! most likely meant. `/api/token` is LiveKit's shared contract, whose clients may add keys in
//! later versions, so there only a near miss of a known key is refused (`room`, `identity`,
//! `roomname`, `participant_id`, or an agent option outside `room_config.agents`: a caller who
//! wrote one asked for something it would silently not get); any other unknown key is
//! ignored, counted in `/metrics` and logged once per key name.

use std::collections::HashSet;
use std::sync::Mutex;

use prometheus_client::metrics::counter::Counter;
use roomkey_token::input::{UnknownField, did_you_mean, field_names};
use roomkey_token::{RoomAgentDispatch, RoomConfiguration};

use crate::error::ApiError;

/// How many distinct ignored key names are logged; past it, keys are only counted, so that
/// callers cannot grow the server's memory or its log with made-up names.
const LOGGED_NAMES_CAP: usize = 256;

/// Ignored keys on `/api/token`: the counter, and the names already logged.
#[derive(Debug)]
pub(crate) struct IgnoredFields {
    counter: Counter,
    logged: Mutex<HashSet<String>>,
}

impl IgnoredFields {
    pub(crate) fn new(counter: Counter) -> Self {
        IgnoredFields {
            counter,
            logged: Mutex::new(HashSet::new()),
        }
    }

    fn note(&self, field: &UnknownField) {
        self.counter.inc();
        let path = field.path();
        let mut logged = self
            .logged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if logged.len() >= LOGGED_NAMES_CAP || logged.contains(&path) {
            return;
        }
        // Shown escaped and cut short: the name comes from the caller.
        let shown: String = path.escape_debug().take(80).collect();
        logged.insert(path);
        let last = logged.len() == LOGGED_NAMES_CAP;
        drop(logged);
        tracing::info!(
            field = %shown,
            "/api/token: ignoring an unknown request field (logged once per name{})",
            if last { "; no more names will be logged" } else { "" }
        );
    }
}

/// The 400 for an unknown key in a format that allows none.
pub(crate) fn refused(field: &UnknownField, known: &[&str]) -> ApiError {
    let path = field.path();
    let message = match did_you_mean(&field.key, known) {
        Some(meant) => format!("unknown field {path:?}; did you mean {meant:?}?"),
        None => format!(
            "unknown field {path:?}; the fields are {}",
            known.join(", ")
        ),
    };
    ApiError::BadRequest {
        field: Some(path),
        message,
    }
}

/// The flat agent options of the client SDKs, which belong in `room_config.agents`.
const AGENT_OPTIONS: &[(&str, &str)] = &[
    ("agentname", "agent_name"),
    ("agentmetadata", "metadata"),
    ("agentdeployment", "deployment"),
    ("deployment", "deployment"),
];

/// `/api/token`'s unknown keys: a near miss is refused, the others are noted and ignored.
pub(crate) fn standard_unknown(
    ignored: &IgnoredFields,
    unknown: &[UnknownField],
) -> Result<(), ApiError> {
    for field in unknown {
        if let Some(refusal) = near_miss(field) {
            return Err(refusal);
        }
    }
    for field in unknown {
        ignored.note(field);
    }
    Ok(())
}

fn near_miss(field: &UnknownField) -> Option<ApiError> {
    let parents: Vec<&str> = field.parents.iter().map(String::as_str).collect();
    let known = match parents.as_slice() {
        [] => {
            let flat: String = field
                .key
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .flat_map(|c| c.to_lowercase())
                .collect();
            if let Some((_, inner)) = AGENT_OPTIONS.iter().find(|(k, _)| *k == flat) {
                return Some(ApiError::BadRequest {
                    field: Some(field.key.clone()),
                    message: format!(
                        "unknown field {:?}; agent options go inside room_config, as \
                         {{\"room_config\":{{\"agents\":[{{\"{inner}\":…}}]}}}}",
                        field.key
                    ),
                });
            }
            field_names::<crate::app::StandardRequest>()
        }
        ["room_config" | "roomConfig"] => field_names::<RoomConfiguration>(),
        ["room_config" | "roomConfig", "agents", _] => field_names::<RoomAgentDispatch>(),
        // Inside a map (attributes, tags) or an opaque object (egress), keys are data.
        _ => return None,
    };
    did_you_mean(&field.key, known).map(|meant| ApiError::BadRequest {
        field: Some(field.path()),
        message: format!(
            "unknown field {:?}; did you mean {meant:?}? (other unknown fields are ignored, \
             but this one looks like a misspelling of a field the token would otherwise not get)",
            field.path()
        ),
    })
}
