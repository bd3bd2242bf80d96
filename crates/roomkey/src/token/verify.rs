//! `roomkey token verify`: the verdict, the server's limits, and the explanation of what a
//! token allows.

use std::io::Read as _;
use std::time::Duration;

use anyhow::{Context as _, Result};
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

/// The permissions as the server reads them, with the defaults of unset fields filled in.
fn effective(claims: &Claims) -> serde_json::Value {
    let Some(v) = &claims.video else {
        return json!(null);
    };
    json!({
        "roomJoin": v.room_join,
        "canPublish": v.effective_can_publish(),
        "canSubscribe": v.effective_can_subscribe(),
        "canPublishData": v.effective_can_publish_data(),
        "canPublishSources": if v.can_publish_sources.is_empty() {
            json!("all")
        } else {
            json!(v.can_publish_sources)
        },
        "canUpdateOwnMetadata": v.effective_can_update_own_metadata(),
        "canSubscribeMetrics": v.effective_can_subscribe_metrics(),
        "canManageAgentSession": v.effective_can_manage_agent_session(),
    })
}

fn explain(claims: &Claims, now: i64) {
    out("valid token");
    let line = |label: &str, value: &str| out(&format!("  {label:<12}{value}"));
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
            let room = if v.room.is_empty() {
                "any room".to_owned()
            } else {
                safe(&v.room)
            };
            if v.room_join {
                line("joins", &room);
            }
            let yes_no = |b: bool, set: bool| match (b, set) {
                (true, true) => "yes",
                (false, true) => "no",
                (true, false) => "yes (default)",
                (false, false) => "no (default)",
            };
            line(
                "publish",
                yes_no(v.effective_can_publish(), v.can_publish.is_some()),
            );
            line(
                "subscribe",
                yes_no(v.effective_can_subscribe(), v.can_subscribe.is_some()),
            );
            line(
                "data",
                yes_no(v.effective_can_publish_data(), v.can_publish_data.is_some()),
            );
            if !v.can_publish_sources.is_empty() {
                let sources: Vec<String> = v
                    .can_publish_sources
                    .iter()
                    .map(|s| safe(s.as_str()))
                    .collect();
                line("sources", &sources.join(", "));
            }
            let admin: Vec<&str> = [
                (v.room_create, "roomCreate"),
                (v.room_list, "roomList"),
                (v.room_record, "roomRecord"),
                (v.room_admin, "roomAdmin"),
                (v.ingress_admin, "ingressAdmin"),
                (v.hidden, "hidden"),
                (v.recorder, "recorder"),
                (v.agent, "agent"),
                (
                    v.effective_can_update_own_metadata(),
                    "canUpdateOwnMetadata",
                ),
                (v.effective_can_subscribe_metrics(), "canSubscribeMetrics"),
                (
                    v.effective_can_manage_agent_session(),
                    "canManageAgentSession",
                ),
            ]
            .into_iter()
            .filter_map(|(on, name)| on.then_some(name))
            .collect();
            if !admin.is_empty() {
                line("also", &admin.join(", "));
            }
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
