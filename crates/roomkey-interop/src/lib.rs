//! Interop tests of roomkey against the real LiveKit server and the official LiveKit SDKs, at
//! pinned versions: `livekit-server` (built from its Go module), the Go reference
//! `github.com/livekit/protocol`, the Node `livekit-server-sdk`, the Python `livekit-api`,
//! realtime `livekit` and `livekit-agents`, the Rust `livekit-api` crate, and `livekit-client` in
//! Chromium.
//!
//! This library is the harness the tests share: where the tools are ([`paths`]), the network
//! namespace the real server runs in ([`netns`]), the server itself ([`livekit`]), a real agent
//! worker that records the jobs the server dispatches ([`agent_worker`]), `roomkey serve`
//! ([`serve`]), the official SDKs' webhook receivers ([`webhook_receiver`]), and bounded runs of
//! the helper programs ([`process`]). Run
//!
//! ```text
//! bash interop/setup.sh                                  # builds and installs under interop/
//! bash interop/netns cargo test -p roomkey-interop       # or: bash scripts/test
//! ```
//!
//! Nothing here skips: a missing tool fails the test that needs it, naming the command that
//! installs it.
//!
//! `ROOMKEY_REGEN_VECTORS=1 cargo test -p roomkey-interop --test sdk` (or `interop/gen-vectors.sh`)
//! rewrites `crates/roomkey-token/tests/data/sdk_vectors.json`, the SDK-minted tokens that keep
//! `cargo test -p roomkey-token` meaningful on a machine without Node or Python.

pub mod agent_worker;
pub mod cli;
pub mod livekit;
pub mod netns;
pub mod paths;
pub mod process;
pub mod serve;
pub mod specs;
pub mod webhook_receiver;

pub use agent_worker::{AgentWorker, Job};
pub use livekit::{LiveKitOptions, LiveKitServer};
pub use serve::RoomkeyServe;
pub use webhook_receiver::{ReceiverSdk, WebhookReceiver};
