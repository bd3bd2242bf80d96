//! [`ApiError`]: every error answer, with one JSON envelope:
//! `{"error":{"code":"…","message":"…","field":"…"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthError;

/// An error answer.
#[derive(Debug)]
pub enum ApiError {
    /// 401: no or bad credentials.
    Unauthenticated(AuthError),
    /// 403: authenticated, but the request is outside the caller's policy.
    Forbidden {
        /// The request field.
        field: String,
        /// Why.
        reason: String,
    },
    /// 403: the endpoint needs an admin caller.
    AdminOnly,
    /// 400: the request body is not acceptable.
    BadRequest {
        /// The field, when one is to blame.
        field: Option<String>,
        /// What is wrong.
        message: String,
    },
    /// 413: the body is over the limit.
    TooLarge {
        /// The limit, bytes.
        limit: usize,
    },
    /// 415: not JSON.
    UnsupportedMediaType,
    /// 429: over a rate limit.
    RateLimited {
        /// Seconds until a request will be accepted.
        retry_after: u64,
        /// "caller" or "ip".
        scope: &'static str,
    },
    /// 503: the shared rate-limit store cannot answer, and `on_store_error = "deny"`.
    LimitsUnavailable,
    /// 503: the request took longer than the configured per-request timeout.
    Timeout,
    /// 404: no such endpoint.
    NotFound,
    /// 405: the endpoint does not take this method.
    MethodNotAllowed,
    /// 502/503/504: LiveKit's RoomService failed.
    Upstream(roomkey_rooms::RoomError),
    /// 500: a bug or a misconfiguration; details are logged, not returned.
    Internal(String),
}

impl ApiError {
    /// The `code` of the JSON body, also used as the `reason` label of the denial metric.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated(_) => "unauthenticated",
            ApiError::Forbidden { .. } => "forbidden",
            ApiError::AdminOnly => "admin_only",
            ApiError::BadRequest { .. } => "bad_request",
            ApiError::TooLarge { .. } => "too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::LimitsUnavailable => "rate_limit_unavailable",
            ApiError::Timeout => "timeout",
            ApiError::NotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::Upstream(_) => "livekit_unavailable",
            ApiError::Internal(_) => "internal",
        }
    }

    /// The request field (or header) to blame, for a 400 or 403 that names one.
    pub(crate) fn field(&self) -> Option<&str> {
        match self {
            ApiError::Forbidden { field, .. } => Some(field),
            ApiError::BadRequest { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } | ApiError::AdminOnly => StatusCode::FORBIDDEN,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::LimitsUnavailable | ApiError::Timeout => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Upstream(roomkey_rooms::RoomError::Timeout { .. }) => {
                StatusCode::GATEWAY_TIMEOUT
            }
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = self.code();
        let (message, field) = match &self {
            ApiError::Unauthenticated(e) => (e.to_string(), None),
            ApiError::Forbidden { field, reason } => {
                (format!("{field}: {reason}"), Some(field.clone()))
            }
            ApiError::AdminOnly => ("this endpoint needs an admin caller".to_owned(), None),
            ApiError::BadRequest { field, message } => (message.clone(), field.clone()),
            ApiError::TooLarge { limit } => {
                (format!("the request body is over {limit} bytes"), None)
            }
            ApiError::UnsupportedMediaType => (
                "send the request as Content-Type: application/json".to_owned(),
                None,
            ),
            ApiError::RateLimited { retry_after, scope } => (
                format!("too many requests from this {scope}; retry in {retry_after} s"),
                None,
            ),
            ApiError::LimitsUnavailable => (
                "the rate limits cannot be checked right now; try again in a second".to_owned(),
                None,
            ),
            ApiError::Timeout => (
                "the request took too long to answer; try again".to_owned(),
                None,
            ),
            ApiError::NotFound => ("no such endpoint".to_owned(), None),
            ApiError::MethodNotAllowed => {
                ("this endpoint does not take this method".to_owned(), None)
            }
            ApiError::Upstream(e) => {
                tracing::warn!(error = %e, "RoomService call failed");
                (
                    "the LiveKit server could not create the room; try again later".to_owned(),
                    None,
                )
            }
            ApiError::Internal(detail) => {
                tracing::error!(detail, "internal error");
                ("internal error".to_owned(), None)
            }
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code,
                field: field.as_deref(),
                message: &message,
            },
        };
        let mut response = (status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        api_answer_headers(headers);
        match self {
            ApiError::RateLimited { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
            }
            ApiError::LimitsUnavailable => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// What every answer of the token endpoints carries, refusals included: it is not to be
/// cached (a token, or a refusal that may not hold a second later), and its content type is
/// meant (error bodies echo parts of the request, and a browser must not read them as
/// anything else).
pub(crate) fn api_answer_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

/// A JSON answer of the API: its body, `Content-Type: application/json`, and the
/// [`api_answer_headers`].
pub(crate) fn json_answer(status: StatusCode, body: Vec<u8>) -> Response {
    let mut response = Response::new(axum::body::Body::from(body));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    api_answer_headers(headers);
    response
}

/// The JSON of an error answer: `{"error":{"code","field"?,"message"}}` (a struct rather than a
/// `serde_json::Value`, so that a refusal flood does not build a map per answer).
#[derive(serde::Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(serde::Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    message: &'a str,
}
