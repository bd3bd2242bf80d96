//! Receiving the LiveKit server's webhooks (`[webhooks] path`): each request is verified
//! (`roomkey_token::webhook`), a retried delivery is recognised by its event id, every event is
//! counted by type in `/metrics` and logged with its room and participant (never the token).

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roomkey_token::webhook::{EventName, RecentIds, WebhookOptions, verify_webhook};

use crate::app::App;
use crate::config::WebhookSettings;
use crate::error::api_answer_headers;

/// What the server keeps to receive webhooks.
#[derive(Debug)]
pub(crate) struct WebhookInbox {
    settings: WebhookSettings,
    seen: Mutex<RecentIds>,
}

impl WebhookInbox {
    pub(crate) fn new(settings: WebhookSettings) -> Self {
        let seen = Mutex::new(RecentIds::new(settings.remember_ids));
        WebhookInbox { settings, seen }
    }

    /// The path it is served at.
    pub(crate) fn path(&self) -> &str {
        &self.settings.path
    }
}

/// The label an event is counted under: its name when this version knows it, else "other"
/// (names come from the request, and a label per name would let senders grow the metrics).
pub(crate) fn event_label(name: &EventName) -> &'static str {
    EventName::KNOWN
        .iter()
        .find(|known| *known == name)
        .map_or("other", EventName::as_str)
}

/// `POST [webhooks] path`.
pub(crate) async fn receive(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(inbox) = &app.webhooks else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let options = WebhookOptions::default().with_leeway(inbox.settings.leeway);
    let (status, text) = match verify_webhook(&body, auth, &inbox.settings.keys, options) {
        Ok(event) => {
            let first = inbox
                .seen
                .lock()
                .map_or(true, |mut seen| seen.first_time(&event.id));
            let label = event_label(&event.event);
            if first {
                app.metrics.webhook_received(label);
            } else {
                app.metrics.webhook_duplicate();
            }
            tracing::info!(
                event = event.event.as_str(),
                id = %event.id,
                room = event.room_name().unwrap_or(""),
                participant = event.participant_identity().unwrap_or(""),
                duplicate = !first,
                "webhook"
            );
            (StatusCode::OK, "ok\n".to_owned())
        }
        Err(e) => {
            app.metrics.webhook_refused(e.code());
            tracing::warn!(reason = e.code(), "webhook refused: {e}");
            (StatusCode::UNAUTHORIZED, format!("{e}\n"))
        }
    };
    let mut response = (status, text).into_response();
    api_answer_headers(response.headers_mut());
    response
}
