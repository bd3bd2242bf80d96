//! The checks behind [`inspect`](super::inspect): the payload's shape (unknown claims, grants
//! at the wrong level, wrong types), its times, and what the claims ask of the server.

use serde_json::{Map, Value, json};

use super::{Code, Finding, InspectOptions, Severity, relative, span, utc};
use crate::claims::Claims;
use crate::grants::{GRANTS, Kind, Value as GrantValue};
use crate::input::{did_you_mean, field_names, normalized};
use crate::room_config::{RoomAgentDispatch, RoomConfiguration, agent_option_field};
use crate::token::limits;

/// Registered JWT claims that the server's JWT library reads but LiveKit tokens leave out: not
/// unknown, just unused.
const REGISTERED_UNUSED: &[&str] = &["aud"];

/// Video grant members that administer rather than take part: a participant's join token
/// should not carry them (least privilege).
const ADMIN_GRANTS: &[&str] = &["roomAdmin", "roomCreate", "roomRecord", "ingressAdmin"];

/// Video grant flags that describe the participant a join makes, and grant nothing without it.
const JOIN_ONLY_FLAGS: &[&str] = &["roomJoin", "hidden", "recorder", "agent"];

/// How far ahead of the clock `iat` and `nbf` may be before they say the clocks disagree:
/// tokens minted this very second on a machine whose clock is a little ahead are normal.
const CLOCK_TOLERANCE_SECS: i64 = 5;

/// The client SDKs fetch a new token when less than this is left of the old one.
const SDK_REFRESH_MARGIN_SECS: i64 = 60;

/// A token that lives at most this long is refetched about as soon as it arrives.
const TTL_TOO_SHORT_SECS: i64 = 2 * SDK_REFRESH_MARGIN_SECS;

/// Longer than a day is longer than any session needs; a leaked token stays good that long.
const TTL_VERY_LONG_SECS: i64 = 24 * 60 * 60;

/// The longest URL common proxies and load balancers pass (8 KiB), and what a client adds to
/// the token in its `/rtc?access_token=…` URL (scheme, host, path and the SDK's parameters; an
/// estimate from the JavaScript SDK's connect URL).
pub(super) const URL_LIMIT: usize = 8 * 1024;
const URL_OVERHEAD: usize = 300;

/// Metadata or attributes at this share of the server's limit are "near" it.
const NEAR_LIMIT_PERCENT: usize = 80;

pub(super) fn url_len(token_len: usize) -> usize {
    token_len + URL_OVERHEAD
}

/// How long the token is meant to live: from `nbf` (or `iat`) to `exp`.
pub(super) fn ttl(claims: &Claims) -> Option<i64> {
    Some(claims.exp? - claims.nbf.or(claims.iat)?)
}

// ---- shape ------------------------------------------------------------------------------------

/// Unknown claims, grant members at the top level, and values of the wrong type.
pub(super) fn check_shape(payload: &Map<String, Value>, found: &mut Vec<Finding>) {
    let top = field_names::<Claims>();
    let video: Vec<&str> = members("video");
    for (key, value) in payload {
        if top.contains(&key.as_str()) {
            check_known(key, value, found);
        } else if REGISTERED_UNUSED.contains(&key.as_str()) {
            continue;
        } else {
            // A video member spelled exactly (`canPublish`) is one at the wrong level; else a
            // near top-level claim (`metdata`) is the likelier meaning, and only then a near
            // video member (`roomName` → `room`).
            let exact = video
                .iter()
                .find(|m| normalized(m) == normalized(key))
                .copied();
            let near_top = did_you_mean(key, top);
            match exact.or_else(|| {
                near_top
                    .is_none()
                    .then(|| did_you_mean(key, &video))
                    .flatten()
            }) {
                Some(member) => found.push(grant_outside_video(key, member)),
                None => found.push(unknown(key, near_top)),
            }
        }
    }
}

/// The JSON keys of one grant claim's members, from the grant table.
fn members(claim: &str) -> Vec<&'static str> {
    GRANTS
        .iter()
        .filter(|g| g.claim == claim)
        .map(|g| g.key)
        .collect()
}

fn check_known(key: &str, value: &Value, found: &mut Vec<Finding>) {
    let claim_members = members(key);
    match value {
        Value::Object(object) if !claim_members.is_empty() => {
            for (member, v) in object {
                let path = format!("{key}.{member}");
                if claim_members.contains(&member.as_str()) {
                    check_type(&path, json!({ key: { member: v } }), found);
                } else {
                    found.push(unknown(&path, did_you_mean(member, &claim_members)));
                }
            }
        }
        Value::Object(object) if key == "roomConfig" => check_room_config(object, found),
        _ => check_type(key, json!({ key: value }), found),
    }
}

fn check_room_config(config: &Map<String, Value>, found: &mut Vec<Finding>) {
    let fields = field_names::<RoomConfiguration>();
    for (field, value) in config {
        let path = format!("roomConfig.{field}");
        if !fields.contains(&field.as_str()) {
            let mut finding = unknown(&path, did_you_mean(field, fields));
            if let Some(agent_field) = agent_option_field(field) {
                finding.hint = format!(
                    "an agent's {agent_field} belongs in an entry of roomConfig.agents: \
                     {{\"agents\": [{{\"{agent_field}\": …}}]}}"
                );
                finding.severity = Severity::Error;
            }
            found.push(finding);
            continue;
        }
        match (field.as_str(), value) {
            ("agents", Value::Array(agents)) => {
                let agent_fields = field_names::<RoomAgentDispatch>();
                for (i, agent) in agents.iter().enumerate() {
                    let Value::Object(agent) = agent else {
                        check_type(
                            &format!("{path}[{i}]"),
                            json!({"roomConfig": {"agents": [agent]}}),
                            found,
                        );
                        continue;
                    };
                    for (name, v) in agent {
                        let at = format!("{path}[{i}].{name}");
                        if agent_fields.contains(&name.as_str()) {
                            check_type(
                                &at,
                                json!({"roomConfig": {"agents": [{ name: v }]}}),
                                found,
                            );
                        } else {
                            found.push(unknown(&at, did_you_mean(name, agent_fields)));
                        }
                    }
                }
            }
            _ => check_type(&path, json!({"roomConfig": { field: value }}), found),
        }
    }
}

/// Whether `alone` (a payload holding just the value at `path`) reads as claims.
fn check_type(path: &str, alone: Value, found: &mut Vec<Finding>) {
    if let Err(e) = serde_json::from_value::<Claims>(alone) {
        // serde_json's message ends with the position in the text, which here is meaningless.
        let detail = e.to_string();
        let detail = detail
            .split(" at line ")
            .next()
            .unwrap_or(&detail)
            .to_owned();
        found.push(Finding::new(
            Code::WrongType,
            Severity::Error,
            format!("{path} has the wrong type: {detail}"),
            "the server refuses a token whose claims have the wrong types (401 invalid token); \
             booleans are true/false, not strings, and times are numbers of seconds",
        ));
    }
}

fn unknown(path: &str, meant: Option<&str>) -> Finding {
    match meant {
        Some(meant) => {
            let parent = path
                .rsplit_once('.')
                .map_or(String::new(), |(p, _)| format!("{p}."));
            Finding::new(
                Code::UnknownClaim,
                Severity::Error,
                format!(
                    "{path} is not a claim the server reads, so it is ignored; did you mean \
                     {parent}{meant}?"
                ),
                format!("spell it {meant}: as it is, the token does not say what it appears to"),
            )
        }
        None => Finding::new(
            Code::UnknownClaim,
            Severity::Warning,
            format!("{path} is not a claim the server reads; it is ignored"),
            "remove it, or keep it if your own code reads it",
        ),
    }
}

fn grant_outside_video(key: &str, member: &str) -> Finding {
    Finding::new(
        Code::GrantOutsideVideo,
        Severity::Error,
        format!(
            "{key} is at the top level of the claims, where the server ignores it; as a video \
             grant it is video.{member}"
        ),
        format!("move it into the video grant: {{\"video\": {{\"{member}\": …}}}}"),
    )
}

// ---- times ------------------------------------------------------------------------------------

/// `exp`, `nbf`, `iat` against the clock, with the leeway; the lifetime.
pub(super) fn check_times(claims: &Claims, options: &InspectOptions, found: &mut Vec<Finding>) {
    let (now, leeway) = (options.now, options.leeway_secs());
    let leeway_text = span(options.leeway.as_secs());
    match claims.exp {
        None => found.push(Finding::new(
            Code::NoExp,
            Severity::Warning,
            "the token has no expiry (exp); LiveKit server 1.13 accepts it, later releases \
             refuse it, and it stays good forever if it leaks",
            "mint it with a lifetime (every LiveKit SDK sets exp; roomkey's --ttl)",
        )),
        Some(exp) if now >= exp.saturating_add(leeway) => found.push(Finding::new(
            Code::Expired,
            Severity::Error,
            format!(
                "the token expired {} (exp {}), beyond the {leeway_text} leeway",
                relative(exp - now),
                utc(exp)
            ),
            "mint a new one; if it was minted moments ago, the minting machine's clock is \
             behind (compare with --server URL)",
        )),
        Some(exp) if now >= exp => found.push(Finding::new(
            Code::ExpiredWithinLeeway,
            Severity::Warning,
            format!(
                "the token expired {} (exp {}); it is accepted only within the {leeway_text} \
                 leeway, for {} more",
                relative(exp - now),
                utc(exp),
                span((exp.saturating_add(leeway) - now).unsigned_abs())
            ),
            "mint a new one now",
        )),
        Some(_) => {}
    }
    if let Some(nbf) = claims.nbf {
        if now < nbf.saturating_sub(leeway) {
            found.push(Finding::new(
                Code::NotYetValid,
                Severity::Error,
                format!(
                    "the token is not valid until {} ({}), beyond the {leeway_text} leeway",
                    utc(nbf),
                    relative(nbf - now)
                ),
                "the minting machine's clock is ahead of this one (or this one is behind): \
                 synchronise both with NTP, and compare with the server's (--server URL)",
            ));
        } else if now < nbf - CLOCK_TOLERANCE_SECS {
            found.push(Finding::new(
                Code::NotYetValidWithinLeeway,
                Severity::Warning,
                format!(
                    "the token is not valid until {} ({}); it is accepted now only thanks to \
                     the {leeway_text} leeway",
                    utc(nbf),
                    relative(nbf - now)
                ),
                "the minting machine's clock is ahead of this one: synchronise both with NTP",
            ));
        }
    }
    if let Some(iat) = claims.iat.filter(|iat| *iat > now + CLOCK_TOLERANCE_SECS) {
        found.push(Finding::new(
            Code::IssuedInFuture,
            Severity::Warning,
            format!(
                "the token says it was issued {} ({}): the minting machine's clock is {} ahead \
                 of this one",
                relative(iat - now),
                utc(iat),
                span((iat - now).unsigned_abs())
            ),
            "synchronise the clocks with NTP; the server does not check iat, but its nbf (set \
             to iat by the SDKs) is refused when more than the leeway ahead",
        ));
    }
    match ttl(claims) {
        Some(ttl) if ttl <= TTL_TOO_SHORT_SECS => found.push(Finding::new(
            Code::TtlTooShort,
            Severity::Warning,
            format!(
                "the token lives {}; the client SDKs fetch a new one when less than {} is left, \
                 so they refetch it almost as soon as it arrives",
                span(ttl.unsigned_abs()),
                span(SDK_REFRESH_MARGIN_SECS.unsigned_abs())
            ),
            "give it a few minutes at least (roomkey's default is 6 h; a reconnect needs a \
             token that is still valid)",
        )),
        Some(ttl) if ttl > TTL_VERY_LONG_SECS => found.push(Finding::new(
            Code::TtlVeryLong,
            Severity::Warning,
            format!(
                "the token lives {}, over a day; if it leaks, it stays good that long",
                span(ttl.unsigned_abs())
            ),
            "mint tokens for the session at hand (hours, not days), and a new one per join",
        )),
        _ => {}
    }
}

// ---- what the claims ask ----------------------------------------------------------------------

/// Identity, room, grants, sizes and credentials.
pub(super) fn check_claims(claims: &Claims, token_len: usize, found: &mut Vec<Finding>) {
    let video = claims.video.as_ref();
    let joins = claims.can_join();
    if joins && claims.identity().is_empty() {
        found.push(Finding::new(
            Code::NoIdentity,
            Severity::Error,
            "the token joins a room but has no identity (sub); the server answers 400 \
             identity cannot be empty",
            "mint it with the participant's identity",
        ));
    }
    if joins && claims.room().is_empty() {
        found.push(Finding::new(
            Code::JoinWithoutRoom,
            Severity::Error,
            "the token may join a room but names none (video.room is empty); the server answers \
             400 no room name",
            "name the room in the video grant: {\"video\": {\"roomJoin\": true, \"room\": …}}",
        ));
    }
    if !joins && !grants_anything(claims) {
        found.push(Finding::new(
            Code::NoJoin,
            Severity::Error,
            "the token joins nothing (no video.roomJoin) and grants nothing else",
            "for a participant, give video.roomJoin and video.room; for a server API call, the \
             grant it needs (roomAdmin, roomCreate, roomList, …)",
        ));
    }
    if let Some(v) = video.filter(|_| joins) {
        let admin: Vec<&str> = GRANTS
            .iter()
            .filter(|g| g.claim == "video" && ADMIN_GRANTS.contains(&g.key))
            .filter(|g| g.effective(claims) == Some(true))
            .map(|g| g.key)
            .collect();
        if !admin.is_empty() {
            found.push(Finding::new(
                Code::AdminGrantInJoinToken,
                Severity::Warning,
                format!(
                    "a participant's join token carries {}: whoever holds it (the participant's \
                     browser) can use the server API with it",
                    admin.join(", ")
                ),
                "give participants only the join and its permissions; make admin tokens for \
                 your backend separately, with short lifetimes",
            ));
        }
        if v.can_publish == Some(false) && !v.can_publish_sources.is_empty() {
            found.push(Finding::new(
                Code::SourcesWithoutPublish,
                Severity::Warning,
                "canPublishSources lists sources, but canPublish is false, so nothing can be \
                 published",
                "set canPublish to true (or leave it unset) to let those sources publish, or \
                 drop canPublishSources",
            ));
        }
    }
    check_sizes(claims, token_len, found);
    if let Some(config) = &claims.room_config {
        if let Some(path) = config.find_sensitive_credentials() {
            found.push(Finding::new(
                Code::EgressCredentialsInRoomConfig,
                Severity::Warning,
                format!(
                    "{path} holds credentials, and a token is readable by anyone who has it (it \
                     is base64, not encrypted)"
                ),
                "configure egress storage on the server, or start egress from your backend \
                 with the Egress API, instead of putting secrets in a participant's token",
            ));
        }
        if !config.agents.is_empty() {
            let names: Vec<&str> = config
                .agents
                .iter()
                .map(|a| a.agent_name.as_str())
                .collect();
            found.push(Finding::new(
                Code::AgentsNeedNewRoom,
                Severity::Info,
                format!(
                    "the token asks for agents ({}); they are dispatched only if this join \
                     creates the room",
                    names.join(", ")
                ),
                "for a room that may exist already, dispatch them with `roomkey dispatch \
                 create` (or mint with --create-room-if-not-exists, which does); --server with \
                 admin credentials checks the room",
            ));
        }
    }
}

/// Whether any grant claim gives something of its own (a permission that does not describe a
/// joining participant).
fn grants_anything(claims: &Claims) -> bool {
    GRANTS.iter().any(|g| {
        g.kind == Kind::Flag
            && !(g.claim == "video" && JOIN_ONLY_FLAGS.contains(&g.key))
            && g.get(claims) == Some(GrantValue::Flag(true))
    })
}

fn check_sizes(claims: &Claims, token_len: usize, found: &mut Vec<Finding>) {
    let over = |code, what: &str, len: usize, max: usize, setting: &str| {
        Finding::new(
            code,
            Severity::Error,
            format!(
                "the {what} is {len} bytes; a LiveKit server with the default limits refuses \
                 the join (limit.{setting}: {max})"
            ),
            format!("shorten it, or raise limit.{setting} in the server's configuration"),
        )
    };
    let checks = [
        (
            Code::IdentityTooLong,
            None,
            "identity",
            claims.identity().len(),
            limits::MAX_IDENTITY_LEN,
            "max_participant_identity_length",
        ),
        (
            Code::RoomNameTooLong,
            None,
            "room name",
            claims.room().len(),
            limits::MAX_ROOM_NAME_LEN,
            "max_room_name_length",
        ),
        (
            Code::MetadataOverLimit,
            Some(Code::MetadataNearLimit),
            "metadata",
            claims.metadata.len(),
            limits::MAX_METADATA_SIZE,
            "max_metadata_size",
        ),
        (
            Code::AttributesOverLimit,
            Some(Code::AttributesNearLimit),
            "attributes",
            claims.attributes_size(),
            limits::MAX_ATTRIBUTES_SIZE,
            "max_attributes_size",
        ),
    ];
    for (over_code, near_code, what, len, max, setting) in checks {
        if len > max {
            found.push(over(over_code, what, len, max, setting));
        } else if let Some(near) = near_code.filter(|_| len * 100 >= max * NEAR_LIMIT_PERCENT) {
            found.push(Finding::new(
                near,
                Severity::Warning,
                format!(
                    "the {what} is {len} bytes, {}% of the server's default limit \
                     (limit.{setting}: {max})",
                    len * 100 / max
                ),
                format!(
                    "keep large data out of the token (fetch it from your backend), or raise \
                     limit.{setting}"
                ),
            ));
        }
    }
    let url = url_len(token_len);
    if url > URL_LIMIT {
        found.push(Finding::new(
            Code::OversizedForUrl,
            Severity::Warning,
            format!(
                "the token is {token_len} bytes; the clients put it in the connect URL \
                 (?access_token=…), about {url} bytes, past the {URL_LIMIT} bytes that common \
                 proxies and load balancers pass"
            ),
            "move metadata and attributes out of the token (set them after joining, or fetch \
             them from your backend), or raise the proxy's URL limit",
        ));
    }
}
