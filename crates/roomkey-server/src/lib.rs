//! `roomkey serve`: a production LiveKit token endpoint.
//!
//! It serves LiveKit's standard token endpoint (`POST /api/token`) and the "Generate Access
//! Token" action over HTTP (`POST /api/v1/generate-access-token`), with caller authentication
//! (static API keys, or session JWTs checked against an OIDC issuer's JWKS), a per-profile policy
//! that decides identities, rooms, grants and TTLs, rate limits, CORS, Prometheus metrics and a
//! web page, whose token doctor (`POST /api/inspect`) explains any token pasted into it.
#![deny(missing_docs)]

mod answers;
mod app;
mod audit;
mod auth;
mod client_addr;
mod config;
mod connections;
mod denials;
mod error;
mod fields;
mod http_input;
mod inspect_endpoint;
mod json;
mod jwks;
mod limits;
mod logging;
mod metrics;
mod page;
mod policy;
mod requests;
mod room_creation;
mod room_locks;
mod token_endpoint;
mod webhooks;

use std::future::Future;
use std::sync::Arc;

// The public API: what `roomkey serve` and an embedder need. The configuration's parts (profiles,
// callers, limits) are reachable through `Config`'s fields.
pub use app::{App, SUMMARY, router};
pub use auth::{generate_caller_key, hash_key};
pub use config::{
    Config, ConfigError, ConnectionLimits, EnvOverrides, LimitStore, MetricsAccess, OnStoreError,
    RedisPassword, RedisStoreSettings, WebhookSettings,
};
pub use error::ApiError;
pub use logging::{AuditLog, LogGuard, LogSink, init_logging, json_layer};

/// Parsers the fuzz targets (`fuzz/`) and their smoke tests reach directly, because no public
/// entry point feeds them arbitrary input (a JWKS is downloaded once and cached). Not part of
/// the API: it may change in any release.
#[doc(hidden)]
pub mod fuzz_hooks {
    pub use crate::jwks::usable_keys as jwks_usable_keys;
}

/// Serves `app` on `listener` until `shutdown` completes; then stops accepting connections
/// and finishes the requests in flight, waiting at most the request timeout plus
/// [`SHUTDOWN_GRACE`] for them. With `[metrics] listen`, `/metrics` is served on that address
/// too, for as long. With `[rate_limit] store = "redis"`, it first connects to Redis and loads
/// the limits' script, and serves nothing if it cannot.
///
/// # Errors
/// The shared rate-limit store cannot be used (unreachable, a wrong password: the message
/// says which, never the password), or an I/O error binding the metrics listener.
pub async fn serve(
    app: Arc<App>,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    app.limits.connect().await.map_err(std::io::Error::other)?;
    let config = app.config();
    let grace = config.request_timeout + SHUTDOWN_GRACE;
    let limits = fit_open_file_limit(config.connections.clone());
    let metrics_listener = match &config.metrics {
        MetricsAccess::Listen(addr) => {
            let l = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {addr} for /metrics: {e}"),
                )
            })?;
            tracing::info!("metrics on http://{}/metrics", l.local_addr()?);
            Some(l)
        }
        _ => None,
    };
    let (signalled_tx, signalled_rx) = tokio::sync::watch::channel(false);
    let signalled = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let metrics = app.metrics.connections.clone();
    let main = connections::serve(
        router(Arc::clone(&app)),
        listener,
        limits.clone(),
        metrics.clone(),
        signalled(signalled_rx.clone()),
    );
    let side = async {
        if let Some(l) = metrics_listener {
            connections::serve(
                app::metrics_router(Arc::clone(&app)),
                l,
                limits,
                metrics,
                signalled(signalled_rx.clone()),
            )
            .await;
        }
    };
    let both = async { tokio::join!(main, side) };
    let mut both = std::pin::pin!(both);
    tokio::select! {
        _ = &mut both => return Ok(()),
        () = shutdown => {}
    }
    let _ = signalled_tx.send(true);
    // A connection that never finishes its request must not hold the process forever.
    if tokio::time::timeout(grace, both).await.is_err() {
        tracing::warn!(
            "requests still in flight after {} s; closing them",
            grace.as_secs()
        );
    }
    Ok(())
}

/// Lowers the connection limit to what the process's open-file limit leaves room for: a
/// connection that cannot be accepted for want of a file handle waits in the kernel's queue,
/// where the limit's eviction cannot make room for it.
fn fit_open_file_limit(mut limits: ConnectionLimits) -> ConnectionLimits {
    // Handles kept for everything else: the listeners, the log, outgoing HTTP clients.
    const RESERVED: u64 = 64;
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    if let Some(soft) = soft {
        let room = if soft > 2 * RESERVED {
            soft - RESERVED
        } else {
            soft / 2
        };
        let room = usize::try_from(room).unwrap_or(usize::MAX).max(1);
        if room < limits.max_connections {
            tracing::warn!(
                configured = limits.max_connections,
                open_file_limit = soft,
                "max_connections lowered to {room} to fit the open-file limit (raise it with ulimit -n)"
            );
            limits.max_connections = room;
        }
    }
    limits
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
