//! `POST /api/inspect`: the token doctor (`roomkey_token::inspect`) for the web page. The body
//! is `{"token": "<jwt>"}`; the answer is the inspection as one JSON object, the one
//! `roomkey token inspect --json` prints.
//!
//! The endpoint is public, like the page: anyone may paste a token. So it judges a token
//! without keys, and its signature is always `"unchecked"`: an answer that said whether a token
//! matches this server's secrets would let anyone test forged or stolen tokens against them.
//! It counts against the per-address rate limit of the token endpoints, and nothing else about
//! the caller is asked.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use roomkey_token::input::from_json_noting_unknown;
use roomkey_token::inspect::{Code, InspectOptions, inspect};
use serde::Deserialize;

use crate::app::App;
use crate::client_addr;
use crate::error::ApiError;
use crate::fields;
use crate::http_input;

/// The request's fields, for the message that refuses an unknown one.
const FIELDS: [&str; 1] = ["token"];

/// What the `signature_unchecked` finding says on this endpoint. The library's words tell a
/// command-line user which flags give the secret; a caller of this endpoint cannot give one.
const UNCHECKED_MESSAGE: &str = "the signature was not checked: this endpoint is public, so it \
     never checks a token against the server's secrets";
const UNCHECKED_HINT: &str = "check it where the API secret is: `roomkey token inspect` with the \
     key and secret, or with --server to ask the LiveKit server";

/// The request body: `{"token": "<jwt>"}`. The token is read as any JSON value so that a
/// wrong type is refused with a message naming the field.
#[derive(Debug, Deserialize)]
struct InspectRequest {
    #[serde(default)]
    token: Option<serde_json::Value>,
}

pub(crate) async fn inspect_token(State(app): State<Arc<App>>, request: Request) -> Response {
    match answer(&app, request).await {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

async fn answer(app: &App, request: Request) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    if app.limits.limits_ip() {
        let ip = http_input::client_ip(app, &parts)?;
        let key = client_addr::limit_key(ip, app.config.ipv6_prefix);
        app.limits.check(Some(key), None).await?;
    }
    // Checked before the body is read: a body that is not JSON is not worth waiting for.
    if !http_input::is_json(&parts.headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = http_input::read_body(body, app.config.max_body_bytes).await?;
    let token = token_of(&body)?;
    let mut inspection = inspect(&token, None, InspectOptions::at(roomkey_token::unix_now()));
    for finding in &mut inspection.findings {
        if finding.code == Code::SignatureUnchecked {
            UNCHECKED_MESSAGE.clone_into(&mut finding.message);
            UNCHECKED_HINT.clone_into(&mut finding.hint);
        }
    }
    let body = serde_json::to_vec(&inspection.to_json())
        .map_err(|e| ApiError::Internal(format!("cannot write the inspection: {e}")))?;
    // An answer about a token (its claims, in clear) is as private as the token.
    Ok(crate::error::json_answer(StatusCode::OK, body))
}

/// The token from the body. Any text is inspected, empty or not a JWT (the inspection says
/// what is wrong with it); only a body without a `token` string is refused.
fn token_of(body: &[u8]) -> Result<String, ApiError> {
    let text = http_input::json_object_text(body)?;
    let (request, unknown) =
        from_json_noting_unknown::<InspectRequest>(text).map_err(http_input::bad_json)?;
    if let Some(first) = unknown.fields.first() {
        return Err(fields::refused(first, &FIELDS));
    }
    match request.token {
        Some(serde_json::Value::String(token)) => Ok(token),
        None | Some(serde_json::Value::Null) => Err(ApiError::BadRequest {
            field: Some("token".into()),
            message: "the body has no \"token\": send the token to inspect as {\"token\":\"eyJ…\"}"
                .into(),
        }),
        Some(other) => Err(ApiError::BadRequest {
            field: Some("token".into()),
            message: format!(
                "\"token\" must be a string (the token as the SDK or token endpoint returned \
                 it), not {}",
                roomkey_token::input::json_kind(&other)
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_taken_from_its_field_and_nothing_else_is() {
        assert_eq!(token_of(br#"{"token":"a.b.c"}"#).unwrap(), "a.b.c");
        assert_eq!(token_of(br#"{"token":""}"#).unwrap(), "");
        for (body, field, words) in [
            (&br"{}"[..], Some("token"), "no \"token\""),
            (b"", Some("token"), "no \"token\""),
            (br#"{"token":null}"#, Some("token"), "no \"token\""),
            (br#"{"token":5}"#, Some("token"), "not a number"),
            (br#"{"token":["a"]}"#, Some("token"), "not an array"),
            (
                br#"{"tokne":"a.b.c"}"#,
                Some("tokne"),
                "did you mean \"token\"",
            ),
            (br#"{"token":"a","x":1}"#, Some("x"), "the fields are token"),
            (br#"["a.b.c"]"#, None, "JSON object"),
            (br#"{"token":"a"#, None, "not a valid request"),
        ] {
            let Err(ApiError::BadRequest { field: f, message }) = token_of(body) else {
                panic!("{body:?} was not refused with a 400");
            };
            assert_eq!(f.as_deref(), field, "{body:?}: {message}");
            assert!(message.contains(words), "{body:?}: {message}");
        }
    }
}
