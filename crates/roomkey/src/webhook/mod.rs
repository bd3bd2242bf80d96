//! `roomkey webhook verify|listen|send`: check a LiveKit webhook, receive them while developing,
//! and send a signed test event to an app's handler.

mod events;
mod listen;
mod send;
mod verify;

use roomkey_token::webhook::{WebhookError, WebhookEvent};
use serde_json::{Value, json};

use crate::output::safe;

/// Verify, receive and send LiveKit webhooks.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum WebhookCommand {
    /// Check one webhook request: its body and its Authorization header
    Verify(verify::VerifyArgs),
    /// Receive webhooks while developing: verify each, print it, optionally pass it on to your app
    Listen(listen::ListenArgs),
    /// Sign a realistic event exactly as the LiveKit server does and POST it to your handler
    Send(send::SendArgs),
}

/// Runs a `roomkey webhook` command.
pub(crate) fn run(command: &WebhookCommand) -> anyhow::Result<()> {
    match command {
        WebhookCommand::Verify(args) => verify::run(args),
        WebhookCommand::Listen(args) => listen::run(args),
        WebhookCommand::Send(args) => send::run(args),
    }
}

/// The webhook did not verify: exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("invalid webhook ({code}): {0}", code = .0.code())]
pub(crate) struct InvalidWebhook(pub(crate) WebhookError);

/// The app answered a sent event with a status other than 2xx: exit code 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refused(pub(crate) String);

/// One line about an event: `participant_joined room=standup participant=alice id=EV_…`.
fn summary(event: &WebhookEvent) -> String {
    let mut line = event.event.as_str().to_owned();
    if let Some(room) = event.room_name() {
        line.push_str(&format!(" room={}", safe(room)));
    }
    if let Some(identity) = event.participant_identity() {
        line.push_str(&format!(" participant={}", safe(identity)));
    }
    if let Some(track) = event.track_sid() {
        line.push_str(&format!(" track={}", safe(track)));
    }
    line.push_str(&format!(" id={}", safe(&event.id)));
    line
}

/// The JSON object for a verified event: `{"valid": true, "event", "id", "created_at",
/// "room", "participant", "track", "body"}`.
fn event_json(event: &WebhookEvent) -> Value {
    json!({
        "valid": true,
        "event": event.event.as_str(),
        "id": event.id,
        "created_at": event.created_at,
        "room": event.room_name(),
        "participant": event.participant_identity(),
        "track": event.track_sid(),
        "body": event,
    })
}
