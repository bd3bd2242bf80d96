//! A minimal stand-in for LiveKit's RoomService, for the tests that need what the real server
//! cannot be made to do: answer 5xx, answer slowly, close a connection without answering, or not
//! listen at all.
//!
//! Everything else — what RoomService answers, its errors, its limits, how it reads tokens — is
//! tested against the real LiveKit server (v1.13.5) in `roomkey-interop`, which is the reference.
//! This crate stays so that `cargo test` of roomkey-rooms, roomkey-server and roomkey can still
//! exercise their retry, timeout and failure paths on a machine with only Rust.
//!
//! # What it serves
//! - `POST /twirp/livekit.RoomService/CreateRoom` and `ListRooms`, Twirp JSON only, with rooms
//!   in memory (CreateRoom returns an existing room unchanged, as the real server does). Their
//!   answers are written in the real server's form (proto field names, int64 as strings).
//! - Tokens are checked with the `jsonwebtoken` crate, independently of roomkey-token: HS256,
//!   the secret looked up by `iss`, `exp` and `nbf` checked with 60 s leeway; CreateRoom needs
//!   `video.roomCreate`, ListRooms `video.roomList` (keys read in any case, as Go reads them). Failures are answered with the real
//!   server's statuses and texts (401 `text/plain` from the auth layer, 401 JSON
//!   `permissions denied` for a missing grant). A fault test that ends in success therefore also
//!   shows that the client's token was valid and carried the grant.
//! - Any other RoomService method: 501 `unimplemented`. `GET /`: 200 `OK` (the real server's
//!   health check). Any other path: 404.
//!
//! # The faults
//! [`Fault`]s are queued for the next requests (all, or one method's), and applied before the
//! token check, as a proxy or load balancer in front of LiveKit would: a delay, an HTTP status
//! with a `text/plain` body, a Twirp JSON error, or a dropped connection (the request is read,
//! then the connection is closed unanswered). [`TestServer::set_latency`] slows every request,
//! and [`TestServer::refused_url`] is a loopback port that refuses connections. Attempt counters
//! say how often a client tried.
//!
//! The server runs on its own thread with its own Tokio runtime, so it works the same under
//! any test runtime (or none).
//!
//! # Example
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use roomkey_testserver::{Fault, TestServer, TestServerConfig};
//!
//! let server = TestServer::start(TestServerConfig::default()).await?; // devkey / secret
//! server.inject_for("ListRooms", Fault::Status(503), 2);
//! // … a client against server.url() retries twice, then gets the rooms …
//! assert_eq!(server.attempts("ListRooms"), 3);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod auth;
mod config;
mod faults;
mod service;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use serde_json::Value;
use tokio::sync::{oneshot, watch};

pub use config::{DEV_API_KEY, DEV_API_SECRET, TestServerConfig};
pub use faults::Fault;
pub use service::status_of_code;

use service::{Shared, lock};

/// A running server. Dropping it stops it (requests in flight get
/// [`TestServerConfig::shutdown_grace`] to finish).
#[derive(Debug)]
pub struct TestServer {
    shared: Arc<Shared>,
    addr: SocketAddr,
    _refused_socket: socket2::Socket,
    refused_addr: SocketAddr,
    stop: Option<watch::Sender<bool>>,
    stopped: Option<oneshot::Receiver<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server; it is accepting connections when this returns.
    ///
    /// # Errors
    /// The listen address cannot be bound, or the server thread cannot be started.
    pub async fn start(config: TestServerConfig) -> io::Result<TestServer> {
        Self::start_blocking(config)
    }

    /// [`TestServer::start`] for code without an async runtime.
    ///
    /// # Errors
    /// As [`TestServer::start`].
    pub fn start_blocking(config: TestServerConfig) -> io::Result<TestServer> {
        let listener = TcpListener::bind(config.listen)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;

        // A socket bound but never listening: connecting to it is refused, and holding it
        // keeps the port from being reused while the server lives.
        let refused = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
        refused.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())?;
        let refused_addr = refused
            .local_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::other("no local address"))?;

        let grace = config.shutdown_grace;
        let shared = Arc::new(Shared::new(&config));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (stopped_tx, stopped_rx) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name(format!("roomkey-testserver {addr}"))
            .spawn(move || {
                runtime.block_on(serve(listener, thread_shared, stop_rx, grace));
                runtime.shutdown_timeout(Duration::from_millis(100));
                let _ = stopped_tx.send(());
            })?;
        Ok(TestServer {
            shared,
            addr,
            _refused_socket: refused,
            refused_addr,
            stop: Some(stop_tx),
            stopped: Some(stopped_rx),
            thread: Some(thread),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The same address as a `ws://` URL (what LiveKit URLs usually look like).
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A loopback URL whose port refuses connections (a socket is bound there but never
    /// listens, so the port stays reserved while the server lives).
    pub fn refused_url(&self) -> String {
        format!("http://{}", self.refused_addr)
    }

    /// Every room, in creation order, as CreateRoom answered it.
    pub fn rooms(&self) -> Vec<Value> {
        lock(&self.shared.rooms).clone()
    }

    /// One room by name.
    pub fn room(&self, name: &str) -> Option<Value> {
        lock(&self.shared.rooms)
            .iter()
            .find(|r| r["name"] == name)
            .cloned()
    }

    /// How many requests arrived for a RoomService method (`"CreateRoom"`…), counted on
    /// arrival, whatever happened to them (faults and 401s included).
    pub fn attempts(&self, rpc: &str) -> usize {
        lock(&self.shared.attempts).get(rpc).copied().unwrap_or(0)
    }

    /// Resets the per-method attempt counters.
    pub fn reset_attempts(&self) {
        lock(&self.shared.attempts).clear();
    }

    /// How many requests arrived in total, on any path.
    pub fn total_requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// Applies `fault` to the next `times` requests, on any path. Queued faults are used in
    /// order; a request takes at most one [`Fault::Delay`] and at most one other fault.
    pub fn inject(&self, fault: Fault, times: usize) {
        lock(&self.shared.faults).push(fault, times, None);
    }

    /// Applies `fault` to the next `times` requests for one RoomService method.
    pub fn inject_for(&self, rpc: &str, fault: Fault, times: usize) {
        lock(&self.shared.faults).push(fault, times, Some(rpc.to_owned()));
    }

    /// Adds `latency` to every request from now on (`None` or zero: no standing latency).
    pub fn set_latency(&self, latency: Option<Duration>) {
        lock(&self.shared.faults).set_latency(latency);
    }

    /// How many queued fault applications are left.
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.faults).pending()
    }

    /// Removes every queued fault and the standing latency.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// Stops the server and waits until it has stopped.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(stopped) = self.stopped.take() {
            let _ = stopped.await;
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(true);
        }
        if let Some(thread) = self.thread.take() {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    grace: Duration,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let service = hyper::service::service_fn(move |req| {
                    let shared = shared.clone();
                    async move { service::handle(&shared, req).await }
                });
                let conn = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => {}
    }
}
