//! The accept loop and each connection's life: how long a client may take to send a request
//! head, how long a connection may sit idle, how many may be open at once, and whether HTTP/2
//! is spoken.
//!
//! A token endpoint is public, and most of what can be done to it without credentials is done
//! with connections: opening many and sending nothing, or a header line every few seconds, so
//! that each holds a socket, a file handle and a buffer. Every connection here has a deadline
//! for its request head and for its idle time, and at the connection limit the oldest
//! connection with no request in flight makes room for the new one, so that a client with a
//! real request still gets in while a flood of silent sockets churns.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

use crate::metrics::ConnectionMetrics;

/// What a connection may do; the `[connections]` table of the configuration.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Time for a client to send a complete request head, from when the server starts to
    /// wait for it (hyper starts it again while a keep-alive connection waits for its next
    /// request, so it bounds HTTP/1 idle time too).
    pub header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// Connections open at once.
    pub max_connections: usize,
    /// Largest request head (start line and headers), bytes.
    pub max_header_bytes: usize,
    /// HTTP/2 (h2c, prior knowledge) besides HTTP/1.1, with at most this many streams per
    /// connection; `None` speaks HTTP/1.1 only.
    pub http2_max_streams: Option<u32>,
}

/// How long a connection told to close (idle, shutting down) may take to finish the answer it
/// is writing before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);
/// At most one "connection limit reached" warning per this long.
const LIMIT_WARNING_EVERY: Duration = Duration::from_secs(10);

/// Why a connection is told to close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CloseReason {
    /// Made room for a new connection at the limit.
    Evicted = 1,
    /// No request in flight for the idle timeout.
    Idle = 2,
    /// The server is stopping.
    Shutdown = 3,
}

/// One open connection, as the accept loop sees it.
struct Tracked {
    /// Requests being answered on it now.
    in_flight: AtomicUsize,
    /// Milliseconds since the loop started when a request last began or ended.
    last_active_ms: AtomicU64,
    /// 0 while open; otherwise the [`CloseReason`] it was told to close for, set once.
    close_reason: AtomicU8,
    /// Wakes the connection's task when `close_reason` is set.
    close: Notify,
}

impl Tracked {
    fn new(now_ms: u64) -> Self {
        Tracked {
            in_flight: AtomicUsize::new(0),
            last_active_ms: AtomicU64::new(now_ms),
            close_reason: AtomicU8::new(0),
            close: Notify::new(),
        }
    }

    /// Tells the connection to close, unless it has been told already.
    fn close(&self, reason: CloseReason) {
        if self
            .close_reason
            .compare_exchange(0, reason as u8, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            // A stored permit: the connection sees it even if it is not waiting yet.
            self.close.notify_one();
        }
    }

    fn close_reason(&self) -> Option<CloseReason> {
        match self.close_reason.load(Ordering::Acquire) {
            1 => Some(CloseReason::Evicted),
            2 => Some(CloseReason::Idle),
            3 => Some(CloseReason::Shutdown),
            _ => None,
        }
    }

    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
            && self.close_reason.load(Ordering::Acquire) == 0
    }
}

/// The open connections, oldest first (ids grow).
#[derive(Default)]
struct Open {
    by_id: Mutex<BTreeMap<u64, Arc<Tracked>>>,
}

impl Open {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Arc<Tracked>>> {
        self.by_id.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Tells the oldest connection that has no request in flight (and is not closing
    /// already) to close, and forgets it. `false` when every open connection is answering a
    /// request.
    fn evict_oldest_idle(&self) -> bool {
        let mut open = self.lock();
        let victim = open.iter().find(|(_, c)| c.is_idle()).map(|(id, _)| *id);
        match victim.and_then(|id| open.remove(&id)) {
            Some(c) => {
                c.close(CloseReason::Evicted);
                true
            }
            None => false,
        }
    }

    /// Tells every connection with no request in flight since `idle_before_ms` to close.
    fn close_idle(&self, idle_before_ms: u64) {
        for c in self.lock().values() {
            if c.is_idle() && c.last_active_ms.load(Ordering::Acquire) <= idle_before_ms {
                c.close(CloseReason::Idle);
            }
        }
    }

    fn close_all(&self) {
        for c in self.lock().values() {
            c.close(CloseReason::Shutdown);
        }
    }
}

/// How often the accept loop looks for idle connections: a connection closes between one
/// idle timeout and this much later.
fn idle_sweep_every(idle_timeout: Duration) -> Duration {
    (idle_timeout / 4).clamp(Duration::from_millis(250), Duration::from_secs(5))
}

/// Serves `router` on `listener` until `shutdown` completes, then lets the connections finish
/// the requests they are answering and returns once they have closed.
pub(crate) async fn serve(
    router: Router,
    listener: TcpListener,
    limits: ConnectionLimits,
    metrics: ConnectionMetrics,
    shutdown: impl Future<Output = ()>,
) {
    let started = Instant::now();
    let open = Arc::new(Open::default());
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // The read buffer bounds the request head (a longer one is answered 431).
        .max_buf_size(limits.max_header_bytes);
    let builder = match limits.http2_max_streams {
        Some(streams) => {
            builder
                .http2()
                .timer(TokioTimer::new())
                .max_concurrent_streams(streams)
                .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
                // A peer that stops answering pings is gone.
                .keep_alive_interval(Some(limits.idle_timeout))
                .keep_alive_timeout(Duration::from_secs(10));
            builder
        }
        None => builder.http1_only(),
    };
    let builder = Arc::new(builder);
    // Every connection's task holds a sender; once the last has ended, `recv` sees none left.
    let (alive, mut all_ended) = mpsc::channel::<()>(1);
    // Idle connections are found here, by one sweep for all of them, rather than by a timer
    // in each connection's task: that task is polled on every read and write of every
    // request, and each extra thing it waits on is polled again on each of those wakes.
    let mut sweep = tokio::time::interval(idle_sweep_every(limits.idle_timeout));
    sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let idle_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut next_id = 0u64;
    let mut last_warning: Option<Instant> = None;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            _ = sweep.tick() => {
                // Until the loop has run for one idle timeout, no connection can be idle.
                if let Some(idle_before) = millis_since(started).checked_sub(idle_ms) {
                    open.close_idle(idle_before);
                }
                continue;
            }
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file handles, most likely: wait for some to be released rather
                    // than spin.
                    if last_warning.is_none_or(|t| t.elapsed() >= LIMIT_WARNING_EVERY) {
                        tracing::warn!(error = %e, "cannot accept a connection");
                        last_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        if open.lock().len() >= limits.max_connections {
            let evicted = open.evict_oldest_idle();
            if last_warning.is_none_or(|t| t.elapsed() >= LIMIT_WARNING_EVERY) {
                tracing::warn!(
                    max_connections = limits.max_connections,
                    "connection limit reached: {}",
                    if evicted {
                        "closing the oldest idle connection for each new one"
                    } else {
                        "every connection is answering a request; new connections are closed"
                    }
                );
                last_warning = Some(Instant::now());
            }
            if evicted {
                metrics.closed("evicted");
            } else {
                metrics.closed("refused_at_limit");
                drop(stream);
                continue;
            }
        }
        let tracked = Arc::new(Tracked::new(millis_since(started)));
        let id = next_id;
        next_id += 1;
        open.lock().insert(id, Arc::clone(&tracked));
        metrics.opened();
        let connection = Connection {
            router: router.clone(),
            builder: Arc::clone(&builder),
            tracked,
            started,
            metrics: metrics.clone(),
        };
        let (open, alive) = (Arc::clone(&open), alive.clone());
        tokio::spawn(async move {
            connection.run(stream, peer).await;
            open.lock().remove(&id);
            drop(alive);
        });
    }
    drop(listener);
    open.close_all();
    drop(alive);
    let _ = all_ended.recv().await;
}

fn millis_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

struct Connection {
    router: Router,
    builder: Arc<auto::Builder<TokioExecutor>>,
    tracked: Arc<Tracked>,
    started: Instant,
    metrics: ConnectionMetrics,
}

impl Connection {
    async fn run(self, stream: TcpStream, peer: SocketAddr) {
        let _ = stream.set_nodelay(true);
        let Connection {
            router,
            builder,
            tracked,
            started,
            metrics,
        } = self;
        let counting = Arc::clone(&tracked);
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let request = request.map(axum::body::Body::new);
            let busy = InFlight::start(Arc::clone(&counting), started);
            let answer = tower_service::Service::call(&mut router.clone(), request);
            async move {
                let response = answer.await;
                drop(busy);
                response
            }
        });
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let mut connection = std::pin::pin!(connection);
        let told = tokio::select! {
            // The connection first: it is what wakes this task, request after request.
            biased;
            result = connection.as_mut() => {
                if let Err(e) = result
                    && is_header_timeout(&*e)
                {
                    metrics.closed("header_timeout");
                }
                None
            }
            () = tracked.close.notified() => tracked.close_reason(),
        };
        match told {
            // An evicted connection has no request in flight: it goes at once, since a flood
            // of new connections is what evicts, and each one lingering would hold a file
            // handle.
            Some(CloseReason::Evicted) | None => {}
            Some(why @ (CloseReason::Idle | CloseReason::Shutdown)) => {
                if why == CloseReason::Idle {
                    metrics.closed("idle");
                }
                // Ends the connection after the answer in flight, if any; a request arriving
                // now is refused at the protocol level (HTTP/2 GOAWAY, HTTP/1 close), so the
                // client can retry elsewhere.
                connection.as_mut().graceful_shutdown();
                if why == CloseReason::Shutdown {
                    // The server's own deadline bounds a shutdown.
                    let _ = connection.as_mut().await;
                } else {
                    let _ = tokio::time::timeout(CLOSE_GRACE, connection.as_mut()).await;
                }
            }
        }
        metrics.ended();
    }
}

/// Counts a request in flight on a connection for as long as it lives.
struct InFlight {
    tracked: Arc<Tracked>,
    started: Instant,
}

impl InFlight {
    fn start(tracked: Arc<Tracked>, started: Instant) -> Self {
        tracked.in_flight.fetch_add(1, Ordering::AcqRel);
        tracked
            .last_active_ms
            .store(millis_since(started), Ordering::Release);
        InFlight { tracked, started }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.tracked
            .last_active_ms
            .store(millis_since(self.started), Ordering::Release);
        self.tracked.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Whether a connection ended because its client did not send a request head in time.
fn is_header_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    e.downcast_ref::<hyper::Error>()
        .is_some_and(hyper::Error::is_timeout)
}
