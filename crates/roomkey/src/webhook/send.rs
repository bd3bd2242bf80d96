//! `roomkey webhook send`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use roomkey_token::input;
use roomkey_token::webhook::{WEBHOOK_CONTENT_TYPE, sign_webhook_at};

use super::Refused;
use super::events::{SENDABLE, event_body};
use crate::credentials::KeyArgs;
use crate::output::{out, safe};

/// The longest part of the app's answer printed.
const SHOWN_ANSWER: usize = 2000;

/// Sign a realistic event exactly as the LiveKit server does and POST it to your handler
///
/// The body has the fields the server fills for that event (a room, a participant, a track,
/// with fresh sids and the current time), or is read from --body. It is sent as the server
/// sends it: POST, Content-Type application/webhook+json, and an Authorization token (no
/// "Bearer ") signed with the API key, valid 5 minutes, whose sha256 claim is the body's digest.
/// Exit status: 0 when the app answers 2xx, 1 otherwise, 2 for usage errors.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    roomkey webhook send \\\n    \
      --url http://localhost:3000/hook \\\n    \
      --event participant_joined \\\n    \
      --room standup --identity alice\n  \
    roomkey webhook send \\\n    \
      --url http://localhost:3000/hook \\\n    \
      --body recorded-event.json")]
pub(crate) struct SendArgs {
    /// Where your app receives webhooks
    #[arg(long, value_name = "URL")]
    url: String,

    /// The event to send: room_started, room_finished, participant_joined, participant_left,
    /// participant_connection_aborted, track_published, track_unpublished
    #[arg(long, value_name = "NAME", required_unless_present = "body")]
    event: Option<String>,

    /// The room's name in the event
    #[arg(long, value_name = "NAME", default_value = "test-room")]
    room: String,

    /// The participant's identity in the event
    #[arg(long, value_name = "IDENTITY", default_value = "test-participant")]
    identity: String,

    /// Send this body instead (a file, or "-" for standard input), byte for byte
    #[arg(long, value_name = "FILE|-", conflicts_with_all = ["event"])]
    body: Option<PathBuf>,

    /// Time allowed for the app to answer, in seconds or as a duration
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = input::parse_duration)]
    timeout: Duration,

    #[command(flatten)]
    key: KeyArgs,

    /// Print the body that is sent on stderr too
    #[arg(long)]
    show_body: bool,

    /// Sign as if the time were this (unix seconds); for tests
    #[arg(long, hide = true, value_name = "UNIX")]
    now: Option<i64>,
}

/// Runs `roomkey webhook send`.
pub(crate) fn run(args: &SendArgs) -> Result<()> {
    let target = url::Url::parse(&args.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .with_context(|| {
            format!(
                "--url {} is not an http:// or https:// URL (e.g. http://localhost:3000/livekit/webhook)",
                safe(&args.url)
            )
        })?;
    if args.timeout.is_zero() {
        bail!("--timeout must be longer than 0 s");
    }
    let key = args.key.resolve(None)?;
    let now = args.now.unwrap_or_else(roomkey_token::unix_now);
    let body = match (&args.body, &args.event) {
        (Some(path), _) => super::verify::read_body(path)?,
        (None, Some(name)) => {
            let Some(body) = event_body(name, &args.room, &args.identity, now) else {
                bail!(
                    "--event {} is not an event roomkey can make up; use one of {} (or send your \
                     own with --body)",
                    safe(name),
                    SENDABLE.join(", ")
                );
            };
            serde_json::to_vec(&body)?
        }
        (None, None) => bail!("give --event NAME or --body FILE"),
    };
    let authorization = sign_webhook_at(&body, &key, now)?;
    if args.show_body {
        eprintln!("{}", String::from_utf8_lossy(&body));
    }
    let answer = crate::rooms::block_on(async {
        let client = reqwest::Client::builder()
            .timeout(args.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("LiveKit")
            .build()?;
        let response = client
            .post(target.clone())
            .header(reqwest::header::CONTENT_TYPE, WEBHOOK_CONTENT_TYPE)
            .header(reqwest::header::AUTHORIZATION, &authorization)
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        Ok::<_, reqwest::Error>((status, text))
    })?;
    let (status, text) = answer.with_context(|| format!("cannot POST to {target}"))?;
    let shown: String = text.chars().take(SHOWN_ANSWER).collect();
    let line = format!("POST {target} -> {status}");
    out(&line);
    if !shown.trim().is_empty() {
        out(&safe(shown.trim()));
    }
    if !status.is_success() {
        return Err(Refused(format!("the app answered {status}")).into());
    }
    Ok(())
}
