//! Property tests: minting and verifying agree, and nothing a caller can pass panics.
//!
//! - `sign_then_verify_roundtrips`: arbitrary claims (unicode identities, names, metadata and
//!   attributes within the server limits; every video boolean and tri-state, every subset of
//!   track sources; kind, kindDetails, sip, agent, inference, observability, agentEndpoint,
//!   agentThread; roomConfig with agents, tags, uint32 fields and an egress object), arbitrary
//!   TTLs and signing times, verified at an arbitrary instant inside the validity window:
//!   `verify_at` returns exactly `AccessToken::claims_at(api_key, now)`, the payload re-parses to
//!   the same claims, `decode_unverified` agrees, and re-minting the verified claims gives the
//!   same token byte for byte. Minting fails exactly when it must (join without identity,
//!   credentials in the egress).
//! - `verify_time_window`: for any instant, the verdict is `Expired` iff `at >= exp + 60`, else
//!   `NotYetValid` iff `at < nbf - 60`, else success.
//! - `single_mutation_is_rejected`: replacing, inserting or deleting one byte anywhere in a
//!   valid token never panics and is always rejected (the signing input is covered by the MAC,
//!   and canonical base64 gives every signature one spelling).
//! - `verify_never_panics_on_arbitrary_strings` / `..._on_arbitrary_bytes` /
//!   `..._on_jwt_shaped_strings`: `verify_at` and `decode_unverified` on anything return an
//!   error without panicking.
//! - `forged_payloads_never_panic`: arbitrary bytes and arbitrary JSON values, correctly signed,
//!   never panic; when accepted, the payload re-parses to the same claims.
//!
//! This file is long because of the claim strategies (a generator for every claim and grant),
//! which every property here shares.

mod forge;

use std::collections::BTreeMap;
use std::time::Duration;

use forge::{KEY, SECRET, b64, forge_payload, keys};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use roomkey_token::{
    AccessToken, AgentEndpointGrant, AgentGrant, AgentThreadGrant, ApiSecret, Claims,
    InferenceGrant, JobRestartPolicy, KeyPair, KindDetail, MintError, ObservabilityGrant,
    ParticipantKind, RoomAgentDispatch, RoomConfiguration, SipGrant, TrackSource, Verifier,
    VerifyError, VideoGrant, dangerous, limits,
};
use serde_json::Value;

const LEEWAY: i64 = 60;
const MAX_TTL: u64 = 100 * 365 * 24 * 60 * 60;
/// Signing times: far past to far future, no saturation.
const TIME_RANGE: std::ops::RangeInclusive<i64> = -(1 << 50)..=(1 << 50);

fn key() -> KeyPair {
    KeyPair::new(KEY, &ApiSecret::new(SECRET)).unwrap()
}

fn verifier() -> Verifier {
    Verifier::new(keys())
}

// ---- strategies -------------------------------------------------------------------------------

/// Unicode text of up to `max_chars` characters (so at most 4 × `max_chars` bytes), mixing plain
/// ASCII, JSON-hostile characters and arbitrary scalar values.
fn text(max_chars: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::string::string_regex(&format!("[a-zA-Z0-9 _.-]{{0,{max_chars}}}")).unwrap(),
        2 => vec(
            prop_oneof![
                select(vec!['"', '\\', '/', '\n', '\r', '\t', '\0', '\u{1f}', '\u{7f}', '\u{2028}',
                    '\u{2029}', '<', '>', '&', '\u{feff}', 'é', '中', '😀', '\u{10ffff}']),
                any::<char>(),
            ],
            0..=max_chars,
        )
        .prop_map(String::from_iter),
        1 => vec(any::<char>(), 0..=max_chars).prop_map(String::from_iter),
    ]
}

/// An identity: usually set, sometimes at the 256-byte limit.
fn identity() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => text(64),
        1 => Just("a".repeat(limits::MAX_IDENTITY_LEN)),
        1 => Just("é".repeat(limits::MAX_IDENTITY_LEN / 2)),
        1 => Just(String::new()),
    ]
}

fn room_name() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => text(64),
        1 => Just("r".repeat(limits::MAX_ROOM_NAME_LEN)),
        1 => Just("😀".repeat(limits::MAX_ROOM_NAME_LEN / 4)),
    ]
}

fn attributes() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop_oneof![
        4 => btree_map(text(16), text(48), 0..8),
        1 => Just(BTreeMap::from([("k".to_owned(), "v".repeat(limits::MAX_ATTRIBUTES_SIZE - 1))])),
    ]
}

fn tri() -> impl Strategy<Value = Option<bool>> {
    proptest::option::of(any::<bool>())
}

fn video_grant() -> impl Strategy<Value = VideoGrant> {
    (
        (any::<[bool; 5]>(), room_name(), room_name()),
        (tri(), tri(), tri(), tri(), tri(), tri()),
        (
            subsequence(TrackSource::ALL.to_vec(), 0..=TrackSource::ALL.len()).prop_shuffle(),
            any::<[bool; 4]>(),
        ),
    )
        .prop_map(|((b, room, destination), t, (sources, b2))| {
            let mut g = VideoGrant::default();
            [
                g.room_create,
                g.room_list,
                g.room_record,
                g.room_admin,
                g.room_join,
            ] = b;
            g.room = room;
            g.destination_room = destination;
            g.can_publish = t.0;
            g.can_subscribe = t.1;
            g.can_publish_data = t.2;
            g.can_update_own_metadata = t.3;
            g.can_subscribe_metrics = t.4;
            g.can_manage_agent_session = t.5;
            g.can_publish_sources = sources;
            [g.ingress_admin, g.hidden, g.recorder, g.agent] = b2;
            g
        })
}

/// A JSON value without floats (floats are covered in `egress_floats_roundtrip`).
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        text(12).prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(json_key(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Object keys, biased towards the names the credentials check looks for.
fn json_key() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => select(vec!["room", "participant", "tracks", "fileOutputs", "segmentOutputs",
            "imageOutputs", "streamOutputs", "webhooks", "s3", "gcp", "azure", "aliOSS",
            "secret", "accessKey", "credentials", "accountKey", "signingKey", "filepath"])
            .prop_map(str::to_owned),
        1 => text(8),
    ]
}

fn egress() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        3 => Just(None),
        1 => Just(Some(serde_json::json!({"tracks": {"filepath": "rec/{room_name}", "s3": {"bucket": "b", "region": "eu"}}}))),
        1 => Just(Some(serde_json::json!({"room": {"fileOutputs": [{"s3": {"secret": "s3cr3t"}}]}}))),
        2 => btree_map(json_key(), json_value(), 0..4)
            .prop_map(|m| Some(Value::Object(m.into_iter().collect()))),
    ]
}

fn room_config() -> impl Strategy<Value = RoomConfiguration> {
    let agent = (
        text(16),
        text(32),
        any::<bool>(),
        text(8),
        btree_map(text(8), text(8), 0..3),
    )
        .prop_map(|(name, metadata, never, deployment, attributes)| {
            let mut a = RoomAgentDispatch::new(name, metadata);
            a.restart_policy = if never {
                JobRestartPolicy::Never
            } else {
                JobRestartPolicy::OnFailure
            };
            a.deployment = deployment;
            a.attributes = attributes;
            a
        });
    (
        (text(16), any::<[u32; 5]>(), text(32), any::<bool>()),
        vec(agent, 0..3),
        btree_map(text(8), text(16), 0..4),
        egress(),
    )
        .prop_map(|((name, n, metadata, sync), agents, tags, egress)| {
            let mut c = RoomConfiguration::default();
            c.name = name;
            [
                c.empty_timeout,
                c.departure_timeout,
                c.max_participants,
                c.min_playout_delay,
                c.max_playout_delay,
            ] = n;
            c.metadata = metadata;
            c.sync_streams = sync;
            c.agents = agents;
            c.tags = tags;
            c.egress = egress;
            c
        })
}

/// The grants besides `video`, in `Claims` field order.
type OtherGrants = (
    Option<SipGrant>,
    Option<AgentGrant>,
    Option<InferenceGrant>,
    Option<ObservabilityGrant>,
    Option<AgentEndpointGrant>,
    Option<AgentThreadGrant>,
);

fn other_grants() -> impl Strategy<Value = OtherGrants> {
    use proptest::option::of;
    (
        of(any::<[bool; 2]>()).prop_map(|o| {
            o.map(|[admin, call]| {
                let mut g = SipGrant::default();
                g.admin = admin;
                g.call = call;
                g
            })
        }),
        of(any::<[bool; 4]>()).prop_map(|o| {
            o.map(|b| {
                let mut g = AgentGrant::default();
                [
                    g.admin,
                    g.simulation_admin,
                    g.database_admin,
                    g.dispatch_admin,
                ] = b;
                g
            })
        }),
        of(any::<bool>()).prop_map(|o| {
            o.map(|perform| {
                let mut g = InferenceGrant::default();
                g.perform = perform;
                g
            })
        }),
        of(any::<bool>()).prop_map(|o| {
            o.map(|write| {
                let mut g = ObservabilityGrant::default();
                g.write = write;
                g
            })
        }),
        of((any::<bool>(), text(16), text(16))).prop_map(|o| {
            o.map(|(call, agent_name, deployment)| {
                let mut g = AgentEndpointGrant::default();
                g.call = call;
                g.agent_name = agent_name;
                g.deployment = deployment;
                g
            })
        }),
        of((any::<[bool; 6]>(), text(16), vec(text(12), 0..4))).prop_map(|o| {
            o.map(|(b, scope, thread_ids)| {
                let mut g = AgentThreadGrant::default();
                [g.all, g.list, g.create, g.write, g.read, g.delete] = b;
                g.scope = scope;
                g.thread_ids = thread_ids;
                g
            })
        }),
    )
}

/// Claims as a minter would configure them (no `iss` or times: signing sets those).
fn claims() -> impl Strategy<Value = Claims> {
    (
        (identity(), text(32), text(32), text(200), attributes()),
        (
            proptest::option::of(select(ParticipantKind::ALL.to_vec())),
            subsequence(KindDetail::ALL.to_vec(), 0..=KindDetail::ALL.len()),
            proptest::option::of(video_grant()),
            other_grants(),
            proptest::option::of(room_config()),
        ),
        (text(16), text(44), text(16)),
    )
        .prop_map(
            |(
                (sub, name, jti, metadata, attributes),
                (kind, kind_details, video, grants, room_config),
                (room_preset, sha256, identity_claim),
            )| {
                let mut c = Claims::default();
                c.sub = sub;
                c.name = name;
                c.jti = jti;
                c.metadata = metadata;
                c.attributes = attributes;
                c.kind = kind;
                c.kind_details = kind_details;
                c.video = video;
                let endpoint;
                let thread;
                (
                    c.sip,
                    c.agent,
                    c.inference,
                    c.observability,
                    endpoint,
                    thread,
                ) = grants;
                c.agent_endpoint = endpoint.map(Box::new);
                c.agent_thread = thread.map(Box::new);
                c.room_config = room_config.map(Box::new);
                c.room_preset = room_preset;
                c.sha256 = sha256;
                // Overwritten by from_claims (identity = sub); set to check that.
                c.identity = identity_claim;
                c
            },
        )
}

fn ttl() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..=120, 1u64..=MAX_TTL, Just(MAX_TTL), Just(6 * 3600)]
}

/// The same claims through the `with_*` builder instead of `from_claims`.
fn via_builder(c: &Claims) -> AccessToken {
    let mut t = AccessToken::new()
        .with_identity(c.sub.clone())
        .with_name(c.name.clone())
        .with_metadata(c.metadata.clone())
        .with_attributes(c.attributes.clone())
        .with_kind_details(c.kind_details.clone())
        .with_room_preset(c.room_preset.clone())
        .with_sha256(c.sha256.clone());
    if let Some(k) = &c.kind {
        t = t.with_kind(k.clone());
    }
    if let Some(g) = &c.video {
        t = t.with_video(g.clone());
    }
    if let Some(g) = &c.sip {
        t = t.with_sip(g.clone());
    }
    if let Some(g) = &c.agent {
        t = t.with_agent(g.clone());
    }
    if let Some(g) = &c.inference {
        t = t.with_inference(g.clone());
    }
    if let Some(g) = &c.observability {
        t = t.with_observability(g.clone());
    }
    if let Some(g) = &c.agent_endpoint {
        t = t.with_agent_endpoint((**g).clone());
    }
    if let Some(g) = &c.agent_thread {
        t = t.with_agent_thread((**g).clone());
    }
    if let Some(g) = &c.room_config {
        t = t.with_room_config((**g).clone());
    }
    t
}

/// What minting must say for claims built by [`claims`] (every other limit is respected).
fn expected_mint_error(c: &Claims, allow_credentials: bool) -> Option<MintError> {
    if c.video.as_ref().is_some_and(|v| v.room_join) && c.sub.is_empty() {
        return Some(MintError::JoinWithoutIdentity);
    }
    if !allow_credentials {
        if let Some(path) = c
            .room_config
            .as_ref()
            .and_then(|r| r.find_sensitive_credentials())
        {
            return Some(MintError::SensitiveCredentials { path });
        }
    }
    None
}

/// The verdict the rules give at `at` for a token signed at `now` with `ttl`.
fn expected_verdict(now: i64, ttl: u64, at: i64) -> Result<(), VerifyError> {
    let exp = now + i64::try_from(ttl).unwrap();
    if at >= exp + LEEWAY {
        Err(VerifyError::Expired {
            exp,
            now: at,
            leeway: 60,
        })
    } else if at < now - LEEWAY {
        Err(VerifyError::NotYetValid {
            nbf: now,
            now: at,
            leeway: 60,
        })
    } else {
        Ok(())
    }
}

// ---- properties -------------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn sign_then_verify_roundtrips(
        configured in claims(),
        builder in any::<bool>(),
        allow in any::<bool>(),
        ttl in ttl(),
        now in TIME_RANGE,
        fraction in 0.0f64..1.0,
    ) {
        let base = if builder {
            via_builder(&configured)
        } else {
            AccessToken::from_claims(configured.clone())
        };
        let token_builder = base.with_ttl(Duration::from_secs(ttl)).allow_sensitive_credentials(allow);
        let key = key();
        let minted = token_builder.sign_at(&key, now);
        match expected_mint_error(&configured, allow) {
            Some(want) => {
                prop_assert_eq!(minted, Err(want));
                return Ok(());
            }
            None => prop_assert!(minted.is_ok(), "mint failed: {:?}", minted),
        }
        let token = minted.unwrap();
        prop_assert!(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));

        // Any instant inside the window [nbf - leeway, exp + leeway).
        let window = i64::try_from(ttl).unwrap() + 2 * LEEWAY;
        #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
        let at = now - LEEWAY + ((window as f64 * fraction) as i64).min(window - 1);
        let verified = verifier().verify_at(&token, at);
        prop_assert!(verified.is_ok(), "verify failed at {} (now {}, ttl {}): {:?}", at, now, ttl, verified);
        let verified = verified.unwrap();

        let expected = token_builder.claims_at(KEY, now);
        prop_assert_eq!(&verified.claims, &expected);
        prop_assert_eq!(&verified.claims.identity, &verified.claims.sub);
        prop_assert_eq!(verified.claims.exp, Some(now + i64::try_from(ttl).unwrap()));
        prop_assert_eq!((verified.claims.nbf, verified.claims.iat), (Some(now), Some(now)));

        // The payload re-parses to the same claims, and so does the claims' own serialization.
        let reparsed: Claims = serde_json::from_str(verified.payload()).unwrap();
        prop_assert_eq!(&reparsed, &verified.claims);
        let reserialized: Claims =
            serde_json::from_str(&serde_json::to_string(&verified.claims).unwrap()).unwrap();
        prop_assert_eq!(&reserialized, &verified.claims);

        // decode_unverified sees the same.
        let (claims, payload) = dangerous::decode_unverified(&token).unwrap();
        prop_assert_eq!(&claims, &verified.claims);
        prop_assert_eq!(payload.as_str(), verified.payload());

        // Re-minting the verified claims gives the same token, byte for byte.
        let again = AccessToken::from_claims(verified.claims)
            .with_ttl(Duration::from_secs(ttl))
            .allow_sensitive_credentials(true)
            .sign_at(&key, now)
            .unwrap();
        prop_assert_eq!(again, token);
    }

    #[test]
    fn verify_time_window(
        ttl in ttl(),
        now in TIME_RANGE,
        anchor in 0u8..3,
        delta in -200i64..=200,
    ) {
        let token = AccessToken::new()
            .with_identity("w")
            .with_ttl(Duration::from_secs(ttl))
            .sign_at(&key(), now)
            .unwrap();
        let exp = now + i64::try_from(ttl).unwrap();
        let at = match anchor {
            0 => now - LEEWAY + delta,       // around the nbf boundary
            1 => exp + LEEWAY + delta,       // around the exp boundary
            _ => now + (exp - now) / 2 + delta,
        };
        let got = verifier().verify_at(&token, at).map(|_| ());
        prop_assert_eq!(got, expected_verdict(now, ttl, at));
    }

    #[test]
    fn single_mutation_is_rejected(
        configured in claims(),
        now in TIME_RANGE,
        mutations in vec((any::<proptest::sample::Index>(), any::<u8>(), 0u8..4), 1..48),
    ) {
        let Ok(token) = AccessToken::from_claims(configured)
            .allow_sensitive_credentials(true)
            .sign_at(&key(), now)
        else {
            return Ok(()); // join without identity: nothing to mutate
        };
        let verifier = verifier();
        prop_assert!(verifier.verify_at(&token, now).is_ok());
        let bytes = token.as_bytes();
        for (index, byte, kind) in mutations {
            let i = index.index(bytes.len());
            let mut m = bytes.to_vec();
            match kind {
                0 => {
                    // Replace with a different byte.
                    m[i] = if byte == bytes[i] { byte.wrapping_add(1) } else { byte };
                }
                1 => m[i] ^= 1 << (byte % 8), // flip one bit
                2 => m.insert(i, byte),       // insert
                _ => {
                    m.remove(i);              // delete
                }
            }
            let mutated = match String::from_utf8(m) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            };
            if mutated == token {
                continue;
            }
            let got = verifier.verify_at(&mutated, now);
            prop_assert!(got.is_err(), "mutation {} at {} accepted: {}", kind, i, mutated);
            let _ = dangerous::decode_unverified(&mutated);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn verify_never_panics_on_arbitrary_strings(s in any::<String>(), now in any::<i64>()) {
        prop_assert!(verifier().verify_at(&s, now).is_err());
        let _ = dangerous::decode_unverified(&s);
    }

    #[test]
    fn verify_never_panics_on_arbitrary_bytes(b in vec(any::<u8>(), 0..512), now in any::<i64>()) {
        let s = String::from_utf8_lossy(&b);
        prop_assert!(verifier().verify_at(&s, now).is_err());
        let _ = dangerous::decode_unverified(&s);
    }

    #[test]
    fn verify_never_panics_on_jwt_shaped_strings(
        s in "(eyJ)?[A-Za-z0-9_=+/ -]{0,60}(\\.[A-Za-z0-9_=+/-]{0,60}){0,4}",
        now in any::<i64>(),
    ) {
        prop_assert!(verifier().verify_at(&s, now).is_err());
        let _ = dangerous::decode_unverified(&s);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Correctly signed arbitrary payload bytes: whatever they are, no panic; if accepted, the
    /// issuer is ours, `exp` is present and valid, and the payload re-parses to the claims.
    #[test]
    fn forged_payloads_never_panic(payload in vec(any::<u8>(), 0..256), now in any::<i64>()) {
        check_forged(&payload, now)?;
    }

    /// Correctly signed arbitrary JSON objects that carry our issuer and an `exp`, with
    /// arbitrary values under the claim names the crate knows.
    #[test]
    fn forged_json_never_panics(
        members in btree_map(claim_name(), json_value(), 0..6),
        exp in prop_oneof![Just(None), any::<i64>().prop_map(Some)],
        now in any::<i64>(),
    ) {
        let mut object: serde_json::Map<String, Value> = members.into_iter().collect();
        object.insert("iss".into(), Value::from(KEY));
        if let Some(exp) = exp {
            object.insert("exp".into(), Value::from(exp));
        }
        let payload = serde_json::to_vec(&Value::Object(object)).unwrap();
        check_forged(&payload, now)?;
    }
}

fn claim_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => select(vec!["sub", "nbf", "iat", "jti", "identity", "name", "kind", "kindDetails",
            "video", "sip", "agent", "inference", "observability", "agentEndpoint", "agentThread",
            "roomConfig", "roomPreset", "sha256", "metadata", "attributes", "aud"])
            .prop_map(str::to_owned),
        1 => text(6),
    ]
}

fn check_forged(payload: &[u8], now: i64) -> Result<(), TestCaseError> {
    let token = forge_payload(payload);
    match verifier().verify_at(&token, now) {
        Ok(v) => {
            prop_assert_eq!(v.claims.iss.as_str(), KEY);
            let exp = v.claims.exp.expect("accepted without exp");
            prop_assert!(now < exp.saturating_add(LEEWAY));
            prop_assert_eq!(v.payload().as_bytes(), payload);
            let reparsed: Claims = serde_json::from_str(v.payload()).unwrap();
            prop_assert_eq!(reparsed, v.claims);
        }
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(!msg.contains(SECRET) && !msg.contains(&token));
        }
    }
    let _ = dangerous::decode_unverified(&token);
    Ok(())
}

// ---- deterministic companions -------------------------------------------------------------------

/// Every byte position of a real token, each replaced by a handful of values (neighbouring
/// base64 characters, the separators, padding, white space): all rejected.
#[test]
fn every_position_mutated_is_rejected() {
    let mut video = VideoGrant::join("standup");
    video.can_publish = Some(false);
    let token = AccessToken::new()
        .with_identity("alice")
        .with_name("Alice")
        .with_video(video)
        .with_attribute("k", "v")
        .sign_at(&key(), forge::NOW)
        .unwrap();
    let verifier = verifier();
    assert!(verifier.verify_at(&token, forge::NOW).is_ok());
    let bytes = token.as_bytes();
    let mut checked = 0;
    for i in 0..bytes.len() {
        for replacement in [
            bytes[i] ^ 0x01,
            bytes[i] ^ 0x20,
            b'.',
            b'=',
            b'A',
            b'_',
            b'-',
            b'+',
            b' ',
            b'\n',
        ] {
            if replacement == bytes[i] {
                continue;
            }
            let mut m = bytes.to_vec();
            m[i] = replacement;
            let mutated = String::from_utf8(m).unwrap();
            let got = verifier.verify_at(&mutated, forge::NOW);
            assert!(got.is_err(), "byte {i} → {replacement:#04x} accepted");
            checked += 1;
        }
        // Deletion.
        let mut m = bytes.to_vec();
        m.remove(i);
        assert!(
            verifier
                .verify_at(&String::from_utf8(m).unwrap(), forge::NOW)
                .is_err()
        );
    }
    assert!(checked > 1000);
}

/// The signature's last character carries 2 unused bits: each of the 3 other spellings of the
/// same 32 bytes is refused (no signature malleability).
#[test]
fn signature_has_one_spelling() {
    let token = AccessToken::new().sign_at(&key(), forge::NOW).unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = token.chars().last().unwrap();
    let index = alphabet.find(last).unwrap();
    assert_eq!(index & 3, 0);
    for low in 1..4 {
        let mut t = token.clone();
        t.pop();
        t.push(alphabet.as_bytes()[index | low] as char);
        assert_eq!(
            verifier().verify_at(&t, forge::NOW).unwrap_err(),
            VerifyError::Base64 {
                part: roomkey_token::Part::Signature
            }
        );
    }
}

/// Egress objects with floats (EncodingOptions has doubles) survive signing and verifying.
///
/// Not every double does: serde_json without its `float_roundtrip` feature parses some
/// values one ULP off (2.5e-308 is one), so such a value changes between signing and
/// verifying. Realistic values (frame rates, intervals) are exact.
#[test]
fn egress_floats_roundtrip() {
    let floats = [
        0.1,
        1.0 / 3.0,
        1.7976931348623157e308,
        29.97,
        -0.0,
        5e-324,
        1e21,
        2.0,
    ];
    for f in floats {
        let mut config = RoomConfiguration::default();
        config.egress = Some(serde_json::json!({"room": {"advanced": {"keyFrameInterval": f}}}));
        let t = AccessToken::new().with_room_config(config);
        let token = t.sign_at(&key(), forge::NOW).unwrap();
        let v = verifier().verify_at(&token, forge::NOW).unwrap();
        assert_eq!(v.claims, t.claims_at(KEY, forge::NOW), "{f:e}");
    }
}

/// The largest claims the server accepts (512 KiB of metadata, 64 KiB of attributes, 256-byte
/// identity and room) mint and verify under the default options.
#[test]
fn limits_sized_token_roundtrips() {
    let t = AccessToken::new()
        .with_identity("i".repeat(limits::MAX_IDENTITY_LEN))
        .with_video(VideoGrant::join("r".repeat(limits::MAX_ROOM_NAME_LEN)))
        .with_metadata("m".repeat(limits::MAX_METADATA_SIZE))
        .with_attribute("a", "v".repeat(limits::MAX_ATTRIBUTES_SIZE - 1));
    let token = t.sign_at(&key(), forge::NOW).unwrap();
    let v = verifier().verify_at(&token, forge::NOW).unwrap();
    assert_eq!(v.claims, t.claims_at(KEY, forge::NOW));
}

/// The same limits, with metadata that JSON must escape (a quote doubles, a control character
/// takes six bytes): still within the server's metadata limit, but the encoded token would not
/// fit the verifiers' 1 MiB cap, so minting refuses it rather than mint what nothing accepts.
#[test]
fn limits_sized_token_with_escaped_metadata_is_refused_at_mint() {
    // 512 KiB of `"` escapes to 1 MiB of JSON: within the server's metadata limit, but the
    // token would be over the cap that verifiers and HTTP servers accept, so minting says so
    // instead of handing out a token nobody will take.
    let t = AccessToken::new()
        .with_identity("alice")
        .with_metadata("\"".repeat(limits::MAX_METADATA_SIZE));
    match t.sign_at(&key(), forge::NOW) {
        Err(MintError::TokenTooLarge { len, max }) => {
            assert_eq!(max, roomkey_token::DEFAULT_MAX_TOKEN_LEN);
            assert!(len > max, "{len}");
        }
        other => panic!("{other:?}"),
    }
    // The largest plain metadata the server allows still fits, and verifies.
    let t = AccessToken::new()
        .with_identity("alice")
        .with_metadata("m".repeat(limits::MAX_METADATA_SIZE));
    let token = t.sign_at(&key(), forge::NOW).expect("within every limit");
    assert!(verifier().verify_at(&token, forge::NOW).is_ok());
}

/// Invalid TTLs are refused at mint time with the TTL in seconds.
#[test]
fn invalid_ttls_are_refused() {
    for (ttl, secs) in [
        (Duration::ZERO, 0),
        (Duration::from_millis(999), 0),
        (Duration::from_secs(MAX_TTL + 1), MAX_TTL + 1),
        (Duration::from_secs(u64::MAX), u64::MAX),
    ] {
        assert_eq!(
            AccessToken::new().with_ttl(ttl).sign_at(&key(), 0),
            Err(MintError::InvalidTtl { seconds: secs })
        );
    }
    assert!(
        AccessToken::new()
            .with_ttl(Duration::from_secs(MAX_TTL))
            .sign_at(&key(), 0)
            .is_ok()
    );
}

/// Base64 of the forge and of the crate agree on the header roomkey emits.
#[test]
fn minted_header_is_the_go_header() {
    let token = AccessToken::new().sign_at(&key(), 0).unwrap();
    assert_eq!(token.split('.').next().unwrap(), b64(forge::HEADER_GO));
}
