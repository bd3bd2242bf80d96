//! `roomkey token inspect`: the token doctor. Decodes any token, explains it, lists what is
//! wrong with it (the findings of `roomkey_token::inspect`), and with `--server` asks the
//! LiveKit server for its verdict, its clock, and whether the token's room exists.

use std::io::IsTerminal as _;
use std::time::Duration;

use anyhow::Result;
use roomkey_rooms::{ClientOptions, RoomClient, RoomError, ValidateAnswer, validate_token};
use roomkey_token::inspect::clock::{ClockOffset, ClockSample};
use roomkey_token::inspect::server::validate_verdict;
use roomkey_token::inspect::{
    Code, Finding, InspectOptions, Inspection, Severity, Signature, inspect,
};
use roomkey_token::{KeySet, input};
use serde_json::{Value, json};

use super::verify::{explain, read_token};
use crate::credentials::{KeySetArgs, env_var};
use crate::output::{out, print_json, safe};

/// How many times the server is asked, to bound its clock's offset more tightly.
const CLOCK_SAMPLES: usize = 3;

/// Explain a token, find the known mistakes in it, and ask the LiveKit server what it thinks
///
/// Without keys the token is decoded and explained and its signature is not checked; with keys
/// (the same sources as `verify`: --api-key with --api-secret-file, LIVEKIT_API_KEY and
/// LIVEKIT_API_SECRET, --keys-file or LIVEKIT_KEYS) the signature is checked too. Each finding
/// has a stable code, a severity (error, warning, info), a message and a hint.
///
/// With --server (or LIVEKIT_URL) the server itself is asked (GET /rtc/validate): its verdict,
/// its clock (from several answers' Date headers), and, when admin credentials for it are
/// given, whether the token's room exists (agents in a token are dispatched only when its join
/// creates the room).
///
/// Exit status: 0 when no finding is an error, 1 when one is, 2 for usage errors.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    Decode and explain, no secret needed:\n    \
      roomkey token inspect \"$TOKEN\"\n  \
    Ask the server too (the token on stdin):\n    \
      roomkey token inspect \\\n      \
        --server http://localhost:7880 -\n  \
    The findings, for scripts:\n    \
      roomkey token inspect --json \\\n      \
        \"$TOKEN\" | jq .findings")]
pub(crate) struct InspectArgs {
    /// The token; "-" or nothing reads it from standard input ("Bearer " is dropped)
    #[arg(value_name = "TOKEN|-")]
    token: Option<String>,

    /// Clock leeway on exp and nbf, in seconds or as a duration (the server's is 60 s)
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = input::parse_duration)]
    leeway: Duration,

    #[command(flatten)]
    keys: KeySetArgs,

    /// Ask this LiveKit server for its verdict and its clock: ws://, wss://, http:// or
    /// https:// [env: LIVEKIT_URL]
    #[arg(long, value_name = "URL", help_heading = "Server")]
    server: Option<String>,

    /// Do not ask a server, even when LIVEKIT_URL is set
    #[arg(long, conflicts_with = "server", help_heading = "Server")]
    no_server: bool,

    /// Time allowed for each request to the server, in seconds or as a duration
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = input::parse_duration, help_heading = "Server")]
    timeout: Duration,

    /// Print one JSON object: signature, header, claims, times, permissions, size, findings,
    /// server
    #[arg(long, help_heading = "Output")]
    json: bool,

    /// Judge the times as if this machine's clock said this (unix seconds); for tests
    #[arg(long, hide = true, value_name = "UNIX")]
    now: Option<i64>,
}

/// The token has findings of severity error: exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("the token has {0} error finding{s}", s = if *.0 == 1 { "" } else { "s" })]
pub(crate) struct Unhealthy(pub(crate) usize);

/// Runs `roomkey token inspect`.
pub(crate) fn run(args: &InspectArgs) -> Result<()> {
    let keys = args.keys.resolve_given()?;
    let token = read_token(args.token.as_deref())?;
    let token = token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    let now = args.now.unwrap_or_else(roomkey_token::unix_now);
    let options = InspectOptions::at(now).with_leeway(args.leeway);
    let mut inspection = inspect(token, keys.as_ref(), options);
    let server_url = if args.no_server {
        None
    } else {
        args.server.clone().or_else(|| env_var("LIVEKIT_URL"))
    };
    let server = match &server_url {
        Some(url) => Some(ask_server(
            url,
            token,
            keys.as_ref(),
            args,
            &mut inspection,
        )?),
        None => None,
    };
    if args.json {
        let mut report = inspection.to_json();
        report["server"] = server.unwrap_or(Value::Null);
        print_json(&report);
    } else {
        print_human(&inspection, server.as_ref());
    }
    let errors = inspection
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    if errors > 0 {
        return Err(Unhealthy(errors).into());
    }
    Ok(())
}

/// Asks the server at `url` about the token and adds its findings; returns the `server` part
/// of the JSON report.
fn ask_server(
    url: &str,
    token: &str,
    keys: Option<&KeySet>,
    args: &InspectArgs,
    inspection: &mut Inspection,
) -> Result<Value> {
    if args.timeout.is_zero() {
        anyhow::bail!("--timeout must be longer than 0 s");
    }
    // A URL that cannot be a LiveKit server's is a usage error, not a finding.
    let base = roomkey_rooms::normalize_url(url)?;
    let iss = inspection
        .claims
        .as_ref()
        .map_or_else(String::new, |c| c.iss.clone());
    let answers = crate::rooms::block_on(async {
        let mut answers = Vec::new();
        for _ in 0..CLOCK_SAMPLES {
            match validate_token(&base, token, args.timeout).await {
                Ok(answer) => answers.push(answer),
                Err(e) => return Err(e),
            }
        }
        Ok(answers)
    })?;
    let answers: Vec<ValidateAnswer> = match answers {
        Ok(answers) => answers,
        Err(e) => {
            inspection.add([Finding::new(
                Code::ServerUnreachable,
                Severity::Error,
                format!("the server could not be asked: {e}"),
                "check the URL (the same one the clients connect to) and that the server runs",
            )]);
            return Ok(json!({"url": base, "reachable": false, "error": e.to_string()}));
        }
    };
    // The last answer is the verdict: by then the clock samples agree on what "now" is.
    let verdict = answers.last().expect("CLOCK_SAMPLES > 0");
    inspection.add([validate_verdict(
        &base,
        verdict.status,
        &verdict.body,
        token,
        &iss,
    )]);
    let samples: Vec<ClockSample> = answers
        .iter()
        .filter_map(|a| {
            Some(ClockSample {
                sent_ms: a.sent_ms,
                received_ms: a.received_ms,
                server_secs: a.server_time?,
            })
        })
        .collect();
    // `--now` stands in for this machine's clock; the offset measured is against the real one.
    let shift_ms = args
        .now
        .map_or(0, |now| (now - roomkey_token::unix_now()) * 1000);
    let offset = ClockOffset::from_samples(&samples).map(|o| ClockOffset {
        low_ms: o.low_ms - shift_ms,
        high_ms: o.high_ms - shift_ms,
    });
    if let Some(offset) = offset {
        inspection.judge_by_server_clock(offset);
    }
    let room = room_check(&base, keys, inspection, args.timeout);
    Ok(json!({
        "url": base,
        "reachable": true,
        "status": verdict.status,
        "answer": roomkey_token::inspect::server::quote_answer(&verdict.body, token),
        "accepted": verdict.status == 200,
        "clock": offset.map(|o| json!({
            "offset_ms": o.estimate_ms(),
            "uncertainty_ms": o.uncertainty_ms(),
            "samples": samples.len(),
        })),
        "room": room,
    }))
}

/// With admin credentials for the token's key: whether its room exists, and what that means
/// for the agents it asks for. `null` when it cannot be checked.
fn room_check(
    base: &str,
    keys: Option<&KeySet>,
    inspection: &mut Inspection,
    timeout: Duration,
) -> Value {
    let Some(claims) = inspection.claims.clone() else {
        return Value::Null;
    };
    let room = claims.room().to_owned();
    let Some(pair) = keys.and_then(|k| k.get(&claims.iss)).cloned() else {
        return json!({"name": room, "exists": null, "why_unchecked": "no secret for the token's API key was given"});
    };
    if room.is_empty() {
        return Value::Null;
    }
    let mut options = ClientOptions::default();
    options.timeout = timeout;
    let client = match RoomClient::with_options(base, pair, options) {
        Ok(client) => client.with_credential_sources(crate::rooms::credential_sources()),
        Err(e) => return json!({"name": room, "exists": null, "error": e.to_string()}),
    };
    let listed = crate::rooms::block_on(client.list_rooms(std::slice::from_ref(&room)));
    let exists = match listed {
        Ok(Ok(rooms)) => rooms.iter().any(|r| r.name == room),
        Ok(Err(e)) => return room_error(&room, &e),
        Err(e) => return json!({"name": room, "exists": null, "error": e.to_string()}),
    };
    let agents = claims.room_config.as_ref().map(|c| &c.agents);
    if let Some(agents) = agents.filter(|a| exists && !a.is_empty()) {
        let names: Vec<String> = agents.iter().map(|a| safe(&a.agent_name)).collect();
        inspection.add([Finding::new(
            Code::AgentsIgnoredForExistingRoom,
            Severity::Warning,
            format!(
                "the room {} exists already, so the agents this token asks for ({}) will not be \
                 dispatched when it joins: the server reads roomConfig only when a join creates \
                 the room",
                safe(&room),
                names.join(", ")
            ),
            format!(
                "dispatch them into the existing room: roomkey dispatch create {} --agent NAME \
                 (or mint with --create-room-if-not-exists, which does it)",
                safe(&room)
            ),
        )]);
        inspection
            .findings
            .retain(|f| f.code != Code::AgentsNeedNewRoom);
    }
    json!({"name": room, "exists": exists})
}

fn room_error(room: &str, e: &RoomError) -> Value {
    json!({"name": room, "exists": null, "error": e.to_string()})
}

// ---- human output -----------------------------------------------------------------------------

/// Colours for the severities, on a terminal only (and not with NO_COLOR).
struct Paint(bool);

impl Paint {
    fn detect() -> Paint {
        Paint(std::io::stdout().is_terminal() && env_var("NO_COLOR").is_none())
    }

    fn severity(&self, severity: Severity) -> String {
        let text = format!("{:<7}", severity.as_str());
        if !self.0 {
            return text;
        }
        let colour = match severity {
            Severity::Error => "31",
            Severity::Warning => "33",
            Severity::Info => "36",
        };
        format!("\x1b[1;{colour}m{text}\x1b[0m")
    }
}

fn print_human(inspection: &Inspection, server: Option<&Value>) {
    let paint = Paint::detect();
    let signature = match inspection.signature {
        Signature::Valid => "signature valid".to_owned(),
        Signature::Invalid => "signature INVALID (see the findings)".to_owned(),
        Signature::Unchecked => "signature not checked (no secret given)".to_owned(),
    };
    out(&format!("token: {signature}"));
    if let Some(header) = &inspection.header {
        out(&format!("  {:<11} {}", "header", safe(&header.to_string())));
    }
    let now = inspection.options.now;
    if let Some(claims) = &inspection.claims {
        explain(claims, now, inspection.options.leeway);
    }
    let url_len = inspection.url_len();
    out(&format!(
        "  {:<11} {} bytes; {}",
        "size",
        inspection.token_len,
        if inspection.has(Code::OversizedForUrl) {
            "too long for a connect URL behind common proxies".to_owned()
        } else {
            format!("fits in a connect URL (about {url_len} bytes)")
        }
    ));
    if let Some(server) = server {
        let url = server["url"].as_str().unwrap_or_default();
        let said = match server["status"].as_u64() {
            Some(status) => format!(
                "{status} {}",
                safe(server["answer"].as_str().unwrap_or_default())
            ),
            None => "no answer".to_owned(),
        };
        out(&format!("  {:<11} {url} answered {said}", "server"));
        if let Some(ms) = server["clock"]["offset_ms"].as_i64() {
            let uncertainty = server["clock"]["uncertainty_ms"].as_i64().unwrap_or(0);
            let side = if ms >= 0 { "ahead of" } else { "behind" };
            out(&format!(
                "  {:<11} the server's is {:.1} s {side} this machine's (± {:.1} s)",
                "clock",
                ms.unsigned_abs() as f64 / 1000.0,
                uncertainty as f64 / 1000.0
            ));
        }
        if let Some(exists) = server["room"]["exists"].as_bool() {
            let room = safe(server["room"]["name"].as_str().unwrap_or_default());
            let state = if exists {
                "exists"
            } else {
                "does not exist yet"
            };
            out(&format!("  {:<11} {room} {state}", "room"));
        }
    }
    if inspection.findings.is_empty() {
        out("findings: none");
    } else {
        out("findings:");
        for f in &inspection.findings {
            out(&format!(
                "  {} {:<24} {}",
                paint.severity(f.severity),
                f.code.as_str(),
                safe(&f.message)
            ));
            out(&format!("  {:<7} {:<24} hint: {}", "", "", safe(&f.hint)));
        }
    }
    if let Some(payload) = &inspection.payload {
        out("claims:");
        print_json(&Value::Object(payload.clone()));
    }
}
