//! `roomkey serve`: a production LiveKit token endpoint.
//!
//! It serves LiveKit's standard token endpoint (`POST /api/token`) and the "Generate Access
//! Token" action over HTTP (`POST /api/v1/generate-access-token`), with caller authentication
//! (static API keys, or session JWTs checked against an OIDC issuer's JWKS), a per-profile policy
//! that decides identities, rooms, grants and TTLs, rate limits, CORS, Prometheus metrics and a
//! web page.
#![deny(missing_docs)]

mod app;
pub mod audit;
pub mod auth;
pub mod config;
mod error;
mod fields;
mod json;
pub mod logging;
mod metrics;
pub mod policy;

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::sync::Arc;

pub use app::{App, SUMMARY, router};
pub use config::{Config, ConfigError, EnvOverrides};
pub use error::ApiError;
pub use logging::{LogGuard, init_logging};

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting connections
/// and finishes the requests in flight, waiting at most the request timeout plus
/// [`SHUTDOWN_GRACE`] for them.
///
/// # Errors
/// An I/O error from the listener.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let grace = app.config().request_timeout + SHUTDOWN_GRACE;
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    let shutdown = async move {
        shutdown.await;
        let _ = signalled_tx.send(());
    };
    let service = router(app).into_make_service_with_connect_info::<SocketAddr>();
    let server = axum::serve(listener, service)
        .with_graceful_shutdown(shutdown)
        .into_future();
    // A connection that never finishes its request (or an idle one the client keeps open)
    // must not hold the process forever.
    let deadline = async move {
        if signalled_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server => result,
        () = deadline => {
            tracing::warn!("requests still in flight after {} s; closing them", grace.as_secs());
            Ok(())
        }
    }
}

/// Time allowed, beyond the request timeout, for requests in flight at shutdown.
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Completes on Ctrl-C (SIGINT), SIGTERM or SIGHUP. SIGHUP is a stop too: a server started
/// from a terminal gets it when the terminal closes, and its default action would kill the
/// process without finishing the requests in flight.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let other = async {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(mut term), Ok(mut hup)) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = hup.recv() => {},
                }
            }
            _ => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let other = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = other => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
