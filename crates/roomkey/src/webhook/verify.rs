//! `roomkey webhook verify`.

use std::io::Read as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result};
use roomkey_token::input;
use roomkey_token::webhook::{MAX_WEBHOOK_BODY, WebhookOptions, verify_webhook};
use serde_json::json;

use super::{InvalidWebhook, event_json, summary};
use crate::credentials::KeySetArgs;
use crate::output::{out, print_json};

/// Check one webhook request: the raw body and the Authorization header the server sent
///
/// The body must be the bytes exactly as received: a re-serialised JSON body has another
/// SHA-256 and is refused. The key is chosen by the token's issuer among the keys given.
/// Exit status: 0 valid (the event is printed), 1 refused (the reason on stderr), 2 usage.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  \
    roomkey webhook verify \\\n    \
      --body event.json \\\n    \
      --auth \"$AUTHORIZATION\" --json")]
pub(crate) struct VerifyArgs {
    /// The raw request body: a file, or "-" for standard input
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    body: PathBuf,

    /// The Authorization header's value (with or without "Bearer ")
    #[arg(long, value_name = "VALUE")]
    auth: String,

    /// Clock leeway on the Authorization token's exp and nbf
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = input::parse_duration)]
    leeway: Duration,

    #[command(flatten)]
    keys: KeySetArgs,

    /// Print one JSON object (valid, event, id, created_at, room, participant, track, body)
    #[arg(long, help_heading = "Output")]
    json: bool,

    /// Verify as if the time were this (unix seconds); for tests
    #[arg(long, hide = true, value_name = "UNIX")]
    now: Option<i64>,
}

/// Runs `roomkey webhook verify`.
pub(crate) fn run(args: &VerifyArgs) -> Result<()> {
    let keys = args.keys.resolve(None)?;
    let body = read_body(&args.body)?;
    let mut options = WebhookOptions::default().with_leeway(args.leeway);
    if let Some(now) = args.now {
        options = options.at(now);
    }
    match verify_webhook(&body, Some(&args.auth), &keys, options) {
        Ok(event) => {
            if args.json {
                print_json(&event_json(&event));
            } else {
                out(&format!("valid webhook: {}", summary(&event)));
            }
            Ok(())
        }
        Err(e) => {
            if args.json {
                print_json(&json!({"valid": false, "code": e.code(), "error": e.to_string()}));
            }
            Err(InvalidWebhook(e).into())
        }
    }
}

pub(super) fn read_body(path: &std::path::Path) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let limit = u64::try_from(MAX_WEBHOOK_BODY).unwrap_or(u64::MAX) + 1;
    if path.as_os_str() == "-" {
        std::io::stdin()
            .take(limit)
            .read_to_end(&mut body)
            .context("cannot read the body from standard input")?;
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(limit).read_to_end(&mut body))
            .with_context(|| format!("cannot read the body file {}", path.display()))?;
    }
    Ok(body)
}
