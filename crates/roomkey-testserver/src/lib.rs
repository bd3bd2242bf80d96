//! A local imitation of LiveKit's RoomService (Twirp over HTTP), for tests.
//!
//! It is written from the server's behaviour (the shared spec `room-service.md`, checked
//! against `livekit/livekit` and `livekit/protocol`), not from any client: the same middleware
//! order (CORS, body limit, API-key auth, mux, Twirp routing, decoding, grant checks, handler),
//! the same status codes, content types and error bodies, JSON in and out like protojson,
//! protobuf with the real field numbers, and rooms kept in memory.
//!
//! On top of that, a test API: snapshots of the rooms and of every request (with the decoded
//! token), participants seeded by hand (nobody joins over WebRTC here), attempt counters, and
//! faults on demand (latency, 5xx answers, connections dropped unanswered, a refused port).
//!
//! The server runs on its own thread with its own Tokio runtime, so it works the same under
//! any test runtime (or none), and a client under test can pause or block its own runtime.
//!
//! # What is imitated
//! - The pipeline: rs/cors (a preflight is answered before auth), one leading `//` collapsed,
//!   the 10 MiB body limit (413 `text/plain`), the API-key middleware (401 `text/plain`:
//!   `Bearer ` prefix, `access_token` query or form fallback, anonymous requests, unverified
//!   parse for `iss`, `invalid API key`, golang-jwt's texts after `invalid authorization token: `),
//!   Go's mux (percent-decoded paths, path cleaning with 301 redirects, `/` health check,
//!   `404 page not found`), then Twirp: POST only, path and method checks, Content-Type by media
//!   type, decoding (400 `malformed`), the handler's grant check (401 JSON `permissions denied`,
//!   exact `room` match, `destinationRoom` for Forward/Move) and the handler.
//! - Grants are read from the verified payload the way Go decodes them (case-insensitive keys).
//! - All 14 RoomService methods, with the server's validation order, limits, error codes and
//!   messages (including the `twirp error unknown: ` prefix of psrpc-originated errors).
//!   Methods that the real server forwards to a live room or participant answer 503
//!   `no response from servers` when there is none here.
//! - JSON like protojson both ways; protobuf with prost messages carrying the real field numbers.
//!
//! # What is deliberately not
//! - Room lifecycle: rooms never close by themselves (`empty_timeout` and `departure_timeout`
//!   are stored, not enforced); nobody joins over WebRTC (seed participants instead).
//! - Named room presets (`room_preset` on a new room is always unknown), egress (a CreateRoom
//!   with `egress` gets the real "egress not connected" 500), the `X-Twirp-Timeout-Ms` header,
//!   node limits, and the other Twirp services (Egress, Ingress, SIP, AgentDispatch: 404 here).
//! - PerformRpc never reaches a client: for a seeded participant it times out as an unanswered
//!   RPC does on the real server (408 `canceled`, after [`TestServerConfig::rpc_ack_timeout`]).
//! - Message fields RoomService only carries through are not modelled: `RoomEgress` contents,
//!   `TrackInfo.layers`/`codecs`, `ParticipantInfo.data_tracks` (written as `[]`).
//! - HTTP/2 (cleartext HTTP/1.1 only, which is what every SDK uses against `http://`).
//! - `/settings/regions` is a LiveKit Cloud endpoint; it is served only when configured
//!   ([`TestServerConfig::with_regions`]), for failover tests.
//!
//! # Example
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use roomkey_testserver::{Fault, TestServer, TestServerConfig};
//!
//! let server = TestServer::start(TestServerConfig::default()).await?; // devkey / secret
//! let url = server.url(); // http://127.0.0.1:PORT
//! server.inject_for("ListRooms", Fault::Status(503), 2);
//! // … run the client against `url` …
//! assert_eq!(server.attempts("ListRooms"), 0);
//! # Ok(()) }
//! ```
#![warn(missing_docs)]
#![warn(clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod auth;
mod config;
mod faults;
mod pjson;
pub mod proto;
mod server;
mod service;
mod twirp;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use roomkey_token::KeySet;
use tokio::sync::{oneshot, watch};

pub use auth::{AuthOutcome, RoomGrants};
pub use config::{DEV_API_KEY, DEV_API_SECRET, TestServerConfig, dev_keys};
pub use faults::Fault;
pub use proto::{ParticipantInfo, Room};
pub use server::LoggedRequest;
pub use service::{RoomState, participant};
pub use twirp::{TwirpError, status_of_code};

use server::{Shared, lock};

/// A running imitation server. Dropping it stops it (requests in flight get
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
        let shared = Arc::new(Shared::new(config));
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

    /// The same address as a `ws://` URL (the SDKs accept both).
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

    /// The configuration the server runs with.
    pub fn config(&self) -> &TestServerConfig {
        &self.shared.config
    }

    /// The keys the server accepts.
    pub fn keys(&self) -> &KeySet {
        &self.shared.config.keys
    }

    // -----------------------------------------------------------------------------------------
    // Rooms

    /// Every room, in creation order, with its participants and its CreateRoom request.
    pub fn rooms(&self) -> Vec<RoomState> {
        self.shared.service.snapshot()
    }

    /// One room by name.
    pub fn room(&self, name: &str) -> Option<RoomState> {
        self.rooms().into_iter().find(|r| r.room.name == name)
    }

    /// Adds a participant to a room, as if it had joined (replacing one with the same
    /// identity), and returns it as stored. An empty `sid` becomes `PA_…`, empty track sids
    /// `TR_…`, zero `joined_at`/`joined_at_ms` become now, and a participant with tracks is a
    /// publisher. A missing room is created with the server's defaults, as a join would.
    /// [`participant`] makes a typical one.
    pub fn seed_participant(&self, room: &str, participant: ParticipantInfo) -> ParticipantInfo {
        self.shared.service.seed_participant(room, participant)
    }

    /// Removes every room.
    pub fn clear_rooms(&self) {
        self.shared.service.clear();
    }

    // -----------------------------------------------------------------------------------------
    // Requests

    /// Every request served so far, in completion order (see [`LoggedRequest::seq`] for
    /// arrival order). Dropped connections are included, with `status: None`.
    pub fn request_log(&self) -> Vec<LoggedRequest> {
        lock(&self.shared.log).clone()
    }

    /// Empties the request log.
    pub fn clear_request_log(&self) {
        lock(&self.shared.log).clear();
    }

    /// How many requests arrived for a RoomService method (`"CreateRoom"`…), counted on
    /// arrival, whatever happened to them (faults, 401s, unknown methods included).
    pub fn attempts(&self, rpc: &str) -> usize {
        lock(&self.shared.attempts).get(rpc).copied().unwrap_or(0)
    }

    /// How many requests arrived in total, on any path.
    pub fn total_requests(&self) -> usize {
        usize::try_from(self.shared.seq.load(Ordering::SeqCst)).unwrap_or(usize::MAX)
    }

    /// Resets the per-method attempt counters.
    pub fn reset_attempts(&self) {
        lock(&self.shared.attempts).clear();
    }

    // -----------------------------------------------------------------------------------------
    // Faults

    /// Applies `fault` to the next `times` requests, on any path. Queued faults are used in
    /// order; a request takes at most one [`Fault::Delay`] and at most one other fault.
    pub fn inject(&self, fault: Fault, times: usize) {
        lock(&self.shared.faults).push(fault, times, None);
    }

    /// Applies `fault` to the next `times` requests for one RoomService method.
    pub fn inject_for(&self, rpc: &str, fault: Fault, times: usize) {
        lock(&self.shared.faults).push(fault, times, Some(rpc.to_owned()));
    }

    /// Delays the next `n` requests by `delay`, then serves them normally.
    pub fn delay_next(&self, n: usize, delay: Duration) {
        self.inject(Fault::Delay(delay), n);
    }

    /// Answers the next `n` requests with `status` and a text/plain body, like a proxy.
    pub fn fail_next(&self, n: usize, status: u16) {
        self.inject(Fault::Status(status), n);
    }

    /// Answers the next `n` requests with a Twirp JSON error (`unavailable` → 503, …).
    pub fn fail_next_twirp(&self, n: usize, code: &str, msg: &str) {
        self.inject(Fault::twirp(code, msg), n);
    }

    /// Closes the connection of the next `n` requests, after reading them, without answering.
    pub fn drop_next(&self, n: usize) {
        self.inject(Fault::Drop, n);
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

    // -----------------------------------------------------------------------------------------
    // Stopping

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
    let router = server::router(shared.clone());
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let service = server::connection_service(shared.clone(), router.clone());
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
