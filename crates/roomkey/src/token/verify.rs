//! `roomkey token verify`: the verdict, the server's limits, and the explanation of what a
//! token allows.

use std::io::Read as _;
use std::time::Duration;

use anyhow::{Context as _, Result};
use roomkey_token::grants::{GRANTS, Unset, Value};
use roomkey_token::input;
use roomkey_token::inspect::{Code, InspectOptions, inspect, permissions, relative, span};
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
    let token = read_token(args.token.as_deref())?;
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
    // What verifies may still be refused by a server with the default limits, or be about to
    // expire: the doctor's findings on sizes and times say so.
    let options = InspectOptions::at(now).with_leeway(args.leeway);
    let warnings: Vec<String> = inspect(token, None, options)
        .findings
        .into_iter()
        .filter(|f| VERIFY_WARNINGS.contains(&f.code))
        .map(|f| f.message)
        .collect();
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
            "effective": permissions(claims)["video"],
            "claims": payload,
        }));
    } else {
        let within_leeway =
            claims.exp.is_some_and(|exp| now >= exp) || claims.nbf.is_some_and(|nbf| now < nbf);
        out(if within_leeway {
            "valid token, but only thanks to the clock leeway (see the warning)"
        } else {
            "valid token"
        });
        explain(claims, now, args.leeway);
        out("claims:");
        print_json(&payload);
    }
    Ok(())
}

/// The findings `verify` passes on as warnings: a valid token the server refuses anyway
/// (sizes over its default limits), or accepts only thanks to the leeway.
const VERIFY_WARNINGS: &[Code] = &[
    Code::IdentityTooLong,
    Code::RoomNameTooLong,
    Code::MetadataOverLimit,
    Code::AttributesOverLimit,
    Code::ExpiredWithinLeeway,
    Code::NotYetValidWithinLeeway,
];

/// Reads the token argument, or standard input for "-" or no argument.
pub(super) fn read_token(arg: Option<&str>) -> Result<String> {
    match arg {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .take(8 * 1024 * 1024)
                .read_to_string(&mut text)
                .context("cannot read the token from standard input")?;
            Ok(text)
        }
        Some(t) => Ok(t.to_owned()),
    }
}

/// A grant member's label in the explanation: the last word of its key (`canPublishData` →
/// `data`).
fn label(key: &str) -> String {
    let start = key.rfind(|c: char| c.is_ascii_uppercase()).unwrap_or(0);
    key[start..].to_lowercase()
}

/// Prints who the token is for, its times, and what it grants, one line each.
pub(super) fn explain(claims: &Claims, now: i64, leeway: Duration) {
    let line = |label: &str, value: &str| out(&format!("  {label:<11} {value}"));
    line("issuer", &safe(&claims.iss));
    line("identity", &safe(claims.identity()));
    if !claims.name.is_empty() {
        line("name", &safe(&claims.name));
    }
    if let Some(kind) = &claims.kind {
        line("kind", &safe(kind.as_str()));
    }
    for (label, time) in [
        ("issued at", claims.iat),
        ("not before", claims.nbf),
        ("expires at", claims.exp),
    ] {
        if let Some(time) = time {
            line(label, &when(time, now));
        }
    }
    if claims.exp.is_none() {
        line("expires at", "never (no exp)");
    }
    line(
        "leeway",
        &format!("{} on exp and nbf", span(leeway.as_secs())),
    );
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
    if !claims.room_preset.is_empty() {
        line("room preset", &safe(&claims.room_preset));
    }
    if let Some(config) = &claims.room_config {
        // Everything but the agents, which get a line each: `emptyTimeout=300, name=x`.
        let mut settings = Vec::new();
        if let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(config.as_ref()) {
            for (key, value) in fields.iter().filter(|(k, _)| *k != "agents") {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                settings.push(format!("{key}={}", safe(&value)));
            }
        }
        if !settings.is_empty() {
            line("room config", &settings.join(", "));
        }
        for agent in &config.agents {
            let mut about = vec![safe(&agent.agent_name)];
            if !agent.metadata.is_empty() {
                about.push(format!("metadata {} bytes", agent.metadata.len()));
            }
            if !agent.deployment.is_empty() {
                about.push(format!("deployment {}", safe(&agent.deployment)));
            }
            line("dispatches", &about.join(", "));
        }
    }
}

/// A time as UTC, this machine's local time, and from now: `2026-12-04T18:00:00Z (19:00:00
/// CET, in 14 min)`.
fn when(unix: i64, now: i64) -> String {
    let local = jiff::Timestamp::from_second(unix)
        .ok()
        .map(|t| t.to_zoned_datetime(jiff::tz::TimeZone::system()))
        .map(|z| z.strftime("%Y-%m-%d %H:%M:%S %Z").to_string());
    match local {
        Some(local) => format!("{} ({local}, {})", rfc3339(unix), relative(unix - now)),
        None => format!("{} ({})", rfc3339(unix), relative(unix - now)),
    }
}
