//! `roomkey serve`: a production LiveKit token endpoint.
//!
//! It serves LiveKit's standard token endpoint (`POST /api/token`) and the "Generate Access
//! Token" action over HTTP (`POST /api/v1/generate-access-token`), with caller authentication
//! (static API keys, or session JWTs checked against an OIDC issuer's JWKS), a per-profile policy
//! that decides identities, rooms, grants and TTLs, rate limits, CORS, Prometheus metrics and a
//! web page.
#![deny(missing_docs)]

mod app;
mod audit;
mod auth;
mod config;
mod denials;
mod error;
mod fields;
mod json;
mod logging;
mod metrics;
mod page;
mod policy;
mod requests;
mod token_endpoint;

use std::future::{Future, IntoFuture as _};
use std::net::SocketAddr;
use std::sync::Arc;

// The public API: what `roomkey serve` and an embedder need. The configuration's parts (profiles,
// callers, limits) are reachable through `Config`'s fields.
pub use app::{App, SUMMARY, router};
pub use auth::{generate_caller_key, hash_key};
pub use config::{Config, ConfigError, EnvOverrides};
pub use error::ApiError;
pub use logging::{AuditLog, LogGuard, LogSink, init_logging, json_layer};

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
///
/// The handlers are installed when this is called, not when the future is first polled: a
/// signal that arrives between the "listening" line and the first poll must not kill the
/// process. Call it (inside the runtime) before announcing the server.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    let streams = {
        use tokio::signal::unix::{SignalKind, signal};
        [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ]
        .map(|kind| signal(kind).ok())
    };
    async move {
        #[cfg(unix)]
        {
            let [mut int, mut term, mut hup] = streams;
            let wait = |s: &mut Option<tokio::signal::unix::Signal>| {
                let s = s.take();
                async move {
                    match s {
                        Some(mut s) => {
                            s.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                }
            };
            tokio::select! {
                () = wait(&mut int) => {},
                () = wait(&mut term) => {},
                () = wait(&mut hup) => {},
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        tracing::info!("shutting down: finishing requests in flight");
    }
}
