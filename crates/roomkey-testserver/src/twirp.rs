//! Twirp errors and the plain-text replies of the LiveKit server's HTTP layer.

use std::fmt::Write as _;

use axum::body::Body;
use axum::http::{HeaderValue, Response, StatusCode, header};

use crate::pjson::quote;

/// A Twirp error as the server writes it: `{"code":…,"msg":…,"meta":{…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TwirpError {
    /// The Twirp code (`not_found`, `unauthenticated`, …).
    pub code: String,
    /// The message.
    pub msg: String,
    /// Metadata, in insertion order (left out of the body when empty).
    pub meta: Vec<(String, String)>,
}

impl TwirpError {
    /// An error built directly as a Twirp error: the message is kept as is.
    pub fn new(code: &str, msg: impl Into<String>) -> Self {
        TwirpError {
            code: code.to_owned(),
            msg: msg.into(),
            meta: Vec::new(),
        }
    }

    /// An error that started as a LiveKit psrpc error. The server's error interceptor first
    /// wraps it as `unknown`, then rebuilds it with the psrpc code from the wrapped error's
    /// full text, so the message gains the prefix `twirp error unknown: `.
    pub fn psrpc(code: &str, msg: impl AsRef<str>) -> Self {
        TwirpError::new(code, format!("twirp error unknown: {}", msg.as_ref()))
    }

    /// Adds a metadata entry.
    #[must_use]
    pub fn with_meta(mut self, key: &str, value: impl Into<String>) -> Self {
        self.meta.push((key.to_owned(), value.into()));
        self
    }

    /// `twirp.InvalidArgumentError(argument, validationMsg)`.
    pub fn invalid_argument(argument: &str, validation: &str) -> Self {
        TwirpError::new("invalid_argument", format!("{argument} {validation}"))
            .with_meta("argument", argument)
    }

    /// `401 unauthenticated "permissions denied"`: what every missing grant gives.
    pub fn permission_denied() -> Self {
        TwirpError::new("unauthenticated", "permissions denied")
    }

    /// A `bad_route` error, with the `twirp_invalid_route` metadata.
    pub fn bad_route(msg: impl Into<String>, method: &str, path: &str) -> Self {
        TwirpError::new("bad_route", msg)
            .with_meta("twirp_invalid_route", format!("{method} {path}"))
    }

    /// The `malformed` error for a body that cannot be decoded.
    pub fn malformed(msg: &str) -> Self {
        TwirpError::new("malformed", msg)
    }

    /// The HTTP status Twirp gives this code (twitchtv/twirp `ServerHTTPStatusFromErrorCode`).
    pub fn status(&self) -> u16 {
        status_of_code(&self.code)
    }

    /// The JSON body, exactly as Go's `encoding/json` writes the Twirp error struct.
    pub fn body(&self) -> String {
        let mut out = String::from("{\"code\":");
        quote(&mut out, &self.code);
        out.push_str(",\"msg\":");
        quote(&mut out, &self.msg);
        if !self.meta.is_empty() {
            out.push_str(",\"meta\":{");
            // Go marshals map[string]string with sorted keys.
            let mut meta = self.meta.clone();
            meta.sort_by(|a, b| a.0.cmp(&b.0));
            meta.dedup_by(|a, b| a.0 == b.0);
            for (i, (k, v)) in meta.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                quote(&mut out, k);
                out.push(':');
                quote(&mut out, v);
            }
            out.push('}');
        }
        out.push('}');
        go_html_escape(&out)
    }

    /// The HTTP response: the code's status, `Content-Type: application/json` exactly.
    pub fn into_response(self) -> Response<Body> {
        let body = self.body();
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = Response::new(Body::from(body));
        *resp.status_mut() = status;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        resp
    }
}

/// The Twirp code → HTTP status table.
pub fn status_of_code(code: &str) -> u16 {
    match code {
        "canceled" | "deadline_exceeded" => 408,
        "invalid_argument" | "malformed" | "out_of_range" => 400,
        "not_found" | "bad_route" => 404,
        "already_exists" | "aborted" => 409,
        "permission_denied" => 403,
        "unauthenticated" => 401,
        "resource_exhausted" => 429,
        "failed_precondition" => 412,
        "unimplemented" => 501,
        "unavailable" => 503,
        // unknown, internal, dataloss and anything else
        _ => 500,
    }
}

/// Go's `encoding/json` escapes `<`, `>`, `&`, U+2028 and U+2029 inside strings. They can only
/// occur inside strings here, so a plain replacement is exact.
fn go_html_escape(s: &str) -> String {
    if !s.contains(['<', '>', '&', '\u{2028}', '\u{2029}']) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `%q` (strconv.Quote) for the strings that appear in Twirp messages.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{fffd}' => out.push_str("\\ufffd"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A reply written by Go's `HandleError` (`WriteHeader` then `Write`): the content type is
/// sniffed as `text/plain; charset=utf-8` and there is no trailing newline.
pub fn plain_text(status: u16, text: &str) -> Response<Body> {
    let mut resp = Response::new(Body::from(text.to_owned()));
    *resp.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// A reply written by Go's `http.Error` (used by `http.NotFound`): text/plain, `nosniff`, and
/// a trailing newline.
pub fn http_error(status: u16, text: &str) -> Response<Body> {
    let mut resp = plain_text(status, &format!("{text}\n"));
    resp.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_match_go() {
        assert_eq!(
            TwirpError::permission_denied().body(),
            r#"{"code":"unauthenticated","msg":"permissions denied"}"#
        );
        assert_eq!(
            TwirpError::bad_route(
                "unsupported method \"GET\" (only POST is allowed)",
                "GET",
                "/twirp/livekit.RoomService/CreateRoom"
            )
            .body(),
            r#"{"code":"bad_route","msg":"unsupported method \"GET\" (only POST is allowed)","meta":{"twirp_invalid_route":"GET /twirp/livekit.RoomService/CreateRoom"}}"#
        );
        assert_eq!(
            TwirpError::invalid_argument("metadata size exceeds limits", "524288").body(),
            r#"{"code":"invalid_argument","msg":"metadata size exceeds limits 524288","meta":{"argument":"metadata size exceeds limits"}}"#
        );
        assert_eq!(
            TwirpError::new("x", "<a&b>").body(),
            r#"{"code":"x","msg":"\u003ca\u0026b\u003e"}"#
        );
        assert_eq!(go_quote("a\"b\n\u{1}é"), "\"a\\\"b\\n\\x01é\"");
    }
}
