//! Interop tests of `roomkey-token` against the official LiveKit SDKs, at pinned versions:
//! the Node `livekit-server-sdk`, the Python `livekit-api` and the Rust `livekit-api` crate.
//!
//! This crate has no code of its own; everything is in `tests/sdk.rs`. Run
//!
//! ```text
//! bash interop/setup.sh          # npm ci + a Python venv, both under interop/
//! cargo test -p roomkey-interop
//! ```
//!
//! `ROOMKEY_REGEN_VECTORS=1 cargo test -p roomkey-interop --test sdk` (or `interop/gen-vectors.sh`)
//! rewrites `crates/roomkey-token/tests/data/sdk_vectors.json`, the SDK-minted tokens that keep
//! `cargo test -p roomkey-token` meaningful on a machine without Node or Python.
