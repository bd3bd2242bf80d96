//! What a LiveKit server's answer about a token means: its `/rtc/validate` verdict as a
//! finding, and the reason inside a 401 (the same texts the server's RoomService answers with).

use super::{Code, Finding, Severity};

/// The longest part of a server's answer quoted in a finding.
const QUOTED: usize = 300;

/// What the reason in a LiveKit server's 401 points at: [`Code::KeyNotOnServer`],
/// [`Code::BadSignature`], [`Code::AlgNotHs256`], [`Code::Expired`], [`Code::NotYetValid`],
/// [`Code::WrongType`], or [`Code::ServerRefused`] for anything else. The texts are the
/// server's (`invalid API key: KEY`) and its JWT library's (`token is expired`).
pub fn refusal_code(reason: &str) -> Code {
    let lower = reason.to_ascii_lowercase();
    if lower.contains("invalid api key") {
        Code::KeyNotOnServer
    } else if lower.contains("signing method") {
        Code::AlgNotHs256
    } else if lower.contains("signature is invalid") {
        Code::BadSignature
    } else if lower.contains("token is expired") {
        Code::Expired
    } else if lower.contains("not valid yet") || lower.contains("used before issued") {
        Code::NotYetValid
    } else if lower.contains("cannot unmarshal") || lower.contains("invalid type") {
        Code::WrongType
    } else {
        Code::ServerRefused
    }
}

/// The server's answer with the token it echoes left out, on one line and shortened.
pub fn quote_answer(body: &str, token: &str) -> String {
    let body = if token.is_empty() {
        body.to_owned()
    } else {
        body.replace(token, "<the token>")
    };
    let line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.char_indices().nth(QUOTED) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// The verdict of the server at `url` on `token`, from its answer to `GET /rtc/validate`:
/// `server_accepted` for 200, `key_not_on_server`, `room_not_found`, or `server_refused` with
/// the server's words and what they mean.
pub fn validate_verdict(url: &str, status: u16, body: &str, token: &str, iss: &str) -> Finding {
    let said = quote_answer(body, token);
    if status == 200 {
        return Finding::new(
            Code::ServerAccepted,
            Severity::Info,
            format!("the server at {url} accepts the token (200 {said})"),
            "a join with it passes the server's token check; what the participant may do is \
             in the permissions above",
        );
    }
    let lower = said.to_ascii_lowercase();
    if status == 401 && refusal_code(&said) == Code::KeyNotOnServer {
        return Finding::new(
            Code::KeyNotOnServer,
            Severity::Error,
            format!(
                "the server at {url} does not know the token's API key {iss:?} ({status} {said})"
            ),
            "the key belongs to another project or server: mint with a key from this server's \
             keys (its keys file or LIVEKIT_KEYS; on LiveKit Cloud, the project's settings), or \
             point the client at the server the key belongs to",
        );
    }
    if status == 404 && lower.contains("room does not exist") {
        return Finding::new(
            Code::RoomNotFound,
            Severity::Error,
            format!(
                "the server at {url} does not create rooms on join (room.auto_create is off) and \
                 the room does not exist ({status} {said})"
            ),
            "create the room first (`roomkey room create NAME`, or mint with \
             --create-room-if-not-exists), or give the token roomCreate",
        );
    }
    let meaning = match (status, refusal_code(&said)) {
        (401, Code::Expired) => "the token is expired by the server's clock".to_owned(),
        (401, Code::NotYetValid) => "the token is not valid yet by the server's clock: the \
                                     minting machine's clock is ahead of the server's"
            .to_owned(),
        (401, Code::BadSignature) => format!(
            "the server has another secret for API key {iss:?}: the token was signed with a \
             secret that is not this server's"
        ),
        (401, Code::AlgNotHs256) => "the token is not signed with HS256".to_owned(),
        (401, Code::WrongType) => "a claim has the wrong JSON type".to_owned(),
        _ if lower.contains("no permissions to access the room") => {
            "the token has no video grant".to_owned()
        }
        _ if lower.contains("permissions denied") => {
            "the token does not grant video.roomJoin".to_owned()
        }
        _ if lower.contains("identity cannot be empty") => "the token has no identity".to_owned(),
        _ if lower.contains("no room name") => "the token names no room".to_owned(),
        _ if lower.contains("invalid authorization token") => {
            "the server could not parse the token".to_owned()
        }
        _ => "see the server's words".to_owned(),
    };
    Finding::new(
        Code::ServerRefused,
        Severity::Error,
        format!("the server at {url} refuses the token: {status} {said}"),
        format!("{meaning}; the findings above say how to fix it"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_servers_reasons_are_classified() {
        let cases = [
            ("invalid API key: APIx", Code::KeyNotOnServer),
            (
                "invalid token: t, error: token signature is invalid: signature is invalid",
                Code::BadSignature,
            ),
            (
                "invalid token: t, error: token is unverifiable: signing method HS512 is invalid",
                Code::AlgNotHs256,
            ),
            (
                "invalid token: t, error: token has invalid claims: token is expired",
                Code::Expired,
            ),
            (
                "invalid token: t, error: token has invalid claims: token is not valid yet",
                Code::NotYetValid,
            ),
            ("permissions denied", Code::ServerRefused),
        ];
        for (reason, code) in cases {
            assert_eq!(refusal_code(reason), code, "{reason}");
        }
    }

    #[test]
    fn the_echoed_token_is_left_out_and_long_answers_are_cut() {
        assert_eq!(
            quote_answer("invalid token: abc.def.ghi, error: x\n", "abc.def.ghi"),
            "invalid token: <the token>, error: x"
        );
        let long = "é".repeat(400);
        let quoted = quote_answer(&long, "");
        assert_eq!(quoted.chars().count(), 301);
        assert!(quoted.ends_with('…'));
    }
}
