//! `roomkey token verify`: the verdict, the server's limits, and the explanation of what a
//! token allows.

use std::io::Read as _;
use std::time::Duration;

use anyhow::{Context as _, Result};
use roomkey_token::grants::{GRANTS, Unset, Value};
use roomkey_token::input;
use roomkey_token::{Claims, VerifyError};
use serde_json::json;

use crate::credentials::KeySetArgs;
use crate::output::{out, print_json, rfc3339, safe, warn};

/// Check a token's signature and times, and explain what it grants.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The token; "-" or nothing reads it from standard input
    #[arg(value_name = "TOKEN|-")]
    token: Option<String>,

    /// Clock leeway on exp and nbf, in seconds or as a duration
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = input::parse_duration)]
    leeway: Duration,

    #[command(flatten)]
    keys: KeySetArgs,

    /// Print one JSON object (valid, identity, room, times, effective permissions, claims)
    #[arg(long, help_heading = "Output")]
    json: bool,

    /// Verify as if the time were this (unix seconds); for tests
    #[arg(long, hide = true, value_name = "UNIX")]
    now: Option<i64>,
}

/// The token did not verify: exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("invalid token: {0}")]
pub(crate) struct InvalidToken(pub(crate) VerifyError);

/// Runs `roomkey token verify`.
pub(crate) fn verify(args: &VerifyArgs) -> Result<()> {
    let keys = args
        .keys
        .resolve(crate::credentials::env_var("LIVEKIT_URL").as_deref())?;
    let token = match args.token.as_deref() {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .take(8 * 1024 * 1024)
                .read_to_string(&mut text)
                .context("cannot read the token from standard input")?;
            text
        }
        Some(t) => t.to_owned(),
    };
    let token = token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token);
    let verifier = roomkey_token::Verifier::new(keys).with_leeway(args.leeway);
    let now = args.now.unwrap_or_else(roomkey_token::unix_now);
    let verified = match verifier.verify_at(token, now) {
        Ok(v) => v,
        Err(e) => {
            if args.json {
                print_json(&json!({"valid": false, "error": e.to_string()}));
            }
            return Err(InvalidToken(e).into());
        }
    };
    let payload: serde_json::Value = serde_json::from_str(verified.payload())?;
    let claims = &verified.claims;
    let warnings = server_limit_warnings(claims);
    for w in &warnings {
        warn(w);
    }
    if args.json {
        print_json(&json!({
            "valid": true,
            "warnings": warnings,
            "issuer": claims.iss,
            "identity": claims.identity(),
            "name": claims.name,
            "room": claims.room(),
            "issued_at": claims.iat,
            "not_before": claims.nbf,
            "expires_at": claims.exp,
            "effective": effective(claims),
            "claims": payload,
        }));
    } else {
        explain(claims, now);
        out("claims:");
        print_json(&payload);
    }
    Ok(())
}

/// What a valid token carries past the LiveKit server's default limits: the token verifies, but
/// a server with those limits refuses the join (`/rtc/validate` answers 400).
fn server_limit_warnings(claims: &Claims) -> Vec<String> {
    use roomkey_token::limits::{
        MAX_ATTRIBUTES_SIZE, MAX_IDENTITY_LEN, MAX_METADATA_SIZE, MAX_ROOM_NAME_LEN,
    };
    let checks = [
        (
            "identity",
            claims.identity().len(),
            MAX_IDENTITY_LEN,
            "max_participant_identity_length",
        ),
        (
            "room name",
            claims.room().len(),
            MAX_ROOM_NAME_LEN,
            "max_room_name_length",
        ),
        (
            "metadata",
            claims.metadata.len(),
            MAX_METADATA_SIZE,
            "max_metadata_size",
        ),
        (
            "attributes",
            claims.attributes_size(),
            MAX_ATTRIBUTES_SIZE,
            "max_attributes_size",
        ),
    ];
    checks
        .into_iter()
        .filter(|(_, len, max, _)| len > max)
        .map(|(what, len, max, setting)| {
            format!(
                "the {what} is {len} bytes; a LiveKit server with the default limits refuses \
                 to let it join (limit.{setting}: {max})"
            )
        })
        .collect()
}

/// The video permissions as the server reads them, with the defaults of unset members filled in.
fn effective(claims: &Claims) -> serde_json::Value {
    if claims.video.is_none() {
        return json!(null);
    }
    let mut effective = serde_json::Map::new();
    for g in GRANTS.iter().filter(|g| g.claim == "video") {
        let value = match g.get(claims) {
            Some(Value::Sources([])) => json!("all"),
            Some(Value::Sources(list)) => json!(list),
            _ => match g.effective(claims) {
                Some(on) => json!(on),
                None => continue,
            },
        };
        effective.insert(g.key.to_owned(), value);
    }
    effective.into()
}

/// A grant member's label in the explanation: the last word of its key (`canPublishData` →
/// `data`).
fn label(key: &str) -> String {
    let start = key.rfind(|c: char| c.is_ascii_uppercase()).unwrap_or(0);
    key[start..].to_lowercase()
}

fn explain(claims: &Claims, now: i64) {
    out("valid token");
    let line = |label: &str, value: &str| out(&format!("  {label:<11} {value}"));
    line("issuer", &safe(&claims.iss));
    line("identity", &safe(claims.identity()));
    if !claims.name.is_empty() {
        line("name", &safe(&claims.name));
    }
    if let Some(kind) = &claims.kind {
        line("kind", &safe(kind.as_str()));
    }
    if let Some(iat) = claims.iat {
        line("issued at", &rfc3339(iat));
    }
    if let Some(exp) = claims.exp {
        line(
            "expires at",
            &format!("{} (in {})", rfc3339(exp), human_secs(exp - now)),
        );
    }
    match &claims.video {
        None => line("video", "no video grant (cannot join a room)"),
        Some(v) => {
            if v.room_join {
                let room = if v.room.is_empty() {
                    "any room".to_owned()
                } else {
                    safe(&v.room)
                };
                line("joins", &room);
            }
            let mut also = Vec::new();
            for g in GRANTS
                .iter()
                .filter(|g| g.claim == "video" && g.key != "roomJoin")
            {
                match g.get(claims) {
                    // What the server grants unless told otherwise: always said, yes or no.
                    Some(Value::Tri(set)) if g.unset != Unset::Off => {
                        let on = g.effective(claims).unwrap_or(false);
                        let value = match (on, set.is_some()) {
                            (true, true) => "yes",
                            (false, true) => "no",
                            (true, false) => "yes (default)",
                            (false, false) => "no (default)",
                        };
                        line(&label(g.key), value);
                    }
                    Some(Value::Sources(list)) if !list.is_empty() => {
                        let names: Vec<String> = list.iter().map(|s| safe(s.as_str())).collect();
                        line(&label(g.key), &names.join(", "));
                    }
                    Some(Value::Text(text)) if !text.is_empty() && g.key != "room" => {
                        also.push(format!("{}={}", g.key, safe(text)));
                    }
                    // What it grants only when asked: listed when given.
                    _ if g.effective(claims) == Some(true) => also.push(g.key.to_owned()),
                    _ => {}
                }
            }
            if !also.is_empty() {
                line("also", &also.join(", "));
            }
        }
    }
    // The other grant claims: each member that is given.
    let mut claim_names: Vec<&str> = GRANTS.iter().map(|g| g.claim).collect();
    claim_names.dedup();
    for claim in claim_names.into_iter().filter(|c| *c != "video") {
        let mut given = Vec::new();
        for g in GRANTS.iter().filter(|g| g.claim == claim) {
            let Some(value) = g.get(claims) else {
                break; // the claim is absent
            };
            match value {
                Value::Flag(true) | Value::Tri(Some(true)) => given.push(g.key.to_owned()),
                Value::Text(text) if !text.is_empty() => {
                    given.push(format!("{}={}", g.key, safe(text)));
                }
                Value::Texts(list) if !list.is_empty() => {
                    let items: Vec<String> = list.iter().map(|t| safe(t)).collect();
                    given.push(format!("{}=[{}]", g.key, items.join(", ")));
                }
                _ => {}
            }
        }
        let present = GRANTS
            .iter()
            .find(|g| g.claim == claim)
            .is_some_and(|g| g.get(claims).is_some());
        if present {
            let given = if given.is_empty() {
                "nothing granted".to_owned()
            } else {
                given.join(", ")
            };
            line(claim, &given);
        }
    }
    if let Some(agents) = claims
        .room_config
        .as_ref()
        .map(|c| &c.agents)
        .filter(|a| !a.is_empty())
    {
        let names: Vec<String> = agents.iter().map(|a| safe(&a.agent_name)).collect();
        line("dispatches", &names.join(", "));
    }
}

fn human_secs(secs: i64) -> String {
    if secs < 0 {
        return format!("-{}", human_secs(-secs));
    }
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s}s"),
        (0, 0, _) => format!("{m}m{s:02}s"),
        (0, _, _) => format!("{h}h{m:02}m"),
        _ => format!("{d}d{h:02}h"),
    }
}
