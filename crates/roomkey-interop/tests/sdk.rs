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
//! [`go_reads_some_tokens_differently_from_roomkey`] asserts each difference.

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

// ---------------------------------------------------------------------------------------------
// The SDKs
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sdk {
    Node,
    Python,
    Rust,
    Go,
}

impl Sdk {
    /// The SDKs in the committed vectors. Go's tokens are not among them: the vector file (and
    /// roomkey-token's test that reads it) predates the Go helper, and the Go tests here mint
    /// fresh tokens with protocol itself.
    const VECTOR_SDKS: [Sdk; 3] = [Sdk::Node, Sdk::Python, Sdk::Rust];

    fn name(self) -> &'static str {
        match self {
            Sdk::Node => "node",
            Sdk::Python => "python",
            Sdk::Rust => "rust",
            Sdk::Go => "go",
        }
    }

    fn package(self) -> &'static str {
        match self {
            Sdk::Node => NODE_SDK,
            Sdk::Python => PYTHON_SDK,
            Sdk::Rust => RUST_SDK,
            Sdk::Go => GO_REF,
        }
    }

    /// The JOSE header each SDK writes, base64url: Node `{"alg"}` only, Go and Python
    /// `{"alg","typ"}` (sorted keys), Rust `{"typ","alg"}` (jsonwebtoken's struct order).
    fn header(self) -> &'static str {
        match self {
            Sdk::Node => "eyJhbGciOiJIUzI1NiJ9",
            Sdk::Python | Sdk::Go => "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
            Sdk::Rust => "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9",
        }
    }

    /// Claim paths (in roomkey's JSON) that the SDK's minting API cannot express, read from the
    /// installed sources: Node's `ClaimGrants`/`VideoGrant` (dist/grants.d.ts), Python's
    /// `access_token.py` builder, Rust's `livekit_token::Claims`/`VideoGrants`, Go's
    /// `auth.ClaimGrants`/`AgentGrant` (auth/grants.go of the pinned protocol, whose AgentGrant
    /// has only `admin` and `simulationAdmin`, and which has no agentEndpoint or agentThread).
    /// Only Go writes `iat` and the `identity` copy of `sub` (auth/accesstoken.go), as roomkey
    /// does.
    fn cannot_mint(self) -> &'static [&'static str] {
        match self {
            Sdk::Node => &["kindDetails", "agent", "agentEndpoint", "agentThread"],
            Sdk::Python => &["kindDetails"],
            Sdk::Rust => &[
                "kindDetails",
                "roomPreset",
                "video.canSubscribeMetrics",
                "video.canManageAgentSession",
            ],
            Sdk::Go => &[
                "agent.databaseAdmin",
                "agent.dispatchAdmin",
                "agentEndpoint",
                "agentThread",
            ],
        }
    }

    /// Meaning keys (see [`server_meaning`]) that the SDK's verifier does not return.
    /// Node's verifier returns the raw payload, so it models everything. Go's `ClaimGrants`
    /// has no field for what it cannot mint, so `Verify` drops those claims.
    fn cannot_decode(self) -> &'static [&'static str] {
        match self {
            Sdk::Node => &[],
            // Each decodes into the same Claims type it mints from.
            Sdk::Python | Sdk::Rust => self.cannot_mint(),
            Sdk::Go => &[
                "agent.databaseAdmin",
                "agent.dispatchAdmin",
                "agentEndpoint.call",
                "agentEndpoint.agentName",
                "agentEndpoint.deployment",
                "agentThread.all",
                "agentThread.scope",
                "agentThread.threadIds",
                "agentThread.list",
                "agentThread.create",
                "agentThread.write",
                "agentThread.read",
                "agentThread.delete",
            ],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Specs
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Spec {
    id: String,
    ttl: u64,
    /// The claims as roomkey serializes them (equal to the file's, which the loader checks).
    json: Value,
}

impl Spec {
    fn claims(&self) -> Claims {
        serde_json::from_value(self.json.clone()).expect("spec claims parse")
    }

    fn has(&self, path: &str) -> bool {
        get_path(&self.json, path).is_some()
    }

    fn with_ttl(&self, ttl: u64) -> Spec {
        Spec {
            ttl,
            ..self.clone()
        }
    }

    /// The spec as the mint scripts take it.
    fn to_input(&self) -> Value {
        json!({"id": self.id, "ttl": self.ttl, "claims": self.json})
    }

    /// The token roomkey mints for this spec.
    fn roomkey_token(&self, now: i64, key: &KeyPair) -> String {
        self.roomkey_builder()
            .sign_at(key, now)
            .unwrap_or_else(|e| panic!("roomkey cannot mint spec {}: {e}", self.id))
    }

    fn roomkey_builder(&self) -> AccessToken {
        AccessToken::from_claims(self.claims()).with_ttl(Duration::from_secs(self.ttl))
    }
}

/// The specs of `interop/specs.json`, each checked to be exactly what roomkey writes back.
fn load_specs() -> Vec<Spec> {
    roomkey_interop::specs::load()
        .into_iter()
        .map(|SpecEntry { id, ttl, claims }| {
            for reserved in ["iss", "exp", "nbf", "iat", "identity"] {
                assert!(
                    claims.get(reserved).is_none(),
                    "spec {id}: {reserved} is set at signing time"
                );
            }
            let parsed: Claims = serde_json::from_value(claims.clone())
                .unwrap_or_else(|e| panic!("spec {id}: not valid claims: {e}"));
            let json = serde_json::to_value(&parsed).expect("claims serialize");
            // roomkey ignores unknown claims on read, so a misspelled spec field would silently
            // vanish: insist that the spec is exactly what roomkey writes back.
            assert_eq!(
                json, claims,
                "spec {id}: claims do not round-trip through roomkey's Claims (misspelled field, or a default value written out?)"
            );
            Spec { id, ttl, json }
        })
        .collect()
}

fn key() -> KeyPair {
    KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).expect("key pair")
}

fn verifier() -> Verifier {
    Verifier::new(KeySet::single(key()))
}

fn now_unix() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("time fits i64")
}

// ---------------------------------------------------------------------------------------------
// JSON helpers
// ---------------------------------------------------------------------------------------------

fn get_path<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(v, |v, part| v.get(part))
}

fn remove_path(v: &mut Value, path: &str) -> bool {
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (parent, last),
        None => ("", path),
    };
    let target = if parent.is_empty() {
        Some(v)
    } else {
        parent.split('.').try_fold(v, |v, part| v.get_mut(part))
    };
    target
        .and_then(Value::as_object_mut)
        .is_some_and(|o| o.remove(last).is_some())
}

/// Decodes a token's payload without checking it (for headers and raw-payload assertions).
fn payload_json(token: &str) -> Value {
    let part = token.split('.').nth(1).expect("a JWT has a payload");
    let bytes = base64url_decode(part);
    serde_json::from_slice(&bytes).expect("payload is JSON")
}

fn base64url_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET
            .iter()
            .position(|a| *a == c)
            .expect("base64url character");
        acc = (acc << 6) | u32::try_from(v).expect("small");
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).expect("byte"));
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Running the Node and Python scripts and the Go helper
// ---------------------------------------------------------------------------------------------

/// Longest one helper run may take (all the specs at once take a few seconds).
const HELPER_WITHIN: Duration = Duration::from_secs(300);

/// A helper program and its arguments: `node interop/node/mint.mjs`,
/// `python interop/python/verify.py`, `roomkey-go-ref decode`, ….
struct Helper {
    program: PathBuf,
    args: Vec<OsString>,
}

impl Helper {
    /// The helper that does `action` (`mint`, `verify`; Go also `decode`) for `sdk`. A missing
    /// SDK or Go helper panics here with the setup hint.
    fn new(sdk: Sdk, action: &str) -> Helper {
        let script =
            |dir: &str, ext: &str| vec![interop_dir().join(format!("{dir}/{action}.{ext}")).into()];
        match sdk {
            Sdk::Node => Helper {
                program: node_program(),
                args: script("node", "mjs"),
            },
            Sdk::Python => Helper {
                program: python_program(),
                args: script("python", "py"),
            },
            // Panics with `bash interop/setup.sh` as the fix when the helper is not built.
            Sdk::Go => Helper {
                program: roomkey_interop::paths::go_helper_binary(),
                args: vec![action.into()],
            },
            Sdk::Rust => unreachable!("the Rust SDK runs in-process"),
        }
    }

    fn describe(&self) -> String {
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
        format!("{} {}", self.program.display(), args.join(" "))
    }

    fn run(&self, input: &Value) -> Value {
        self.run_text(serde_json::to_string(input).expect("input serializes"))
    }

    /// Like [`Helper::run`], with the input as text (to control its key order).
    fn run_text(&self, input: String) -> Value {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).current_dir(interop_dir());
        run_json(cmd, input.as_bytes(), HELPER_WITHIN, &self.describe())
    }
}

/// One token from a mint helper, for the spec at the same place (the order is checked).
#[derive(Debug)]
struct Minted {
    token: String,
    unsupported: Vec<String>,
}

/// Runs `sdk`'s helper for `action` on `input`, with the interop key added, in one process, and
/// checks that it answered once for each entry of the list `input[entries]`, in order (by `id`).
fn run_per_entry(sdk: Sdk, action: &str, mut input: Value, entries: &str) -> Vec<Value> {
    input["apiKey"] = json!(API_KEY);
    input["apiSecret"] = json!(API_SECRET);
    let out = Helper::new(sdk, action).run(&input);
    let out = out.as_array().expect("helper output is an array");
    let sent = input[entries].as_array().expect("a list of entries");
    let what = format!("{} {action}", sdk.name());
    assert_eq!(out.len(), sent.len(), "{what}: one answer per entry");
    for (answer, entry) in out.iter().zip(sent) {
        assert_eq!(answer["id"], entry["id"], "{what}: order kept");
    }
    out.clone()
}

/// Mints every spec with the Node or Python SDK or Go, in one process; `now` pins its clock.
fn script_mint(sdk: Sdk, specs: &[Spec], now: Option<i64>) -> Vec<Minted> {
    let specs: Vec<Value> = specs.iter().map(Spec::to_input).collect();
    run_per_entry(sdk, "mint", json!({"now": now, "specs": specs}), "specs")
        .iter()
        .map(|m| Minted {
            token: m["token"].as_str().expect("token").to_owned(),
            unsupported: m["unsupported"]
                .as_array()
                .expect("unsupported list")
                .iter()
                .map(|p| p.as_str().expect("path").to_owned())
                .collect(),
        })
        .collect()
}

/// One helper's answer on one token: what it decoded, or its error message.
type Answer = Result<Value, String>;

/// Runs a helper's `verify` (or Go's `decode`) over named tokens, in one process. Returns, per
/// token, the whole success record, or the error message.
fn script_records<S: AsRef<str>>(sdk: Sdk, action: &str, tokens: &[(S, String)]) -> Vec<Answer> {
    let tokens: Vec<Value> = tokens
        .iter()
        .map(|(id, token)| json!({"id": id.as_ref(), "token": token}))
        .collect();
    run_per_entry(sdk, action, json!({ "tokens": tokens }), "tokens")
        .into_iter()
        .map(|r| {
            if r["ok"] == true {
                Ok(r)
            } else {
                Err(r["error"].as_str().unwrap_or("(no message)").to_owned())
            }
        })
        .collect()
}

/// Verifies tokens with the Node or Python SDK's TokenVerifier or Go's `ParseAPIToken` +
/// `Verify`, in one process. Returns, per token, the SDK's claims or its error message (for Go:
/// the `ClaimGrants`, as protocol's JSON).
fn script_verify<S: AsRef<str>>(sdk: Sdk, tokens: &[(S, String)]) -> Vec<Answer> {
    script_records(sdk, "verify", tokens)
        .into_iter()
        .map(|r| r.map(|r| r["claims"].clone()))
        .collect()
}

/// What the Node, Python and Go verifiers make of the same named tokens, each run once over all
/// of them: Node's and Python's decoded claims, Go's whole verify record (its `ClaimGrants`,
/// the registered claims and the effective permissions, see [`go_meaning`]), or each one's
/// error message; one entry per token, in order.
struct ScriptVerdicts {
    node: Vec<Answer>,
    python: Vec<Answer>,
    go: Vec<Answer>,
}

impl ScriptVerdicts {
    fn of<S: AsRef<str>>(tokens: &[(S, String)]) -> ScriptVerdicts {
        ScriptVerdicts {
            node: script_verify(Sdk::Node, tokens),
            python: script_verify(Sdk::Python, tokens),
            go: script_records(Sdk::Go, "verify", tokens),
        }
    }

    /// Per token: Node's, Python's and Go's verdicts.
    fn per_token(self) -> impl Iterator<Item = (Answer, Answer, Answer)> {
        self.node
            .into_iter()
            .zip(self.python)
            .zip(self.go)
            .map(|((node, python), go)| (node, python, go))
    }
}

// ---------------------------------------------------------------------------------------------
// The Rust SDK, in-process
// ---------------------------------------------------------------------------------------------

/// Deserializes a grant object into the SDK's type and checks that nothing was dropped on the
/// way (the SDK's serde ignores unknown keys): its own serialization must give the object back.
fn sdk_grant<T: serde::de::DeserializeOwned + serde::Serialize>(
    spec: &str,
    key: &str,
    v: &Value,
) -> T {
    let grant: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("spec {spec}: {key} does not fit the Rust SDK's type: {e}"));
    assert_eq!(
        &serde_json::to_value(&grant).expect("grant serializes"),
        v,
        "spec {spec}: the Rust SDK's {key} type cannot hold the whole grant"
    );
    grant
}

/// Mints the spec with the Rust SDK's `AccessToken` builder (real clock, as it only has).
/// Returns the token and the claim paths it could not express.
fn rust_sdk_mint(spec: &Spec) -> (String, Vec<String>) {
    let id = spec.id.as_str();
    let mut unsupported = Vec::new();
    let mut token =
        lk::AccessToken::with_api_key(API_KEY, API_SECRET).with_ttl(Duration::from_secs(spec.ttl));
    let str_of = |v: &Value| v.as_str().expect("a string claim").to_owned();
    for (k, v) in spec.json.as_object().expect("claims object") {
        token = match k.as_str() {
            "sub" => token.with_identity(&str_of(v)),
            "name" => token.with_name(&str_of(v)),
            "kind" => token.with_kind(&str_of(v)),
            "metadata" => token.with_metadata(&str_of(v)),
            "sha256" => token.with_sha256(&str_of(v)),
            "attributes" => token.with_attributes(
                v.as_object()
                    .expect("attributes object")
                    .iter()
                    .map(|(k, v)| (k.clone(), str_of(v))),
            ),
            "video" => {
                let mut v = v.clone();
                for field in ["canSubscribeMetrics", "canManageAgentSession"] {
                    if remove_path(&mut v, field) {
                        unsupported.push(format!("video.{field}"));
                    }
                }
                token.with_grants(sdk_grant::<lk::VideoGrants>(id, k, &v))
            }
            "sip" => token.with_sip_grants(sdk_grant::<lk::SIPGrants>(id, k, v)),
            "agent" => token.with_agent_grants(sdk_grant::<lk::AgentGrants>(id, k, v)),
            "agentEndpoint" => {
                token.with_agent_endpoint_grants(sdk_grant::<lk::AgentEndpointGrants>(id, k, v))
            }
            "agentThread" => {
                token.with_agent_thread_grants(sdk_grant::<lk::AgentThreadGrants>(id, k, v))
            }
            "inference" => token.with_inference_grants(sdk_grant::<lk::InferenceGrants>(id, k, v)),
            "observability" => {
                token.with_observability_grants(sdk_grant::<lk::ObservabilityGrants>(id, k, v))
            }
            "roomConfig" => token.with_room_config(
                serde_json::from_value::<livekit_protocol::RoomConfiguration>(v.clone())
                    .unwrap_or_else(|e| panic!("spec {id}: roomConfig: {e}")),
            ),
            "kindDetails" | "roomPreset" => {
                unsupported.push(k.clone());
                token
            }
            other => panic!("spec {id}: claim {other} is not known to this test"),
        };
    }
    let jwt = token
        .to_jwt()
        .unwrap_or_else(|e| panic!("the Rust SDK cannot mint spec {id}: {e}"));
    unsupported.sort();
    (jwt, unsupported)
}

/// The Rust SDK's token for the spec with fixed `nbf` and `exp`. The SDK has no clock
/// injection, so this mints with its builder, decodes the claims with the SDK's own
/// `Claims::from_unverified`, sets the times and signs them exactly as `AccessToken::to_jwt`
/// does (`jsonwebtoken::encode` with `Header::new(HS256)` and the secret's bytes).
fn rust_sdk_mint_at(spec: &Spec, nbf: i64, exp: i64) -> (String, Vec<String>) {
    let (live, unsupported) = rust_sdk_mint(spec);
    let mut claims = lk::Claims::from_unverified(&live).expect("the SDK reads its own token");
    let sign = |claims: &lk::Claims| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(API_SECRET.as_bytes()),
        )
        .expect("jsonwebtoken signs")
    };
    // The re-signing path is faithful: at the original times it gives the same payload.
    assert_eq!(
        payload_json(&sign(&claims)),
        payload_json(&live),
        "spec {}: the Rust SDK's claims do not round-trip",
        spec.id
    );
    claims.nbf = usize::try_from(nbf).expect("nbf fits");
    claims.exp = usize::try_from(exp).expect("exp fits");
    (sign(&claims), unsupported)
}

// ---------------------------------------------------------------------------------------------
// Meaning: claims reduced to what the server makes of them, one key per field
// ---------------------------------------------------------------------------------------------

type Meaning = BTreeMap<String, Value>;

/// A roomConfig in canonical protojson: parsed and re-written by the protocol crate (pbjson),
/// which drops default values and fixes the spelling. `null` means no configuration.
fn canonical_room_config(v: &Value) -> Value {
    if v.is_null() {
        return json!({});
    }
    let config: livekit_protocol::RoomConfiguration = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("roomConfig is not a RoomConfiguration ({e}): {v}"));
    serde_json::to_value(&config).expect("RoomConfiguration serializes")
}

/// Canonicalises `roomConfig.egress`, which roomkey keeps as opaque JSON: Node writes every
/// default value inside it (protobuf-es `toJSON`), which does not change its meaning.
fn normalize_egress(c: &mut Claims) {
    if let Some(egress) = c.room_config.as_mut().and_then(|rc| rc.egress.as_mut()) {
        let parsed: livekit_protocol::RoomEgress = serde_json::from_value(egress.clone())
            .unwrap_or_else(|e| panic!("roomConfig.egress is not a RoomEgress ({e}): {egress}"));
        *egress = serde_json::to_value(&parsed).expect("RoomEgress serializes");
    }
}

/// The server's reading of roomkey claims (livekit/protocol auth/grants.go and its getters):
/// absent grants grant nothing, absent tri-state permissions take the server's defaults.
fn server_meaning(c: &Claims) -> Meaning {
    let v = c.video.clone().unwrap_or_default();
    let sip = c.sip.clone().unwrap_or_default();
    let agent = c.agent.clone().unwrap_or_default();
    let endpoint = c.agent_endpoint.clone().unwrap_or_default();
    let thread = c.agent_thread.clone().unwrap_or_default();
    let sources: Vec<&str> = v.can_publish_sources.iter().map(|s| s.as_str()).collect();
    let config = serde_json::to_value(&c.room_config).expect("roomConfig serializes");
    let entries = [
        ("identity", json!(c.identity())),
        ("name", json!(c.name)),
        ("kind", json!(c.kind.as_ref().map_or("", |k| k.as_str()))),
        (
            "kindDetails",
            json!(
                c.kind_details
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
            ),
        ),
        ("metadata", json!(c.metadata)),
        ("attributes", json!(c.attributes)),
        ("sha256", json!(c.sha256)),
        ("roomPreset", json!(c.room_preset)),
        ("roomConfig", canonical_room_config(&config)),
        ("video.roomCreate", json!(v.room_create)),
        ("video.roomList", json!(v.room_list)),
        ("video.roomRecord", json!(v.room_record)),
        ("video.roomAdmin", json!(v.room_admin)),
        ("video.roomJoin", json!(v.room_join)),
        ("video.room", json!(v.room)),
        ("video.destinationRoom", json!(v.destination_room)),
        ("video.canPublish", json!(v.effective_can_publish())),
        ("video.canSubscribe", json!(v.effective_can_subscribe())),
        (
            "video.canPublishData",
            json!(v.effective_can_publish_data()),
        ),
        ("video.canPublishSources", json!(sources)),
        (
            "video.canUpdateOwnMetadata",
            json!(v.effective_can_update_own_metadata()),
        ),
        ("video.ingressAdmin", json!(v.ingress_admin)),
        ("video.hidden", json!(v.hidden)),
        ("video.recorder", json!(v.recorder)),
        ("video.agent", json!(v.agent)),
        (
            "video.canSubscribeMetrics",
            json!(v.effective_can_subscribe_metrics()),
        ),
        (
            "video.canManageAgentSession",
            json!(v.effective_can_manage_agent_session()),
        ),
        ("sip.admin", json!(sip.admin)),
        ("sip.call", json!(sip.call)),
        ("agent.admin", json!(agent.admin)),
        ("agent.simulationAdmin", json!(agent.simulation_admin)),
        ("agent.databaseAdmin", json!(agent.database_admin)),
        ("agent.dispatchAdmin", json!(agent.dispatch_admin)),
        (
            "inference.perform",
            json!(c.inference.as_ref().is_some_and(|g| g.perform)),
        ),
        (
            "observability.write",
            json!(c.observability.as_ref().is_some_and(|g| g.write)),
        ),
        ("agentEndpoint.call", json!(endpoint.call)),
        ("agentEndpoint.agentName", json!(endpoint.agent_name)),
        ("agentEndpoint.deployment", json!(endpoint.deployment)),
        ("agentThread.all", json!(thread.all)),
        ("agentThread.scope", json!(thread.scope)),
        ("agentThread.threadIds", json!(thread.thread_ids)),
        ("agentThread.list", json!(thread.list)),
        ("agentThread.create", json!(thread.create)),
        ("agentThread.write", json!(thread.write)),
        ("agentThread.read", json!(thread.read)),
        ("agentThread.delete", json!(thread.delete)),
    ];
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// What the server would make of the spec, restricted to what `sdk`'s verifier returns.
fn expected_decoded_meaning(sdk: Sdk, claims: &Claims) -> Meaning {
    let mut m = server_meaning(claims);
    for k in sdk.cannot_decode() {
        assert!(m.remove(*k).is_some(), "unknown meaning key {k}");
    }
    m
}

/// The Python SDK's `Claims` dataclass (as `verify.py` prints it) reduced to meaning keys, with
/// Python's own reading: `TokenVerifier.verify` fills absent video fields with the dataclass
/// defaults (`can_publish`, `can_subscribe`, `can_publish_data` = True, the rest None = not set).
fn python_meaning(d: &Value) -> Meaning {
    fn opt_bool(v: &Value, what: &str) -> Value {
        match v {
            Value::Null => json!(false),
            Value::Bool(b) => json!(b),
            other => panic!("Python {what} is {other}, not a bool or None"),
        }
    }
    fn bool_(v: &Value, what: &str) -> Value {
        assert!(v.is_boolean(), "Python {what} is {v}, not a bool");
        v.clone()
    }
    fn str_or_empty(v: &Value, what: &str) -> Value {
        match v {
            Value::Null => json!(""),
            Value::String(_) => v.clone(),
            other => panic!("Python {what} is {other}, not a str or None"),
        }
    }
    fn or_empty(v: &Value, empty: Value) -> Value {
        if v.is_null() { empty } else { v.clone() }
    }
    let video = &d["video"];
    let sip = &d["sip"];
    let agent = &d["agent"];
    let endpoint = &d["agent_endpoint"];
    let thread = &d["agent_thread"];
    let mut m = Meaning::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put("identity", str_or_empty(&d["identity"], "identity"));
    put("name", str_or_empty(&d["name"], "name"));
    put("kind", str_or_empty(&d["kind"], "kind"));
    put("metadata", str_or_empty(&d["metadata"], "metadata"));
    put("attributes", or_empty(&d["attributes"], json!({})));
    put("sha256", str_or_empty(&d["sha256"], "sha256"));
    put("roomPreset", str_or_empty(&d["room_preset"], "room_preset"));
    put("roomConfig", canonical_room_config(&d["room_config"]));
    for (key, py) in [
        ("roomCreate", "room_create"),
        ("roomList", "room_list"),
        ("roomRecord", "room_record"),
        ("roomAdmin", "room_admin"),
        ("roomJoin", "room_join"),
        ("canUpdateOwnMetadata", "can_update_own_metadata"),
        ("ingressAdmin", "ingress_admin"),
        ("hidden", "hidden"),
        ("recorder", "recorder"),
        ("agent", "agent"),
        ("canSubscribeMetrics", "can_subscribe_metrics"),
        ("canManageAgentSession", "can_manage_agent_session"),
    ] {
        put(&format!("video.{key}"), opt_bool(&video[py], py));
    }
    for (key, py) in [
        ("canPublish", "can_publish"),
        ("canSubscribe", "can_subscribe"),
        ("canPublishData", "can_publish_data"),
    ] {
        put(&format!("video.{key}"), bool_(&video[py], py));
    }
    put("video.room", str_or_empty(&video["room"], "room"));
    put(
        "video.destinationRoom",
        str_or_empty(&video["destination_room"], "destination_room"),
    );
    put(
        "video.canPublishSources",
        or_empty(&video["can_publish_sources"], json!([])),
    );
    put("sip.admin", bool_(&sip["admin"], "sip.admin"));
    put("sip.call", bool_(&sip["call"], "sip.call"));
    for (key, py) in [
        ("admin", "admin"),
        ("simulationAdmin", "simulation_admin"),
        ("databaseAdmin", "database_admin"),
        ("dispatchAdmin", "dispatch_admin"),
    ] {
        put(&format!("agent.{key}"), opt_bool(&agent[py], py));
    }
    put(
        "inference.perform",
        bool_(&d["inference"]["perform"], "inference.perform"),
    );
    put(
        "observability.write",
        bool_(&d["observability"]["write"], "observability.write"),
    );
    put(
        "agentEndpoint.call",
        opt_bool(&endpoint["call"], "agent_endpoint.call"),
    );
    put(
        "agentEndpoint.agentName",
        str_or_empty(&endpoint["agent_name"], "agent_endpoint.agent_name"),
    );
    put(
        "agentEndpoint.deployment",
        str_or_empty(&endpoint["deployment"], "agent_endpoint.deployment"),
    );
    for key in ["all", "list", "create", "write", "read", "delete"] {
        put(&format!("agentThread.{key}"), opt_bool(&thread[key], key));
    }
    put(
        "agentThread.scope",
        str_or_empty(&thread["scope"], "agent_thread.scope"),
    );
    put(
        "agentThread.threadIds",
        or_empty(&thread["thread_ids"], json!([])),
    );
    m
}

/// The Rust SDK's `Claims` reduced to meaning keys, read through its getters (which follow the
/// server's defaults since livekit-token 0.3.0).
fn rust_sdk_meaning(c: &lk::Claims) -> Meaning {
    let v = &c.video;
    let config = serde_json::to_value(&c.room_config).expect("roomConfig serializes");
    let attributes: BTreeMap<&String, &String> = c.attributes.iter().collect();
    let entries = [
        ("identity", json!(c.sub)),
        ("name", json!(c.name)),
        ("kind", json!(c.kind)),
        ("metadata", json!(c.metadata)),
        ("attributes", json!(attributes)),
        ("sha256", json!(c.sha256)),
        ("roomConfig", canonical_room_config(&config)),
        ("video.roomCreate", json!(v.room_create)),
        ("video.roomList", json!(v.room_list)),
        ("video.roomRecord", json!(v.room_record)),
        ("video.roomAdmin", json!(v.room_admin)),
        ("video.roomJoin", json!(v.room_join)),
        ("video.room", json!(v.room)),
        ("video.destinationRoom", json!(v.destination_room)),
        ("video.canPublish", json!(v.can_publish())),
        ("video.canSubscribe", json!(v.can_subscribe())),
        ("video.canPublishData", json!(v.can_publish_data())),
        ("video.canPublishSources", json!(v.can_publish_sources)),
        (
            "video.canUpdateOwnMetadata",
            json!(v.can_update_own_metadata()),
        ),
        ("video.ingressAdmin", json!(v.ingress_admin)),
        ("video.hidden", json!(v.hidden)),
        ("video.recorder", json!(v.recorder)),
        ("video.agent", json!(v.agent)),
        ("sip.admin", json!(c.sip.admin)),
        ("sip.call", json!(c.sip.call)),
        ("agent.admin", json!(c.agent.admin)),
        ("agent.simulationAdmin", json!(c.agent.simulation_admin)),
        ("agent.databaseAdmin", json!(c.agent.database_admin)),
        ("agent.dispatchAdmin", json!(c.agent.dispatch_admin)),
        ("inference.perform", json!(c.inference.perform)),
        ("observability.write", json!(c.observability.write)),
        ("agentEndpoint.call", json!(c.agent_endpoint.call)),
        (
            "agentEndpoint.agentName",
            json!(c.agent_endpoint.agent_name),
        ),
        (
            "agentEndpoint.deployment",
            json!(c.agent_endpoint.deployment),
        ),
        ("agentThread.all", json!(c.agent_thread.all)),
        ("agentThread.scope", json!(c.agent_thread.scope)),
        ("agentThread.threadIds", json!(c.agent_thread.thread_ids)),
        ("agentThread.list", json!(c.agent_thread.list)),
        ("agentThread.create", json!(c.agent_thread.create)),
        ("agentThread.write", json!(c.agent_thread.write)),
        ("agentThread.read", json!(c.agent_thread.read)),
        ("agentThread.delete", json!(c.agent_thread.delete)),
    ];
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// Go's verify record (`ClaimGrants` as protocol's JSON, and the VideoGrant getters in
/// `effective`) reduced to meaning keys. Go omits what is empty or false (`omitempty`), so an
/// absent field is its zero value; the tri-state permissions are read through protocol's own
/// getters — the server's reading, not restated here.
fn go_meaning(record: &Value) -> Meaning {
    let c = &record["claims"];
    let eff = &record["effective"];
    let str_ = |v: &Value| match v {
        Value::Null => json!(""),
        Value::String(_) => v.clone(),
        other => panic!("Go wrote {other} where a string belongs"),
    };
    let bool_ = |v: &Value| match v {
        Value::Null => json!(false),
        Value::Bool(_) => v.clone(),
        other => panic!("Go wrote {other} where a bool belongs"),
    };
    let or = |v: &Value, empty: Value| if v.is_null() { empty } else { v.clone() };
    let mut m = Meaning::new();
    for key in [
        "identity",
        "name",
        "kind",
        "metadata",
        "sha256",
        "roomPreset",
    ] {
        m.insert(key.into(), str_(&c[key]));
    }
    m.insert("kindDetails".into(), or(&c["kindDetails"], json!([])));
    m.insert("attributes".into(), or(&c["attributes"], json!({})));
    m.insert("roomConfig".into(), canonical_room_config(&c["roomConfig"]));
    let video = &c["video"];
    for key in [
        "roomCreate",
        "roomList",
        "roomRecord",
        "roomAdmin",
        "roomJoin",
        "ingressAdmin",
        "hidden",
        "recorder",
        "agent",
    ] {
        m.insert(format!("video.{key}"), bool_(&video[key]));
    }
    for key in ["room", "destinationRoom"] {
        m.insert(format!("video.{key}"), str_(&video[key]));
    }
    m.insert(
        "video.canPublishSources".into(),
        or(&video["canPublishSources"], json!([])),
    );
    for key in [
        "canPublish",
        "canSubscribe",
        "canPublishData",
        "canUpdateOwnMetadata",
        "canSubscribeMetrics",
        "canManageAgentSession",
    ] {
        assert!(
            eff[key].is_boolean(),
            "Go's effective {key} is {}",
            eff[key]
        );
        m.insert(format!("video.{key}"), eff[key].clone());
    }
    for path in [
        "sip.admin",
        "sip.call",
        "agent.admin",
        "agent.simulationAdmin",
        "inference.perform",
        "observability.write",
    ] {
        m.insert(
            path.into(),
            bool_(get_path(c, path).unwrap_or(&Value::Null)),
        );
    }
    m
}

/// A payload (or Go's `ClaimGrants` JSON) with `roomConfig` in canonical protojson, so that two
/// JSON texts of the same configuration compare equal.
fn with_canonical_room_config(mut v: Value) -> Value {
    if let Some(config) = v.get("roomConfig").cloned() {
        v["roomConfig"] = canonical_room_config(&config);
    }
    v
}

/// Differences between two meanings, one line each.
fn meaning_diff(expected: &Meaning, actual: &Meaning) -> Vec<String> {
    let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    keys.into_iter()
        .filter(|k| expected.get(*k) != actual.get(*k))
        .map(|k| {
            format!(
                "{k}: expected {}, got {}",
                expected.get(k).map_or("(absent)".into(), Value::to_string),
                actual.get(k).map_or("(absent)".into(), Value::to_string)
            )
        })
        .collect()
}

/// A problem when two meanings differ: `what` (who reads what) with the differences, and then
/// `shown`, the reader's own output when it helps.
fn meaning_problem(
    id: &str,
    what: &str,
    expected: &Meaning,
    actual: &Meaning,
    shown: &str,
) -> Option<String> {
    let diff = meaning_diff(expected, actual);
    (!diff.is_empty()).then(|| format!("{id}: {what}:\n  {}{shown}", diff.join("\n  ")))
}

// ---------------------------------------------------------------------------------------------
// Expected claims of SDK-minted tokens
// ---------------------------------------------------------------------------------------------

/// The claims a token minted by `sdk` for `spec` must decode to in roomkey: roomkey's own claims
/// for the spec (`claims_at`), with only the documented, meaning-preserving differences
/// applied, and the SDK's documented meaning changes made explicit:
/// - no SDK but Go writes `iat` or Go's `identity` copy (auth/accesstoken.go; both are
///   ignored by verifiers);
/// - claims the SDK cannot express are left out;
/// - Rust: a grant object with nothing set is not written at all (`skip_serializing_if`), which
///   grants the same as an empty one;
/// - Python: `VideoGrants` always writes `canPublish`, `canSubscribe` and `canPublishData`,
///   defaulting to true — for `canPublishData` this **changes the meaning** when
///   canPublish is false ([`python_hazard_specs`]).
const GRANT_CLAIMS: &[&str] = &[
    "video",
    "sip",
    "agent",
    "agentEndpoint",
    "agentThread",
    "inference",
    "observability",
];

fn expected_minted_claims(sdk: Sdk, spec: &Spec, nbf: i64, exp: i64) -> Claims {
    let ttl = u64::try_from(exp - nbf).expect("exp after nbf");
    let ours = AccessToken::from_claims(spec.claims())
        .with_ttl(Duration::from_secs(ttl))
        .claims_at(API_KEY, nbf);
    let mut v = serde_json::to_value(&ours).expect("claims serialize");
    if sdk != Sdk::Go {
        remove_path(&mut v, "iat");
        remove_path(&mut v, "identity");
    }
    for path in sdk.cannot_mint() {
        remove_path(&mut v, path);
    }
    if sdk == Sdk::Rust {
        let obj = v.as_object_mut().expect("object");
        for grant in GRANT_CLAIMS {
            if obj
                .get(*grant)
                .and_then(Value::as_object)
                .is_some_and(Map::is_empty)
            {
                obj.remove(*grant);
            }
        }
    }
    let mut c: Claims = serde_json::from_value(v).expect("expected claims parse");
    if sdk == Sdk::Python {
        if let Some(video) = c.video.as_mut() {
            video.can_publish.get_or_insert(true);
            video.can_subscribe.get_or_insert(true);
            video.can_publish_data.get_or_insert(true);
        }
    }
    normalize_egress(&mut c);
    c
}

/// Specs where the Python SDK, given the same input, writes a token with a different effective
/// canPublishData than roomkey (and Go, Node, Rust 0.10): canPublish false, canPublishData unset.
/// Python's VideoGrants defaults can_publish_data to True and writes it, where the server would
/// take canPublish's value for an absent one (auth/grants.go `GetCanPublishData`).
fn python_hazard_specs(specs: &[Spec]) -> BTreeSet<String> {
    specs
        .iter()
        .filter(|s| {
            s.claims()
                .video
                .is_some_and(|v| v.can_publish == Some(false) && v.can_publish_data.is_none())
        })
        .map(|s| s.id.clone())
        .collect()
}

/// Asserts the documented Python canPublishData hazard rather than hiding it: the specs where
/// Python's reading or writing of canPublishData differs (`found`) are exactly those with
/// canPublish false and canPublishData unset, the worked example among them.
#[track_caller]
fn assert_python_hazard_is_exactly(found: &BTreeSet<String>, specs: &[Spec]) {
    assert_eq!(found, &python_hazard_specs(specs));
    assert!(found.contains("spec12-alice-viewer"));
}

/// The claim paths of `spec` that `sdk` cannot mint.
fn expected_unsupported(sdk: Sdk, spec: &Spec) -> Vec<String> {
    let mut v: Vec<String> = sdk
        .cannot_mint()
        .iter()
        .filter(|p| spec.has(p))
        .map(|p| (*p).to_owned())
        .collect();
    v.sort();
    v
}

fn claims_json(c: &Claims) -> String {
    serde_json::to_string_pretty(c).expect("claims serialize")
}

/// Checks one SDK-minted token in roomkey: header, verification, claims. Returns the decoded
/// claims, or the problems found.
fn check_minted(
    sdk: Sdk,
    spec: &Spec,
    token: &str,
    verify_at: i64,
    expected: &Claims,
) -> Result<Claims, String> {
    let header = token.split('.').next().unwrap_or_default();
    if header != sdk.header() {
        return Err(format!(
            "{}: header {header} is not the {} header {}",
            spec.id,
            sdk.name(),
            sdk.header()
        ));
    }
    let verified = verifier()
        .verify_at(token, verify_at)
        .map_err(|e| format!("{}: roomkey rejects the {} token: {e}", spec.id, sdk.name()))?;
    let mut got = verified.claims.clone();
    normalize_egress(&mut got);
    if &got != expected {
        return Err(format!(
            "{}: {} token decodes to\n{}\nexpected\n{}\npayload: {}",
            spec.id,
            sdk.name(),
            claims_json(&got),
            claims_json(expected),
            verified.payload()
        ));
    }
    Ok(verified.claims)
}

fn fail_if_any(what: &str, problems: &[String]) {
    assert!(
        problems.is_empty(),
        "{what}: {} problem(s):\n\n{}",
        problems.len(),
        problems.join("\n\n")
    );
}

/// A problem when `sdk` says it could not express other claims of `spec` than the ones it cannot.
fn unsupported_problem(sdk: Sdk, spec: &Spec, said: &[String]) -> Option<String> {
    let mut said = said.to_vec();
    said.sort();
    let want = expected_unsupported(sdk, spec);
    (said != want).then(|| {
        format!(
            "{}: {} says it cannot express {said:?}, expected {want:?}",
            spec.id,
            sdk.name()
        )
    })
}

/// Mints every spec with `sdk`'s mint helper (Node, Python or Go), its clock pinned to `now`,
/// and checks each token as every SDK's is checked: the claims the helper could not express,
/// and [`check_minted`] against [`expected_minted_claims`]. Then `more` adds what is particular
/// to the SDK, given the spec, its token and [`check_minted`]'s outcome. Returns the problems.
fn check_script_minted(
    sdk: Sdk,
    specs: &[Spec],
    now: i64,
    mut more: impl FnMut(&Spec, &str, Result<Claims, String>, &mut Vec<String>),
) -> Vec<String> {
    let minted = script_mint(sdk, specs, Some(now));
    let mut problems = Vec::new();
    for (spec, m) in specs.iter().zip(&minted) {
        problems.extend(unsupported_problem(sdk, spec, &m.unsupported));
        let ttl = i64::try_from(spec.ttl).expect("ttl");
        let expected = expected_minted_claims(sdk, spec, now, now + ttl);
        let checked = check_minted(sdk, spec, &m.token, now, &expected);
        if let Err(e) = &checked {
            problems.push(e.clone());
        }
        more(spec, &m.token, checked, &mut problems);
    }
    problems
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

/// The specs cover every claim and field, every enum value, and tri-state permissions as true,
/// false and unset.
#[test]
fn specs_cover_every_field() {
    let specs = load_specs();
    assert!(
        specs.len() >= 30,
        "{} specs, at least 30 wanted",
        specs.len()
    );
    let ids: BTreeSet<&str> = specs.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), specs.len(), "spec ids are unique");
    for id in VECTOR_SPECS {
        assert!(ids.contains(id), "vector spec {id} exists");
    }

    // The worked example input (mint_scripts_reproduce_the_spec_section_12_tokens).
    assert!(
        specs.iter().any(|s| s.ttl == 6 * 3600
            && s.json
                == json!({"sub": "alice", "name": "Alice", "video": {"roomJoin": true, "room": "standup", "canPublish": false}})),
        "the example input (alice/Alice/standup/canPublish false, 6 h) is a spec"
    );

    let mut missing = Vec::new();
    let mut need = |path: &str, found: bool| {
        if !found {
            missing.push(path.to_owned());
        }
    };
    let any = |f: &dyn Fn(&Spec) -> bool| specs.iter().any(f);
    // Whether some spec's list at `path` holds an entry that passes `test`.
    let any_listed = |path: &str, test: &dyn Fn(&Value) -> bool| {
        any(&|s| {
            get_path(&s.json, path)
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(test))
        })
    };
    for path in [
        "sub",
        "name",
        "metadata",
        "attributes",
        "kind",
        "kindDetails",
        "roomConfig.name",
        "roomConfig.emptyTimeout",
        "roomConfig.departureTimeout",
        "roomConfig.maxParticipants",
        "roomConfig.metadata",
        "roomConfig.minPlayoutDelay",
        "roomConfig.maxPlayoutDelay",
        "roomConfig.syncStreams",
        "roomConfig.agents",
        "roomConfig.tags",
        "roomConfig.egress",
        "roomPreset",
        "sha256",
    ] {
        need(path, any(&|s| s.has(path)));
    }
    for field in [
        "agentName",
        "metadata",
        "restartPolicy",
        "deployment",
        "attributes",
    ] {
        need(
            &format!("roomConfig.agents[].{field}"),
            any_listed("roomConfig.agents", &|d| d.get(field).is_some()),
        );
    }
    // Every member of every grant, from the table the surfaces are made from: a grant added
    // there without a vector fails here. A tri-state one needs each of its three states.
    for grant in roomkey_token::grants::GRANTS {
        let path = grant.path();
        if grant.kind != roomkey_token::grants::Kind::Tri {
            need(&path, any(&|s| s.has(&path)));
            continue;
        }
        for (label, want) in [
            ("true", Some(json!(true))),
            ("false", Some(json!(false))),
            ("unset", None),
        ] {
            need(
                &format!("{path} {label}"),
                any(&|s| {
                    s.json.get(grant.claim).is_some() && get_path(&s.json, &path).cloned() == want
                }),
            );
        }
    }
    for kind in [
        "standard",
        "ingress",
        "egress",
        "sip",
        "agent",
        "connector",
        "bridge",
    ] {
        need(&format!("kind {kind}"), any(&|s| s.json["kind"] == kind));
    }
    for detail in [
        "cloud_agent",
        "forwarded",
        "connector_whatsapp",
        "connector_twilio",
        "bridge_rtsp",
        "simulation",
    ] {
        need(
            &format!("kindDetails {detail}"),
            any_listed("kindDetails", &|d| *d == detail),
        );
    }
    for source in ["camera", "microphone", "screen_share", "screen_share_audio"] {
        need(
            &format!("canPublishSources {source}"),
            any_listed("video.canPublishSources", &|d| *d == source),
        );
    }
    need(
        "attributes with an empty-string value",
        any(&|s| {
            s.json["attributes"]
                .as_object()
                .is_some_and(|a| a.values().any(|v| v == ""))
        }),
    );
    need(
        "non-ASCII metadata",
        any(&|s| s.json["metadata"].as_str().is_some_and(|m| !m.is_ascii())),
    );
    need(
        "JSON-text metadata",
        any(&|s| {
            s.json["metadata"]
                .as_str()
                .is_some_and(|m| serde_json::from_str::<Map<String, Value>>(m).is_ok())
        }),
    );
    need(
        "partial sip grant",
        any(&|s| s.json["sip"].as_object().is_some_and(|o| o.len() == 1)),
    );
    need(
        "roomConfig.agents[].restartPolicy JRP_NEVER",
        any(&|s| s.json.to_string().contains("JRP_NEVER")),
    );
    fail_if_any("specs.json lacks coverage", &missing);

    for s in &specs {
        let claims = s.claims();
        if let Some(config) = &claims.room_config {
            assert_eq!(
                config.find_sensitive_credentials(),
                None,
                "spec {}: roomConfig must not carry credentials",
                s.id
            );
        }
        s.roomkey_builder()
            .validate()
            .unwrap_or_else(|e| panic!("spec {}: roomkey refuses it: {e}", s.id));
    }
}

/// roomkey mints every spec; the Node, Python, Rust and Go verifiers accept every token, and
/// each one's decoded claims mean what the spec means for every field that SDK models. Go's
/// `ClaimGrants`, written back as protocol's JSON, is roomkey's payload less the registered
/// claims and what Go has no field for.
#[test]
fn roomkey_tokens_verify_in_every_sdk() {
    let specs = load_specs();
    let now = now_unix();
    let key = key();
    let tokens: Vec<(String, String)> = specs
        .iter()
        .map(|s| (s.id.clone(), s.roomkey_token(now, &key)))
        .collect();
    let verdicts = ScriptVerdicts::of(&tokens);
    let rust = lk::TokenVerifier::with_api_key(API_KEY, API_SECRET);

    let mut problems = Vec::new();
    let mut python_reads_data_true = BTreeSet::new();
    for ((spec, (_, token)), (node, python, go)) in
        specs.iter().zip(&tokens).zip(verdicts.per_token())
    {
        let ours = verifier()
            .verify_at(token, now)
            .unwrap_or_else(|e| panic!("{}: roomkey rejects its own token: {e}", spec.id));
        let payload: Value = serde_json::from_str(ours.payload()).expect("payload JSON");
        let meaning = |sdk| expected_decoded_meaning(sdk, &ours.claims);

        // Node: TokenVerifier returns the raw payload, which must be ours exactly.
        match node {
            Ok(got) if got == payload => {}
            Ok(got) => problems.push(format!(
                "{}: Node's payload differs from roomkey's:\n{got}\n{payload}",
                spec.id
            )),
            Err(e) => problems.push(format!("{}: Node TokenVerifier rejects it: {e}", spec.id)),
        }

        // Python: its Claims dataclass, read with Python's own defaults.
        match python {
            Ok(got) => {
                let mut expected = meaning(Sdk::Python);
                // Python's decoder (access_token.py) fills an absent canPublishData with True,
                // where the server uses canPublish.
                let video = ours.claims.video.clone().unwrap_or_default();
                if video.can_publish_data.is_none() {
                    if expected["video.canPublishData"] == false {
                        python_reads_data_true.insert(spec.id.clone());
                    }
                    expected.insert("video.canPublishData".into(), json!(true));
                }
                problems.extend(meaning_problem(
                    &spec.id,
                    "Python reads a different meaning",
                    &expected,
                    &python_meaning(&got),
                    &format!("\n  python claims: {got}"),
                ));
            }
            Err(e) => problems.push(format!("{}: Python TokenVerifier rejects it: {e}", spec.id)),
        }

        // Rust: livekit_api::access_token::TokenVerifier, read through its getters.
        match rust.verify(token) {
            Ok(got) => {
                problems.extend(meaning_problem(
                    &spec.id,
                    "the Rust SDK reads a different meaning",
                    &meaning(Sdk::Rust),
                    &rust_sdk_meaning(&got),
                    "",
                ));
                if got.iss != API_KEY
                    || Some(i64::try_from(got.exp).expect("exp")) != ours.claims.exp
                    || Some(i64::try_from(got.nbf).expect("nbf")) != ours.claims.nbf
                {
                    problems.push(format!("{}: the Rust SDK reads other iss/exp/nbf", spec.id));
                }
            }
            Err(e) => problems.push(format!(
                "{}: the Rust SDK's TokenVerifier rejects it: {e}",
                spec.id
            )),
        }

        // Go: ParseAPIToken + Verify, the server's own path. Its reading is the server's, so
        // the meaning must be the same with no exception.
        match go {
            Ok(got) => {
                problems.extend(meaning_problem(
                    &spec.id,
                    "Go reads a different meaning",
                    &meaning(Sdk::Go),
                    &go_meaning(&got),
                    &format!("\n  go: {got}"),
                ));
                let mut want = payload.clone();
                for path in ["iss", "sub", "exp", "nbf", "iat"]
                    .iter()
                    .chain(Sdk::Go.cannot_mint())
                {
                    remove_path(&mut want, path);
                }
                if with_canonical_room_config(got["claims"].clone())
                    != with_canonical_room_config(want.clone())
                {
                    problems.push(format!(
                        "{}: Go's ClaimGrants differ from roomkey's claims:\n  go:      {}\n  roomkey: {want}",
                        spec.id, got["claims"]
                    ));
                }
                let mut registered = json!({
                    "iss": API_KEY, "sub": ours.claims.sub,
                    "exp": ours.claims.exp, "nbf": ours.claims.nbf, "iat": ours.claims.iat,
                });
                if ours.claims.sub.is_empty() {
                    // golang-jwt omits an empty sub (omitempty), as roomkey does.
                    remove_path(&mut registered, "sub");
                }
                if got["registered"] != registered {
                    problems.push(format!(
                        "{}: Go reads the registered claims {}, expected {registered}",
                        spec.id, got["registered"]
                    ));
                }
            }
            Err(e) => problems.push(format!("{}: Go's Verify rejects it: {e}", spec.id)),
        }
    }
    fail_if_any("roomkey tokens in the SDK verifiers", &problems);
    // Python reads those tokens as "may publish data".
    assert_python_hazard_is_exactly(&python_reads_data_true, &specs);
}

/// A token signed with the wrong secret, an expired one and a not-yet-valid one are rejected
/// by all four SDK verifiers (and by roomkey), for the right reason; a good one is accepted.
#[test]
fn sdk_verifiers_reject_wrong_secret_and_expired() {
    let specs = load_specs();
    let spec = specs
        .iter()
        .find(|s| s.id == "spec12-alice-viewer")
        .expect("spec12 spec");
    let now = now_unix();
    let wrong = KeyPair::new(API_KEY, &ApiSecret::new(WRONG_SECRET)).expect("key");
    let hour = spec.with_ttl(3600);
    let cases: Vec<(&str, String)> = vec![
        ("good", spec.roomkey_token(now, &key())),
        ("wrong-secret", spec.roomkey_token(now, &wrong)),
        ("expired", hour.roomkey_token(now - 7200, &key())),
        ("not-yet-valid", hour.roomkey_token(now + 3600, &key())),
    ];
    let verdicts = ScriptVerdicts::of(&cases);
    let rust = lk::TokenVerifier::with_api_key(API_KEY, API_SECRET);

    // (case, roomkey error, Node error code, Python exception, jsonwebtoken error kind,
    //  golang-jwt sentinel that Go's Verify wraps)
    type Want = Option<&'static str>;
    let expect: [(&str, Want, Want, Want, Want, Want); 4] = [
        ("good", None, None, None, None, None),
        (
            "wrong-secret",
            Some("BadSignature"),
            Some("ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
            Some("InvalidSignatureError"),
            Some("InvalidSignature"),
            Some("ErrTokenSignatureInvalid"),
        ),
        (
            "expired",
            Some("Expired"),
            Some("ERR_JWT_EXPIRED"),
            Some("ExpiredSignatureError"),
            Some("ExpiredSignature"),
            Some("ErrTokenExpired"),
        ),
        (
            "not-yet-valid",
            Some("NotYetValid"),
            Some("ERR_JWT_CLAIM_VALIDATION_FAILED"),
            Some("ImmatureSignatureError"),
            Some("ImmatureSignature"),
            Some("ErrTokenNotValidYet"),
        ),
    ];
    let mut problems = Vec::new();
    for (i, (case, rk, node_err, py_err, rust_err, go_err)) in expect.iter().enumerate() {
        let token = &cases[i].1;
        let check =
            |who: &str, result: Result<(), String>, want: &Option<&str>| match (result, want) {
                (Ok(()), None) => None,
                (Err(e), Some(w)) if e.contains(w) => None,
                (Ok(()), Some(w)) => Some(format!("{case}: {who} accepts it (wanted {w})")),
                (Err(e), want) => Some(format!("{case}: {who} says {e:?}, wanted {want:?}")),
            };
        let roomkey = verifier()
            .verify_at(token, now)
            .map(|_| ())
            .map_err(|e: VerifyError| format!("{e:?}"));
        let rust_result = rust.verify(token).map(|_| ()).map_err(|e| match e {
            lk::AccessTokenError::Encoding(e) => format!("{:?}", e.kind()),
            other => format!("{other:?}"),
        });
        problems.extend(
            [
                check("roomkey", roomkey, rk),
                check("Node", verdicts.node[i].clone().map(|_| ()), node_err),
                check("Python", verdicts.python[i].clone().map(|_| ()), py_err),
                check("Rust SDK", rust_result, rust_err),
                check("Go", verdicts.go[i].clone().map(|_| ()), go_err),
            ]
            .into_iter()
            .flatten(),
        );
    }
    fail_if_any("negative interop", &problems);
}

/// The mint scripts drive the SDKs faithfully, clock pinning included: for the worked example
/// (key `APIexample`, alice/Alice/standup, canPublish false, 6 h, T = 1700000000) they
/// reproduce byte for byte the Node and Python tokens those SDKs minted with a pinned clock,
/// and the Go helper the Go token (derived by hand from auth/accesstoken.go and encoding/json's
/// rules, never run). roomkey-token's tests use the same tokens.
#[test]
fn mint_scripts_reproduce_the_spec_section_12_tokens() {
    // Written as text: Node keeps the caller's key order, and its expected token came from
    // `addGrant({roomJoin:true, room:'standup', canPublish:false})`.
    let input = r#"{"apiKey":"APIexample","apiSecret":"example-secret-0123456789abcdefghij","now":1700000000,
        "specs":[{"id":"spec12","ttl":21600,"claims":{"sub":"alice","name":"Alice",
        "video":{"roomJoin":true,"room":"standup","canPublish":false}}}]}"#;
    let expected = [
        (
            Sdk::Node,
            "eyJhbGciOiJIUzI1NiJ9.eyJuYW1lIjoiQWxpY2UiLCJ2aWRlbyI6eyJyb29tSm9pbiI6dHJ1ZSwicm9vbSI6InN0YW5kdXAiLCJjYW5QdWJsaXNoIjpmYWxzZX0sImlzcyI6IkFQSWV4YW1wbGUiLCJleHAiOjE3MDAwMjE2MDAsIm5iZiI6MTcwMDAwMDAwMCwic3ViIjoiYWxpY2UifQ.3kk7FMJem3quqcjYqPsU6Ny80YA3BlYGIK0dhJFF74o",
        ),
        (
            Sdk::Python,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJuYW1lIjoiQWxpY2UiLCJ2aWRlbyI6eyJyb29tSm9pbiI6dHJ1ZSwicm9vbSI6InN0YW5kdXAiLCJjYW5QdWJsaXNoIjpmYWxzZSwiY2FuU3Vic2NyaWJlIjp0cnVlLCJjYW5QdWJsaXNoRGF0YSI6dHJ1ZX0sInN1YiI6ImFsaWNlIiwiaXNzIjoiQVBJZXhhbXBsZSIsIm5iZiI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDIxNjAwfQ.rBNEvvCuGhUFeoja9qzRLntxgOVcmf9PuOpKYeaLgVE",
        ),
        (
            Sdk::Go,
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJBUElleGFtcGxlIiwic3ViIjoiYWxpY2UiLCJleHAiOjE3MDAwMjE2MDAsIm5iZiI6MTcwMDAwMDAwMCwiaWF0IjoxNzAwMDAwMDAwLCJpZGVudGl0eSI6ImFsaWNlIiwibmFtZSI6IkFsaWNlIiwidmlkZW8iOnsicm9vbUpvaW4iOnRydWUsInJvb20iOiJzdGFuZHVwIiwiY2FuUHVibGlzaCI6ZmFsc2V9fQ.Dk_7RblLODcc1NhrDvuBFNxB1b_U1O2lnaN5mVGKDj0",
        ),
    ];
    for (sdk, token) in expected {
        let out = Helper::new(sdk, "mint").run_text(input.to_owned());
        assert_eq!(
            out[0]["token"],
            token,
            "{} mint of the alice/standup example input",
            sdk.name()
        );
        assert_eq!(out[0]["unsupported"], json!([]));
    }
}

/// The Node SDK mints every spec (what it can express); roomkey verifies each token and decodes
/// exactly the claims roomkey itself signs for that input, less `iat`/`identity` and what Node
/// cannot express, with roomConfig's default values normalised.
#[test]
fn node_minted_tokens_decode_like_roomkey_mints() {
    let specs = load_specs();
    let now = now_unix();
    let problems = check_script_minted(Sdk::Node, &specs, now, |spec, token, _, problems| {
        let payload = payload_json(token);
        if payload.get("iat").is_some() || payload.get("identity").is_some() {
            problems.push(format!(
                "{}: Node wrote iat or identity: {payload}",
                spec.id
            ));
        }
        // The same input means the same to the server, whoever minted it (nothing Node can
        // express is read differently).
        if let Ok(v) = verifier().verify_at(token, now) {
            let mut ours = server_meaning(&spec.roomkey_builder().claims_at(API_KEY, now));
            let mut theirs = server_meaning(&v.claims);
            for path in Sdk::Node.cannot_mint() {
                let prefix = format!("{path}.");
                ours.retain(|k, _| k != path && !k.starts_with(&prefix));
                theirs.retain(|k, _| k != path && !k.starts_with(&prefix));
            }
            problems.extend(meaning_problem(
                &spec.id,
                "Node's token means something else",
                &ours,
                &theirs,
                "",
            ));
        }
    });
    fail_if_any("Node-minted tokens", &problems);
}

/// The Python SDK mints every spec; roomkey verifies each token and decodes the expected
/// claims. The documented canPublishData hazard is asserted explicitly.
#[test]
fn python_minted_tokens_decode_to_expected_claims() {
    let specs = load_specs();
    let mut data_permission_differs = BTreeSet::new();
    let problems = check_script_minted(
        Sdk::Python,
        &specs,
        now_unix(),
        |spec, token, checked, problems| {
            // Python always writes `sub`, "" when there is no identity (its `to_jwt`).
            if payload_json(token).get("sub").is_none() {
                problems.push(format!("{}: Python wrote no sub", spec.id));
            }
            let Ok(got) = checked else { return };
            let ours = spec.claims();
            if let (Some(a), Some(b)) = (&ours.video, &got.video) {
                if a.effective_can_publish_data() != b.effective_can_publish_data() {
                    data_permission_differs.insert(spec.id.clone());
                    assert!(!a.effective_can_publish_data() && b.effective_can_publish_data());
                }
                // Every other effective permission is the same.
                assert_eq!(
                    a.effective_can_publish(),
                    b.effective_can_publish(),
                    "{}",
                    spec.id
                );
                assert_eq!(
                    a.effective_can_subscribe(),
                    b.effective_can_subscribe(),
                    "{}",
                    spec.id
                );
            }
        },
    );
    fail_if_any("Python-minted tokens", &problems);
    // Python writes canPublishData:true for those specs, so its participant may publish data
    // where roomkey's (and Go's, Node's, Rust 0.10's) may not.
    assert_python_hazard_is_exactly(&data_permission_differs, &specs);
}

/// The Rust SDK (`livekit-api` 0.10.0) mints every spec with its builder; roomkey verifies each
/// token and decodes the expected claims. livekit-token 0.3.0 made the tri-state permissions
/// `Option<bool>`, so Rust 0.6's hazard (always writing `canPublishData: true`) is gone:
/// asserted by exact equality.
#[test]
fn rust_sdk_minted_tokens_decode_to_expected_claims() {
    let specs = load_specs();
    let mut problems = Vec::new();
    for spec in &specs {
        let before = now_unix();
        let (token, unsupported) = rust_sdk_mint(spec);
        let after = now_unix();
        problems.extend(unsupported_problem(Sdk::Rust, spec, &unsupported));
        let payload = payload_json(&token);
        let nbf = payload["nbf"].as_i64().expect("nbf");
        let exp = payload["exp"].as_i64().expect("exp");
        let ttl = i64::try_from(spec.ttl).expect("ttl");
        // with_api_key reads the clock for nbf, with_ttl again for exp.
        if !(before..=after).contains(&nbf) || !(nbf + ttl..=after + ttl).contains(&exp) {
            problems.push(format!(
                "{}: nbf {nbf} / exp {exp} not around {before}..{after} + {ttl}",
                spec.id
            ));
            continue;
        }
        let expected = expected_minted_claims(Sdk::Rust, spec, nbf, exp);
        if let Err(e) = check_minted(Sdk::Rust, spec, &token, after, &expected) {
            problems.push(e);
        }
    }
    fail_if_any("Rust-SDK-minted tokens", &problems);
}

/// Go (`auth.AccessToken` of the pinned protocol) mints every spec; roomkey verifies each token
/// and decodes exactly the claims roomkey signs for that input — `iat` and the `identity` copy
/// included, since roomkey writes what Go writes — less what Go cannot express. The payloads
/// are equal as JSON (key order differs: roomkey writes the times before `sub`).
#[test]
fn go_minted_tokens_decode_like_roomkey_mints() {
    let specs = load_specs();
    let now = now_unix();
    let key = key();
    let problems = check_script_minted(Sdk::Go, &specs, now, |spec, token, _, problems| {
        let mut ours = payload_json(&spec.roomkey_token(now, &key));
        for path in Sdk::Go.cannot_mint() {
            remove_path(&mut ours, path);
        }
        let theirs = payload_json(token);
        if with_canonical_room_config(theirs.clone()) != with_canonical_room_config(ours.clone()) {
            problems.push(format!(
                "{}: Go's payload differs from roomkey's:\n  go:      {theirs}\n  roomkey: {ours}",
                spec.id
            ));
        }
    });
    fail_if_any("Go-minted tokens", &problems);

    // With no pinned clock the helper returns AccessToken.ToJWT's own token: iat = nbf = the
    // real time, exp = nbf + ttl.
    let before = now_unix();
    let live = script_mint(Sdk::Go, &specs[..2], None);
    let after = now_unix();
    for (spec, m) in specs.iter().zip(&live) {
        let p = payload_json(&m.token);
        let nbf = p["nbf"].as_i64().expect("nbf");
        assert!((before..=after).contains(&nbf), "{}: nbf {nbf}", spec.id);
        assert_eq!(p["iat"], nbf, "{}", spec.id);
        assert_eq!(
            p["exp"].as_i64(),
            Some(nbf + i64::try_from(spec.ttl).expect("ttl")),
            "{}",
            spec.id
        );
        let expected = expected_minted_claims(
            Sdk::Go,
            spec,
            nbf,
            nbf + i64::try_from(spec.ttl).expect("ttl"),
        );
        check_minted(Sdk::Go, spec, &m.token, after, &expected).unwrap_or_else(|e| panic!("{e}"));
    }
}

/// A token over exactly these payload bytes, with Go's header, signed with the interop secret
/// (so that every check but the one under test passes). Signed with `hmac` directly: a
/// jsonwebtoken call here would fix its process-wide crypto provider before the Rust SDK
/// installs its own.
fn forge(payload: &[u8]) -> String {
    use base64::Engine as _;
    use hmac::Mac as _;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let input = format!("{}.{}", Sdk::Go.header(), b64(payload));
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(API_SECRET.as_bytes()).expect("any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

/// Where the Go reference (golang-jwt v5 and `encoding/json` under protocol's `Verify`) reads a
/// token differently from roomkey. Each case is asserted both ways, so a change on either side
/// shows up here:
/// - keys match case-insensitively in Go (`Video`, `ROOM`), roomkey ignores them as unknown
///   claims: the server grants a join roomkey does not see;
/// - of duplicate keys Go takes the last (`sub`, `iss`, `video.room`), roomkey refuses the token;
/// - Go accepts a token with no `exp` (the pinned protocol has no `WithExpirationRequired`, and
///   livekit-server v1.13.5 handles a missing `exp`), roomkey refuses it;
/// - Go accepts `exp` as a JSON string (golang-jwt reads a json.Number), roomkey refuses it;
/// - Go decodes non-canonical base64url (trailing bits set), roomkey refuses it;
/// - Go reads invalid UTF-8 as U+FFFD, roomkey refuses it.
///
/// Where they agree it is asserted too: the identity is `sub` (Go overwrites the `identity`
/// claim), and `jti` when `sub` is empty.
#[test]
fn go_reads_some_tokens_differently_from_roomkey() {
    let now = now_unix();
    let exp = now + 3600;
    let text = |payload: String| forge(payload.as_bytes());
    let good = text(format!(
        r#"{{"iss":"{API_KEY}","exp":{exp},"sub":"alice","video":{{"roomJoin":true,"room":"a"}}}}"#
    ));
    // A different string for the same signature bytes: a 32-byte MAC leaves 2 spare bits.
    let mut trailing = good.clone();
    let last = trailing.pop().expect("signature");
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).expect("base64url");
    assert_eq!(
        index & 3,
        0,
        "a canonical last character has the spare bits clear"
    );
    trailing.push(alphabet.as_bytes()[index | 1].into());
    let mut bad_utf8 =
        format!(r#"{{"iss":"{API_KEY}","exp":{exp},"sub":"bob","name":"X"}}"#).into_bytes();
    let x = bad_utf8.iter().rposition(|b| *b == b'X').expect("X");
    bad_utf8[x] = 0xff;
    let cases: Vec<(&str, String)> = vec![
        ("good", good),
        (
            "case-insensitive-keys",
            text(format!(
                r#"{{"iss":"{API_KEY}","exp":{exp},"sub":"alice","Video":{{"RoomJoin":true,"ROOM":"backstage","canpublish":false}}}}"#
            )),
        ),
        (
            "duplicate-keys",
            text(format!(
                r#"{{"iss":"APIother","iss":"{API_KEY}","exp":{exp},"sub":"alice","sub":"mallory","video":{{"roomJoin":true,"room":"a","room":"b"}}}}"#
            )),
        ),
        (
            "no-exp",
            text(format!(
                r#"{{"iss":"{API_KEY}","nbf":{now},"sub":"alice","video":{{"roomJoin":true,"room":"a"}}}}"#
            )),
        ),
        (
            "exp-as-string",
            text(format!(
                r#"{{"iss":"{API_KEY}","exp":"{exp}","sub":"alice"}}"#
            )),
        ),
        ("non-canonical-signature", trailing),
        ("invalid-utf8", forge(&bad_utf8)),
        (
            "identity-claim-ignored",
            text(format!(
                r#"{{"iss":"{API_KEY}","exp":{exp},"sub":"alice","identity":"mallory"}}"#
            )),
        ),
        (
            "jti-when-sub-empty",
            text(format!(
                r#"{{"iss":"{API_KEY}","exp":{exp},"sub":"","jti":"j-7"}}"#
            )),
        ),
    ];
    let verified = script_records(Sdk::Go, "verify", &cases);
    let decoded = script_records(Sdk::Go, "decode", &cases);
    let go: BTreeMap<&str, (Value, Value)> = cases
        .iter()
        .zip(verified.into_iter().zip(decoded))
        .map(|((id, _), (v, d))| {
            let v = v.unwrap_or_else(|e| panic!("{id}: Go's Verify rejects it ({e})"));
            let d = d.unwrap_or_else(|e| panic!("{id}: Go's ParseAPIToken rejects it ({e})"));
            (*id, (v, d))
        })
        .collect();
    let roomkey = |id: &str| {
        let token = &cases.iter().find(|(c, _)| *c == id).expect("case").1;
        verifier().verify_at(token, now).map(|v| v.claims)
    };
    let refused = |id: &str, variant: &str| match roomkey(id) {
        Ok(c) => panic!("{id}: roomkey accepts it: {c:?}"),
        Err(e) => assert!(
            format!("{e:?}").starts_with(variant),
            "{id}: roomkey says {e:?}, wanted {variant}"
        ),
    };

    // Every case verifies in Go (unwrapped above); the good one in roomkey too.
    let good = roomkey("good").expect("roomkey accepts the good token");
    assert_eq!(good.room(), "a");
    assert_eq!(go["good"].0["claims"]["video"]["room"], "a");

    // Case-insensitive keys: the server reads a join grant for room "backstage" with publishing
    // denied; roomkey sees no video grant at all (and keeps "Video" only in the raw payload).
    let (v, _) = &go["case-insensitive-keys"];
    assert_eq!(
        v["claims"]["video"],
        json!({"roomJoin": true, "room": "backstage", "canPublish": false})
    );
    assert_eq!(v["effective"]["canPublish"], false);
    let c = roomkey("case-insensitive-keys").expect("roomkey accepts it");
    assert!(!c.can_join());
    assert_eq!(c.video, None);

    // Duplicate keys: Go takes the last of each — the API key it looks the secret up by, the
    // identity and the room — roomkey refuses the whole token.
    let (v, d) = &go["duplicate-keys"];
    assert_eq!(d["apiKey"], API_KEY);
    assert_eq!(d["identity"], "mallory");
    assert_eq!(v["claims"]["identity"], "mallory");
    assert_eq!(v["claims"]["video"]["room"], "b");
    refused("duplicate-keys", "ClaimsJson");

    // No exp: valid forever for the pinned Go reference; roomkey requires exp.
    assert!(go["no-exp"].0["registered"].get("exp").is_none());
    refused("no-exp", "MissingExpiry");

    // exp as a string: Go reads the number inside.
    assert_eq!(go["exp-as-string"].0["registered"]["exp"], exp);
    refused("exp-as-string", "ClaimsJson");

    // Non-canonical base64url: the same MAC bytes, so Go's check passes.
    refused("non-canonical-signature", "Base64");

    // Invalid UTF-8 becomes U+FFFD in Go.
    assert_eq!(go["invalid-utf8"].0["claims"]["name"], "\u{fffd}");
    assert!(
        roomkey("invalid-utf8").is_err(),
        "roomkey accepts invalid UTF-8"
    );

    // Agreement: the identity is sub, or jti when sub is empty; the identity claim is ignored.
    for (id, identity) in [
        ("identity-claim-ignored", "alice"),
        ("jti-when-sub-empty", "j-7"),
    ] {
        let (v, d) = &go[id];
        assert_eq!(v["claims"]["identity"], identity, "{id}: Go's Verify");
        assert_eq!(d["identity"], identity, "{id}: Go's ParseAPIToken");
        let c = roomkey(id).unwrap_or_else(|e| panic!("{id}: roomkey: {e}"));
        assert_eq!(c.identity(), identity, "{id}: roomkey");
    }
}

// ---------------------------------------------------------------------------------------------
// Committed vectors
// ---------------------------------------------------------------------------------------------

fn vector_file() -> PathBuf {
    repo_root().join(VECTOR_FILE)
}

/// Mints the vector specs with every SDK at the fixed times, checks each token in roomkey, and
/// returns the vector file's JSON.
fn generate_vectors(specs: &[Spec]) -> Value {
    let ttl = u64::try_from(VECTOR_EXP - VECTOR_NBF).expect("ttl");
    let chosen: Vec<Spec> = VECTOR_SPECS
        .iter()
        .map(|id| {
            specs
                .iter()
                .find(|s| s.id == *id)
                .unwrap_or_else(|| panic!("vector spec {id}"))
                .with_ttl(ttl)
        })
        .collect();
    let mut vectors = Vec::new();
    let mut problems = Vec::new();
    for sdk in Sdk::VECTOR_SDKS {
        let minted: Vec<(String, Vec<String>)> = match sdk {
            Sdk::Node | Sdk::Python => script_mint(sdk, &chosen, Some(VECTOR_NBF))
                .into_iter()
                .map(|m| (m.token, m.unsupported))
                .collect(),
            Sdk::Rust => chosen
                .iter()
                .map(|s| rust_sdk_mint_at(s, VECTOR_NBF, VECTOR_EXP))
                .collect(),
            Sdk::Go => unreachable!("Go is not in the committed vectors"),
        };
        for (spec, (token, mut unsupported)) in chosen.iter().zip(minted) {
            unsupported.sort();
            let expected = expected_minted_claims(sdk, spec, VECTOR_NBF, VECTOR_EXP);
            match check_minted(sdk, spec, &token, VECTOR_VERIFY_AT, &expected) {
                Ok(claims) => vectors.push(json!({
                    "sdk": sdk.name(),
                    "spec": spec.id,
                    "token": token,
                    "unsupported": unsupported,
                    "claims": claims,
                })),
                Err(e) => problems.push(e),
            }
        }
    }
    fail_if_any("vector generation", &problems);
    json!({
        "about": "LiveKit access tokens minted by the official SDKs at fixed times, for roomkey-token's tests (tests/sdk_vectors.rs). `claims` is what roomkey's Verifier must decode (roomkey's Claims serialization). `unsupported` lists spec claims the SDK cannot express, left out of its token. The specs are interop/specs.json.",
        "generator": "interop/gen-vectors.sh (ROOMKEY_REGEN_VECTORS=1 cargo test -p roomkey-interop --test sdk committed_vectors)",
        "sdks": {
            "node": Sdk::Node.package(),
            "python": Sdk::Python.package(),
            "rust": Sdk::Rust.package(),
        },
        "rustNote": "livekit-token has no clock injection: its builder mints the token, and the SDK's own Claims are re-signed at the fixed times exactly as AccessToken::to_jwt signs (jsonwebtoken::encode, Header::new(HS256)).",
        "apiKey": API_KEY,
        "apiSecret": API_SECRET,
        "nbf": VECTOR_NBF,
        "exp": VECTOR_EXP,
        "verifyAt": VECTOR_VERIFY_AT,
        "vectors": vectors,
    })
}

/// The committed vectors are what the pinned SDKs mint today (byte for byte for Node; Python
/// and Rust write map entries in random order, so their payloads are compared as JSON). With
/// `ROOMKEY_REGEN_VECTORS=1` the file is rewritten instead.
#[test]
fn committed_vectors_match_the_pinned_sdks() {
    let specs = load_specs();
    let fresh = generate_vectors(&specs);
    let path = vector_file();
    if std::env::var_os("ROOMKEY_REGEN_VECTORS").is_some_and(|v| v == "1") {
        let mut text = serde_json::to_string_pretty(&fresh).expect("vectors serialize");
        text.push('\n');
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write vectors");
        eprintln!(
            "wrote {} vectors to {}",
            fresh["vectors"].as_array().map_or(0, Vec::len),
            path.display()
        );
        return;
    }
    let hint = "run `interop/gen-vectors.sh` to regenerate them";
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}; {hint}", path.display()));
    let committed: Value = serde_json::from_str(&text).expect("vector file is JSON");
    for field in ["sdks", "apiKey", "apiSecret", "nbf", "exp", "verifyAt"] {
        assert_eq!(
            committed[field], fresh[field],
            "vector file field {field} is stale; {hint}"
        );
    }
    let committed = committed["vectors"].as_array().expect("vectors");
    let fresh = fresh["vectors"].as_array().expect("vectors");
    assert_eq!(committed.len(), fresh.len(), "number of vectors; {hint}");
    assert!(fresh.len() >= 20);
    let mut problems = Vec::new();
    for (c, f) in committed.iter().zip(fresh) {
        let what = format!("{} {}", f["sdk"], f["spec"]);
        for field in ["sdk", "spec", "unsupported", "claims"] {
            if c[field] != f[field] {
                problems.push(format!(
                    "{what}: {field} differs:\ncommitted {}\nnow       {}",
                    c[field], f[field]
                ));
            }
        }
        let (ct, ft) = (
            c["token"].as_str().unwrap_or(""),
            f["token"].as_str().unwrap_or(""),
        );
        // Node's output is deterministic. Python (protobuf maps in MessageToDict) and Rust
        // (HashMap) write map entries in an order that changes from run to run, so for them the
        // header and the payload's JSON are compared, and the signature is checked by roomkey.
        let same = if f["sdk"] == "node" {
            ct == ft
        } else {
            ct.split('.').next() == ft.split('.').next() && payload_json(ct) == payload_json(ft)
        };
        if !same {
            problems.push(format!(
                "{what}: token differs:\ncommitted {ct}\nnow       {ft}"
            ));
        }
    }
    if !problems.is_empty() {
        problems.push(hint.to_owned());
    }
    fail_if_any("committed vectors are stale", &problems);
}

// ---------------------------------------------------------------------------------------------
// Tokens handed out by `roomkey serve`
// ---------------------------------------------------------------------------------------------

/// Asks the token server (in process, development profile, signing with the interop key) for
/// tokens through both endpoints, and checks that every SDK verifier (Go's too) accepts them
/// with the identity and room the server announced.
#[test]
fn server_issued_tokens_verify_in_every_sdk() {
    use tower::ServiceExt as _;

    let env = roomkey_server::EnvOverrides {
        api_key: Some(API_KEY.into()),
        api_secret: Some(API_SECRET.into()),
        ..roomkey_server::EnvOverrides::default()
    };
    let config = roomkey_server::Config::dev(&env).expect("dev configuration");
    let app = roomkey_server::App::new(config).expect("server state");
    let requests = [
        ("/api/token", json!({})),
        (
            "/api/token",
            json!({"room_name": "interop-room", "participant_identity": "u-1", "participant_name": "Ünïcode"}),
        ),
        (
            "/api/token",
            json!({"roomName": "interop-room", "participantIdentity": "u-2", "participantMetadata": "{\"a\":1}",
                              "participantAttributes": {"role": "host"}, "roomConfig": {"agents": [{"agentName": "triage"}]}}),
        ),
        (
            "/api/v1/generate-access-token",
            json!({"identity": "u-3", "room": "r3", "canPublish": false, "hidden": true, "ttl": 600}),
        ),
    ];
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut issued = Vec::new();
    for (i, (path, body)) in requests.iter().enumerate() {
        let request = axum::http::Request::post(*path)
            .header("content-type", "application/json")
            .body(axum::body::Body::from(body.to_string()))
            .unwrap();
        let response = runtime
            .block_on(roomkey_server::router(app.clone()).oneshot(request))
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        let bytes = runtime
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
            .unwrap();
        let answer: Value = serde_json::from_slice(&bytes).unwrap();
        let token = answer["participant_token"]
            .as_str()
            .or(answer["token"].as_str())
            .unwrap()
            .to_owned();
        let room = answer["room_name"]
            .as_str()
            .or(answer["room"].as_str())
            .unwrap()
            .to_owned();
        issued.push((format!("server-{i}"), token, room));
    }

    let ours = verifier();
    let tokens: Vec<(String, String)> = issued
        .iter()
        .map(|(id, t, _)| (id.clone(), t.clone()))
        .collect();
    let verdicts = ScriptVerdicts::of(&tokens);
    let rust = lk::TokenVerifier::with_api_key(API_KEY, API_SECRET);
    for ((id, token, room), (node, python, go)) in issued.iter().zip(verdicts.per_token()) {
        let claims = ours
            .verify(token)
            .unwrap_or_else(|e| panic!("{id}: roomkey: {e}"))
            .claims;
        assert_eq!(claims.room(), room, "{id}");
        let node = node.unwrap_or_else(|e| panic!("{id}: Node rejected a server token: {e}"));
        assert_eq!(
            node,
            payload_json(token),
            "{id}: Node reads the payload as signed"
        );
        let python = python.unwrap_or_else(|e| panic!("{id}: Python rejected a server token: {e}"));
        assert_eq!(python["identity"], claims.sub.as_str(), "{id}");
        assert_eq!(python["video"]["room"], room.as_str(), "{id}");
        let rust = rust
            .verify(token)
            .unwrap_or_else(|e| panic!("{id}: Rust SDK rejected a server token: {e}"));
        assert_eq!(rust.sub, claims.sub, "{id}");
        assert_eq!(rust.video.room, *room, "{id}");
        let go = go.unwrap_or_else(|e| panic!("{id}: Go rejected a server token: {e}"));
        assert_eq!(go["claims"]["identity"], claims.identity(), "{id}");
        assert_eq!(go["claims"]["video"]["room"], room.as_str(), "{id}");
        assert_eq!(
            go_meaning(&go),
            expected_decoded_meaning(Sdk::Go, &claims),
            "{id}: Go reads the server token's meaning differently"
        );
    }
    let last = ours.verify(&issued[3].1).unwrap().claims;
    let video = last.video.unwrap();
    assert_eq!((video.can_publish, video.hidden), (Some(false), true));
    assert_eq!(last.exp.unwrap() - last.nbf.unwrap(), 600);
}
