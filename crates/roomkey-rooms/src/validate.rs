//! Asking a LiveKit server whether it accepts a token: `GET /rtc/validate`, the check its
//! signalling endpoint makes before a join, and its clock, from the answer's `Date` header.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::client::{normalize_url, transport_cause};
use crate::error::RoomError;

/// The longest answer body kept: the server's answers are a line of text.
const MAX_BODY: usize = 4096;

/// The server's answer to one `GET /rtc/validate`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidateAnswer {
    /// The HTTP status (200 when the server accepts the token).
    pub status: u16,
    /// The body, as the server wrote it (it may echo the token), at most 4 KiB.
    pub body: String,
    /// The `Date` header, unix seconds, when the answer had a readable one.
    pub server_time: Option<i64>,
    /// This machine's clock when the request was sent, unix milliseconds.
    pub sent_ms: i64,
    /// This machine's clock when the answer arrived, unix milliseconds.
    pub received_ms: i64,
}

/// Asks the server at `url` (any URL [`normalize_url`] takes) whether it accepts `token`, the
/// token in an `Authorization: Bearer` header (not in the URL, where proxies log it). Redirects
/// are not followed: the answer is the server's own.
///
/// # Errors
/// [`RoomError::InvalidUrl`], [`RoomError::Unreachable`] or [`RoomError::Timeout`].
pub async fn validate_token(
    url: &str,
    token: &str,
    timeout: Duration,
) -> Result<ValidateAnswer, RoomError> {
    let base = normalize_url(url)?;
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("roomkey/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| RoomError::InvalidUrl {
            url: url.to_owned(),
            reason: e.to_string(),
        })?;
    let sent_ms = unix_ms();
    let answer = http
        .get(format!("{base}/rtc/validate"))
        .bearer_auth(token)
        .send()
        .await;
    let received_ms = unix_ms();
    let response = answer.map_err(|e| network_error(&base, &e, timeout))?;
    let status = response.status().as_u16();
    let server_time = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_secs()).ok());
    let bytes = response
        .bytes()
        .await
        .map_err(|e| network_error(&base, &e, timeout))?;
    let body = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX_BODY)]).into_owned();
    Ok(ValidateAnswer {
        status,
        body,
        server_time,
        sent_ms,
        received_ms,
    })
}

fn network_error(base: &str, e: &reqwest::Error, timeout: Duration) -> RoomError {
    if e.is_timeout() {
        RoomError::Timeout {
            url: base.to_owned(),
            method: "GET /rtc/validate",
            after: timeout,
        }
    } else {
        RoomError::Unreachable {
            url: base.to_owned(),
            attempts: 1,
            cause: transport_cause(e),
        }
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
