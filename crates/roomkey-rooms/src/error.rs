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
    /// No connection could be made (or every connection was lost), after all attempts; for a
    /// call that must not run twice (CreateDispatch), after the attempt whose connection was
    /// lost, since the server may have carried it out.
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
    /// The server's auth layer rejected the call's token (HTTP 401): the message says why, in
    /// terms of the key, the secret or the clock, and where the client's credentials came from
    /// (see [`CredentialSources`]).
    #[error("{message}")]
    Unauthenticated {
        /// What the server's answer points at.
        reason: AuthFailure,
        /// The server's reason, e.g. `invalid API key: APIxyz` (any token it echoes is left out).
        detail: String,
        /// The whole explanation, as displayed.
        message: String,
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

/// Why the server's auth layer refused a token, read from its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthFailure {
    /// The signature does not verify: the secret is not the one the server has for the key.
    WrongSecret,
    /// The server has no secret for the API key (the token's issuer).
    UnknownKey,
    /// The token's `exp` has passed by the server's clock, though the token was minted just
    /// now: the client's clock is behind the server's.
    Expired,
    /// The token's `nbf` is still ahead by the server's clock: the client's clock is ahead.
    NotYetValid,
    /// Anything else the auth layer said.
    Other,
}

/// Where a client's API key and secret came from (`"--api-key"`, `"LIVEKIT_API_SECRET"`, …),
/// for the messages of [`RoomError::Unauthenticated`]. Empty means "not known": the message
/// then speaks of "the API key" without naming a source.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CredentialSources {
    /// Where the API key came from.
    pub api_key: String,
    /// Where the API secret came from.
    pub api_secret: String,
}

impl CredentialSources {
    /// Sources for a key and a secret.
    pub fn new(api_key: impl Into<String>, api_secret: impl Into<String>) -> Self {
        CredentialSources {
            api_key: api_key.into(),
            api_secret: api_secret.into(),
        }
    }

    /// `the API key "K" (from SOURCE)`.
    pub(crate) fn key(&self, key: &str) -> String {
        format!("the API key {key:?}{}", from(&self.api_key))
    }

    /// `the API secret (from SOURCE)`.
    pub(crate) fn secret(&self) -> String {
        format!("the API secret{}", from(&self.api_secret))
    }
}

fn from(source: &str) -> String {
    if source.is_empty() {
        String::new()
    } else {
        format!(" (from {source})")
    }
}

impl RoomError {
    /// Whether the error is a missing room or participant.
    pub fn is_not_found(&self) -> bool {
        matches!(self, RoomError::NotFound { .. })
    }
}

/// The server's message without what says nothing to a user: the `twirp error unknown: `
/// prefix LiveKit's error wrapping adds, and any token the server echoes (LiveKit's auth layer
/// answers `invalid token: <the whole JWT>, error: <reason>`; a token that is "not valid yet"
/// becomes valid later, so it must not end up in logs).
pub(crate) fn server_detail(text: &str) -> String {
    let mut text = text.trim();
    if let Some(rest) = text.strip_prefix("invalid token: ") {
        if let Some((_, reason)) = rest.split_once(", error: ") {
            text = reason;
        }
    }
    while let Some(rest) = text.strip_prefix("twirp error unknown: ") {
        text = rest;
    }
    clean(&redact_tokens(text))
}

/// Replaces anything shaped like a JWT (`eyJ…` in three base64url segments) with `<token>`.
fn redact_tokens(text: &str) -> String {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("eyJ") {
        let candidate = &rest[at..];
        let len = candidate
            .find(|c: char| !(is_b64(c) || c == '.'))
            .unwrap_or(candidate.len());
        let word = &candidate[..len];
        let preceded_by_b64 = rest[..at].chars().next_back().is_some_and(is_b64);
        if !preceded_by_b64 && word.split('.').count() == 3 {
            out.push_str(&rest[..at]);
            out.push_str("<token>");
        } else {
            out.push_str(&rest[..at + 3]);
            rest = &rest[at + 3..];
            continue;
        }
        rest = &candidate[len..];
    }
    out.push_str(rest);
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_details_lose_the_echoed_token_and_the_wrapping_prefix() {
        assert_eq!(
            server_detail(
                "invalid token: eyJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJrIn0.c2ln, error: token has invalid claims: token is expired\n"
            ),
            "token has invalid claims: token is expired"
        );
        assert_eq!(
            server_detail("twirp error unknown: requested room does not exist"),
            "requested room does not exist"
        );
        assert_eq!(
            server_detail("bad eyJa.eyJb.c here, keyJa.b.c and eyJnot-a-token stay"),
            "bad <token> here, keyJa.b.c and eyJnot-a-token stay"
        );
        assert_eq!(
            server_detail("invalid API key: APIx"),
            "invalid API key: APIx"
        );
    }
}
