//! What the JSON endpoints (`/api/token`, the action endpoint, `/api/inspect`) read from a
//! request before any of it is trusted: the body within its size limit, the media type, the
//! body as a JSON object's text, and the client's address.

use std::net::{IpAddr, SocketAddr};

use axum::body::{Body, Bytes, HttpBody as _};
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, HeaderValue, header};
use http_body_util::BodyExt as _;

use crate::app::App;
use crate::client_addr;
use crate::error::ApiError;

/// Reads a request body of at most `limit` bytes. A body that arrives in one piece (nearly
/// every token request) is kept as it came, without a copy.
pub(crate) async fn read_body(mut body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let too_large = || ApiError::TooLarge { limit };
    if body.size_hint().lower() > limit as u64 {
        return Err(too_large());
    }
    let mut whole: Option<Bytes> = None;
    let mut pieces: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        // The client went away or sent a malformed chunked body: nobody reads the answer.
        let frame = frame.map_err(|_| ApiError::BadRequest {
            field: None,
            message: "the request body could not be read".into(),
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        let so_far = whole.as_ref().map_or(pieces.len(), Bytes::len);
        if so_far + data.len() > limit {
            return Err(too_large());
        }
        match whole.take() {
            None if pieces.is_empty() => whole = Some(data),
            None => pieces.extend_from_slice(&data),
            Some(first) => {
                pieces.reserve(first.len() + data.len());
                pieces.extend_from_slice(&first);
                pieces.extend_from_slice(&data);
            }
        }
    }
    Ok(whole.unwrap_or_else(|| Bytes::from(pieces)))
}

/// Whether the request says its body is JSON.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| is_json_media_type(v.as_bytes()))
}

/// A JSON request body as text, once it is known to be UTF-8 and a JSON object (a body of
/// white space only is taken as `{}`); what is wrong with it otherwise, as a 400.
pub(crate) fn json_object_text(body: &[u8]) -> Result<&str, ApiError> {
    // JSON is UTF-8. Checked once here, the parser need not check each string again.
    let body = std::str::from_utf8(body).map_err(|e| ApiError::BadRequest {
        field: None,
        message: format!(
            "the body is not valid UTF-8 (at byte {}), so it is not JSON",
            e.valid_up_to()
        ),
    })?;
    let body = if body.bytes().all(|b| b.is_ascii_whitespace()) {
        "{}"
    } else {
        body
    };
    // serde would read a JSON array positionally into the request's fields.
    if body.bytes().find(|b| !b.is_ascii_whitespace()) != Some(b'{') {
        return Err(ApiError::BadRequest {
            field: None,
            message: "the body must be a JSON object".into(),
        });
    }
    Ok(body)
}

/// The 400 for a body that does not parse as the request it should be.
pub(crate) fn bad_json(e: serde_json::Error) -> ApiError {
    ApiError::BadRequest {
        field: None,
        message: format!("the body is not a valid request: {e}"),
    }
}

/// Whether a Content-Type is `application/json` (any case, with or without parameters).
fn is_json_media_type(value: &[u8]) -> bool {
    const JSON: &[u8] = b"application/json";
    let value = value.trim_ascii_start();
    value.len() >= JSON.len()
        && value[..JSON.len()].eq_ignore_ascii_case(JSON)
        && matches!(value.get(JSON.len()), None | Some(b';' | b' ' | b'\t'))
}

/// The client's address (see [`client_addr::client_ip`]); a forwarded entry that names no
/// address is refused, since the proxy in front does not append what this setting expects.
pub(crate) fn client_ip(app: &App, parts: &axum::http::request::Parts) -> Result<IpAddr, ApiError> {
    let forwarded = app
        .config
        .trust_forwarded_for
        .then(|| parts.headers.get_all("x-forwarded-for").iter().next_back())
        .flatten();
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    client_addr::client_ip(forwarded.map(HeaderValue::as_bytes), peer).map_err(|entry| {
        ApiError::BadRequest {
            field: Some("X-Forwarded-For".into()),
            message: format!(
                "the last X-Forwarded-For entry {entry:?} is not an IP address; this server trusts that entry (trust_forwarded_for), so the proxy in front must append the client's address there"
            ),
        }
    })
}
