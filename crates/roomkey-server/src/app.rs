//! The HTTP application: its state, the router and its layers, and the routes besides the token
//! endpoints (health, readiness, metrics, the web page). The token endpoints are in
//! [`crate::token_endpoint`], the page's token doctor in [`crate::inspect_endpoint`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use roomkey_rooms::RoomClient;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::audit::AuditLog;
use crate::auth::Authenticator;
use crate::config::{Config, LimitStore, MetricsAccess, OnStoreError};
use crate::denials::Denials;
use crate::error::ApiError;
use crate::fields;
use crate::metrics::Metrics;
use crate::token_endpoint;

/// The Generate Access Token action's summary line.
pub const SUMMARY: &str = "Successfully generated access token for participant to join the call.";

/// Shared state of the server.
#[derive(Debug)]
pub struct App {
    pub(crate) config: Config,
    pub(crate) auth: Authenticator,
    pub(crate) rooms: Option<RoomClient>,
    pub(crate) metrics: Metrics,
    /// The rate limits, in memory or shared through Redis.
    pub(crate) limits: crate::limits::Limits,
    pub(crate) ignored_fields: fields::IgnoredFields,
    pub(crate) denials: Denials,
    /// What `/readyz` last found (starts out ready, so the first failure is logged).
    pub(crate) ready: std::sync::atomic::AtomicBool,
    pub(crate) audit: AuditLog,
    /// One agent-dispatch check at a time per room.
    pub(crate) dispatch_checks: crate::room_locks::RoomLocks,
    /// Webhooks received, when `[webhooks]` is configured.
    pub(crate) webhooks: Option<crate::webhooks::WebhookInbox>,
}

impl App {
    /// Builds the state for a checked configuration, with audit lines logged as `tracing`
    /// events.
    ///
    /// # Errors
    /// If the RoomService client cannot be built (its URL is not a LiveKit URL).
    pub fn new(config: Config) -> Result<Arc<App>, roomkey_rooms::RoomError> {
        Self::with_audit_log(config, AuditLog::Events)
    }

    /// Builds the state for a checked configuration, with audit lines going to `audit`.
    ///
    /// # Errors
    /// As [`App::new`].
    pub fn with_audit_log(
        config: Config,
        audit: AuditLog,
    ) -> Result<Arc<App>, roomkey_rooms::RoomError> {
        let rooms = match &config.room_service_url {
            Some(url) => Some(RoomClient::new(url, config.key.clone())?),
            None => None,
        };
        let store = match &config.limit_store {
            LimitStore::Memory => None,
            LimitStore::Redis(redis) => Some(redis.on_error.as_str()),
        };
        let metrics = Metrics::new(
            &config
                .profiles
                .iter()
                .map(|p| p.name.clone())
                .collect::<Vec<_>>(),
            store,
        );
        let limits = crate::limits::Limits::new(&config, metrics.store.clone());
        Ok(Arc::new(App {
            auth: Authenticator::new(&config),
            rooms,
            ignored_fields: fields::IgnoredFields::new(metrics.ignored_fields.clone()),
            denials: Denials::new(),
            ready: std::sync::atomic::AtomicBool::new(true),
            metrics,
            limits,
            audit,
            dispatch_checks: crate::room_locks::RoomLocks::default(),
            webhooks: config
                .webhooks
                .clone()
                .map(crate::webhooks::WebhookInbox::new),
            config,
        }))
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Connects to the shared rate-limit store, when one is configured, and loads its script:
    /// what [`serve`](crate::serve) does first, for a caller that wants to know the server can
    /// start before it says so (`roomkey serve` prints "listening" only after this).
    ///
    /// # Errors
    /// Why the store cannot be used (unreachable, a wrong or missing password), never the
    /// password.
    pub async fn connect_stores(&self) -> std::io::Result<()> {
        self.limits.connect().await.map_err(std::io::Error::other)
    }
}

/// The router: every route and layer. Tests drive it without a socket.
///
/// The token endpoints time out on their own and catch their own panics (so both are counted
/// in the metrics, and no layer wraps the hot path); the other routes get a router-level
/// timeout and panic catcher. CORS is layered only when origins are configured, so servers
/// without browser callers send no CORS headers at all.
pub fn router(app: Arc<App>) -> Router {
    let timeout = app.config.request_timeout;
    let cors_origins = app.config.cors_origins.clone();
    let cors_loopback = app.config.cors_loopback;
    let others = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_endpoint))
        .route("/", get(index))
        .route("/api/inspect", post(crate::inspect_endpoint::inspect_token));
    // The webhook path authenticates each request by its own token, not a caller's key.
    let others = match app.webhooks.as_ref().map(|w| w.path().to_owned()) {
        Some(path) => others.route(
            &path,
            post(crate::webhooks::receive).layer(axum::extract::DefaultBodyLimit::max(
                roomkey_token::webhook::MAX_WEBHOOK_BODY,
            )),
        ),
        None => others,
    };
    let others = others
        .route_layer(axum::middleware::from_fn_with_state(
            timeout,
            backstop_timeout,
        ))
        .route_layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            ApiError::Internal("a handler panicked".into()).into_response()
        }))
        .route_layer(nosniff());
    let router = Router::new()
        .route("/api/token", post(token_endpoint::standard))
        .route(
            "/api/v1/generate-access-token",
            post(token_endpoint::action),
        )
        .merge(others)
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed });
    // Outermost, so that every answer (errors and timeouts included) carries CORS headers.
    let router = if cors_origins.is_empty() && !cors_loopback {
        router
    } else {
        router.layer(cors(&cors_origins, cors_loopback))
    };
    router.with_state(app)
}

/// The router of the metrics listener (`[metrics] listen`): `/metrics` and nothing else.
pub(crate) fn metrics_router(app: Arc<App>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_body))
        .fallback(|| async { ApiError::NotFound })
        .layer(nosniff())
        .with_state(app)
}

/// Every answer says its content type is meant: error bodies echo parts of the request, and
/// a browser must not read them as anything else. The token endpoints' answers and every
/// [`ApiError`] set it themselves, so that no layer wraps the token routes (the hot
/// path); this layer is for the other routes.
fn nosniff() -> tower_http::set_header::SetResponseHeaderLayer<HeaderValue> {
    tower_http::set_header::SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    )
}

/// Extra time the router-wide timeout allows over the request timeout.
const BACKSTOP: Duration = Duration::from_secs(1);

async fn backstop_timeout(
    State(timeout): State<Duration>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(timeout + BACKSTOP, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

fn cors(origins: &[String], loopback: bool) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o).ok())
        .collect();
    let allow = if loopback {
        AllowOrigin::predicate(move |origin, _| {
            origins.contains(origin) || is_loopback_origin(origin.as_bytes())
        })
    } else {
        AllowOrigin::list(origins)
    };
    CorsLayer::new()
        .allow_origin(allow)
        .allow_methods([Method::POST, Method::GET, Method::OPTIONS])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION])
        // Not CORS-safelisted: without this a browser client cannot read when to retry.
        .expose_headers([header::RETRY_AFTER, header::WWW_AUTHENTICATE])
        .allow_credentials(true)
        .max_age(Duration::from_secs(600))
}

/// Whether a browser origin is a page served from this machine over plain HTTP:
/// `http://localhost` (or a name under `.localhost`), `http://127.0.0.1` (any 127/8 address)
/// or `http://[::1]`, on any port.
fn is_loopback_origin(origin: &[u8]) -> bool {
    let Ok(origin) = std::str::from_utf8(origin) else {
        return false;
    };
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    url.scheme() == "http" && url.path() == "/" && roomkey_rooms::is_local_host(&url)
}

async fn readyz(State(app): State<Arc<App>>) -> Response {
    // The shared rate-limit store. While it does not answer, "allow" serves on with each
    // replica's own limits, so the replica is ready (taking every replica out of the balancer
    // for a Redis outage would stop them all); "deny" refuses every token request, so it is not.
    let store = app.limits.store_status().await;
    let store_line = match store {
        None => "",
        Some(s) if s.answering => "rate-limit store: answering, the limits are shared\n",
        Some(s) if s.on_error == OnStoreError::Allow => {
            "rate-limit store: not answering; each replica's own limits apply until it does (on_store_error = \"allow\")\n"
        }
        Some(_) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the shared rate-limit store is not answering, and on_store_error = \"deny\" refuses token requests until it does (the server log says why)\n",
            )
                .into_response();
        }
    };
    // LiveKit matters only when a profile creates rooms first.
    let client = app
        .rooms
        .as_ref()
        .filter(|_| app.config.profiles.iter().any(|p| p.create_room));
    let Some(client) = client else {
        return (StatusCode::OK, format!("ready\n{store_line}")).into_response();
    };
    match client
        .list_rooms(&["roomkey-readyz-probe".to_owned()])
        .await
    {
        Ok(_) => {
            if !app.ready.swap(true, std::sync::atomic::Ordering::Relaxed) {
                tracing::info!("/readyz: LiveKit RoomService is reachable");
            }
            (StatusCode::OK, format!("ready\n{store_line}")).into_response()
        }
        // The reason (an internal URL, the server's words) goes to the log, not to whoever
        // asks: /readyz is unauthenticated. Logged when readiness changes, not per probe, so
        // that probing a server whose LiveKit is down cannot flood its log.
        Err(e) => {
            if app.ready.swap(false, std::sync::atomic::Ordering::Relaxed) {
                tracing::warn!(error = %e, "/readyz: LiveKit RoomService is not reachable");
            }
            (
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "not ready: LiveKit RoomService is not reachable (the server log says why)\n{store_line}"
                ),
            )
                .into_response()
        }
    }
}

/// `/metrics` on the main listener, as `[metrics]` says.
async fn metrics_endpoint(State(app): State<Arc<App>>, headers: axum::http::HeaderMap) -> Response {
    match &app.config.metrics {
        MetricsAccess::Public => metrics_body(State(app)).await,
        MetricsAccess::Key(hash) => {
            let presented = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "));
            if presented.is_some_and(|key| crate::auth::key_matches(key, hash)) {
                metrics_body(State(app)).await
            } else {
                ApiError::Unauthenticated(crate::auth::AuthError::UnknownKey).into_response()
            }
        }
        MetricsAccess::Off | MetricsAccess::Listen(_) => ApiError::NotFound.into_response(),
    }
}

async fn metrics_body(State(app): State<Arc<App>>) -> Response {
    let mut response = app.metrics.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
    );
    response
}

async fn index(State(app): State<Arc<App>>) -> Response {
    let mut response = Html(crate::page::INDEX_HTML.as_str()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'"),
    );
    if app.config.dev {
        headers.insert("x-roomkey-dev", HeaderValue::from_static("1"));
    }
    response
}
