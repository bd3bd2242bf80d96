//! Interop of roomkey-token with the official LiveKit SDKs, at pinned exact versions:
//! Node `livekit-server-sdk` 2.19.2, Python `livekit-api` 1.2.2, the Rust `livekit-api` 0.10.0
//! crate (whose token code is the `livekit-token` 0.4.0 crate), and the Go reference itself,
//! `github.com/livekit/protocol`'s `auth` package at the version livekit-server v1.13.5 pins
//! (through `interop/go`, the `roomkey-go-ref` helper).
//!
//! Every test here needs `bash interop/setup.sh` to have run (it installs `interop/node_modules`
//! and `interop/.venv`, and builds the Go helper); without it they fail, saying so. Nothing is
//! skipped.
//!
//! The token specs are `interop/specs.json`. "Meaning" below is what the LiveKit server makes of
//! a claim (the getters of livekit/protocol auth/grants.go): for example an absent
//! `canPublishData` means "same as canPublish". Where an SDK reads or writes a different meaning
//! (Python's `VideoGrants` writes `canPublishData: true` even when canPublish is false), the
//! tests assert that difference explicitly.
//!
//! Go reads the server's meaning by construction (its getters are the server's), but Go's
//! `encoding/json` and golang-jwt read some *inputs* differently from roomkey: keys match
//! case-insensitively, the last of duplicate keys wins, `exp` may be missing or a string,
//! base64 need not be canonical, invalid UTF-8 becomes U+FFFD. roomkey refuses or ignores those;
//! `go_differences::go_reads_some_tokens_differently_from_roomkey` asserts each difference.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use livekit_api::access_token as lk;
use roomkey_interop::paths::{interop_dir, node_program, python_program, repo_root};
use roomkey_interop::process::run_json;
use roomkey_interop::specs::SpecEntry;
use roomkey_token::{AccessToken, ApiSecret, Claims, KeyPair, KeySet, Verifier, VerifyError};
use serde_json::{Map, Value, json};

const API_KEY: &str = "APIinterop";
/// 40 bytes.
const API_SECRET: &str = "interop-secret-0123456789abcdefghijklmno";
const WRONG_SECRET: &str = "wrong-secret-for-interop-0123456789abcdef";

/// Fixed times of the committed vectors: nbf 2023-11-14, exp 2100-01-01.
const VECTOR_NBF: i64 = 1_700_000_000;
const VECTOR_EXP: i64 = 4_102_444_800;
/// Where the committed vectors are verified.
const VECTOR_VERIFY_AT: i64 = 1_700_000_100;
const VECTOR_FILE: &str = "crates/roomkey-token/tests/data/sdk_vectors.json";
/// Specs whose SDK-minted tokens are committed as vectors.
const VECTOR_SPECS: &[&str] = &[
    "spec12-alice-viewer",
    "join-defaults",
    "tristate-all-false",
    "tristate-mixed",
    "sources-all-four",
    "service-room-admin-bools",
    "hidden-recorder-egress",
    "kind-agent-cloud",
    "metadata-unicode",
    "attributes-with-empty-values",
    "sip-partial-admin",
    "agent-endpoint-full",
    "agent-thread-scoped",
    "room-config-agents",
    "room-config-egress-no-credentials",
    "room-preset",
    "webhook-sha256",
    "everything",
];

const NODE_SDK: &str = "livekit-server-sdk 2.19.2";
const PYTHON_SDK: &str = "livekit-api 1.2.2";
const RUST_SDK: &str = "livekit-api 0.10.0 (livekit-token 0.4.0)";
const GO_REF: &str = "github.com/livekit/protocol v1.50.5-0.20260728075222-28e604c046c6 (auth)";

mod coverage;
mod expected;
mod go_differences;
mod json_helpers;
mod meaning;
mod roomkey_in_sdks;
mod runners;
mod rust_sdk;
mod sdk_minted;
mod sdks;
mod served;
mod specs;
mod vectors;

use expected::*;
use json_helpers::*;
use meaning::*;
use runners::*;
use rust_sdk::*;
use sdks::*;
use specs::*;
