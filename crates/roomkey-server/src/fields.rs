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
use roomkey_token::input::{Unknown, UnknownField, did_you_mean, field_names, normalized};
use roomkey_token::{RoomAgentDispatch, RoomConfiguration, agent_option_field};

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

    /// Logs an ignored key the first time its name is seen. Names are kept without array
    /// indices (`room_config.agents.x`, whichever agent had it) and cut short.
    fn note(&self, field: &UnknownField) {
        let name: String = field
            .parents
            .iter()
            .filter(|p| !p.bytes().all(|b| b.is_ascii_digit()))
            .chain(std::iter::once(&field.key))
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(".")
            .escape_debug()
            .take(80)
            .collect();
        let mut logged = self
            .logged
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if logged.len() >= LOGGED_NAMES_CAP || logged.contains(&name) {
            return;
        }
        logged.insert(name.clone());
        let last = logged.len() == LOGGED_NAMES_CAP;
        drop(logged);
        tracing::info!(
            field = %name,
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

/// `/api/token`'s unknown keys: a near miss is refused, the others are noted and ignored.
/// Only the first [`Unknown::KEPT`] are looked at; all are counted.
pub(crate) fn standard_unknown(ignored: &IgnoredFields, unknown: &Unknown) -> Result<(), ApiError> {
    for field in &unknown.fields {
        if let Some(refusal) = near_miss(field) {
            return Err(refusal);
        }
    }
    ignored.counter.inc_by(unknown.total as u64);
    for field in &unknown.fields {
        ignored.note(field);
    }
    Ok(())
}

fn near_miss(field: &UnknownField) -> Option<ApiError> {
    let parents: Vec<&str> = field.parents.iter().map(String::as_str).collect();
    let known = match parents.as_slice() {
        [] | ["room_config" | "roomConfig"] => {
            if let Some(inner) = agent_option_field(&field.key) {
                return Some(ApiError::BadRequest {
                    field: Some(field.path()),
                    message: format!(
                        "unknown field {:?}; agent options go in room_config.agents, as \
                         {{\"room_config\":{{\"agents\":[{{\"{}\":…}}]}}}}",
                        field.path(),
                        snake(inner)
                    ),
                });
            }
            if parents.is_empty() {
                field_names::<crate::requests::StandardRequest>()
            } else {
                field_names::<RoomConfiguration>()
            }
        }
        ["room_config" | "roomConfig", "agents", _] => field_names::<RoomAgentDispatch>(),
        // Inside a map (attributes, tags) or an opaque object (egress), keys are data.
        _ => return None,
    };
    let meant = did_you_mean(&field.key, known)?;
    // A later client version may add a field whose name starts with one of ours
    // (`room_name_hint`): that is not a near miss, only a shorter or misspelled form is.
    let (key, ours) = (normalized(&field.key), normalized(meant));
    if key.len() > ours.len() && key.starts_with(&ours) {
        return None;
    }
    Some(ApiError::BadRequest {
        field: Some(field.path()),
        message: format!(
            "unknown field {:?}; did you mean {meant:?}? (other unknown fields are ignored, \
             but this one looks like a misspelling of a field the token would otherwise not get)",
            field.path()
        ),
    })
}

/// `agentName` → `agent_name`: the spelling the client SDKs send.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}
