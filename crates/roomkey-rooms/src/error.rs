//! [`RoomError`]: what went wrong talking to RoomService.

use std::time::Duration;

/// Why a RoomService call failed. Messages name the URL or the grant involved and the likely
/// fix; none contain a token or a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoomError {
    /// The server URL is not usable.
    #[error("{reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong and how to write it.
        reason: String,
    },
    /// No connection could be made (or every connection was lost), after all attempts.
    #[error("cannot reach the LiveKit server at {url} ({attempts} attempt{s}): {cause}; is the server running, and is the URL right?", s = if *attempts == 1 { "" } else { "s" })]
    Unreachable {
        /// The server URL.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// The transport error of the last attempt.
        cause: String,
    },
    /// The server did not answer in time.
    #[error("the LiveKit server at {url} did not answer {method} within {after:?}")]
    Timeout {
        /// The server URL.
        url: String,
        /// The RoomService method.
        method: &'static str,
        /// The timeout in force.
        after: Duration,
    },
    /// The server rejected the credentials (HTTP 401 from its auth layer).
    #[error(
        "the LiveKit server rejected the API key or secret ({detail}); check LIVEKIT_API_KEY and LIVEKIT_API_SECRET"
    )]
    Unauthenticated {
        /// The server's reason, e.g. `invalid API key`.
        detail: String,
    },
    /// The credentials are valid but lack the grant the method needs.
    #[error("permission denied for {method}: the token needs the {grant} grant ({detail})")]
    PermissionDenied {
        /// The RoomService method.
        method: &'static str,
        /// The grant it needs.
        grant: &'static str,
        /// The server's message.
        detail: String,
    },
    /// The room (or participant) does not exist.
    #[error("not found: {detail}")]
    NotFound {
        /// The server's message.
        detail: String,
    },
    /// The URL answers, but not as a LiveKit RoomService (Twirp `bad_route`).
    #[error(
        "{url} does not serve LiveKit's RoomService ({detail}); point the URL at the LiveKit server itself"
    )]
    BadRoute {
        /// The server URL.
        url: String,
        /// The server's message.
        detail: String,
    },
    /// Any other error answer.
    #[error("the LiveKit server answered {method} with HTTP {status} ({code}): {detail}")]
    Server {
        /// The RoomService method.
        method: &'static str,
        /// HTTP status.
        status: u16,
        /// Twirp error code (from the body, or derived from the status).
        code: String,
        /// The server's message.
        detail: String,
    },
    /// A success answer whose body could not be read.
    #[error("the LiveKit server's answer to {method} could not be read: {detail}")]
    Decode {
        /// The RoomService method.
        method: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The per-call token could not be minted.
    #[error("cannot mint the RoomService token: {0}")]
    Mint(#[from] roomkey_token::MintError),
}

impl RoomError {
    /// Whether the error is a missing room or participant.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RoomError::NotFound { .. })
    }
}

/// Makes text from the network safe to put in a message: no control characters, bounded length.
pub(crate) fn clean(text: &str) -> String {
    const MAX: usize = 300;
    let mut out: String = text
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if out.len() > MAX {
        let mut cut = MAX;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}
