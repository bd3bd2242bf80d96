//! The token doctor's findings: every code the token alone can give has a token that triggers
//! it and a near miss that does not.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use roomkey_token::inspect::{Code, InspectOptions, Inspection, Severity, Signature, inspect};
use roomkey_token::{ApiSecret, KeyPair, KeySet};
use serde_json::{Value, json};
use sha2::Sha256;

const KEY: &str = "APIdoctor";
const SECRET: &str = "doctor-secret-0123456789abcdefghijklmnop";
const NOW: i64 = 1_800_000_000;
const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

fn keys() -> KeySet {
    KeySet::single(KeyPair::new(KEY, &ApiSecret::new(SECRET)).unwrap())
}

fn sign_raw(header: &str, payload: &str, secret: &str) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(payload)
    );
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

fn sign(payload: &Value) -> String {
    sign_raw(HS256, &payload.to_string(), SECRET)
}

/// A join token with nothing wrong in it.
fn good() -> Value {
    json!({
        "iss": KEY, "sub": "alice", "iat": NOW, "nbf": NOW, "exp": NOW + 3600,
        "video": {"roomJoin": true, "room": "standup"}
    })
}

/// `good()` with `changes` merged in (a `null` removes a member), one level deep for objects.
fn with(changes: Value) -> Value {
    let mut base = good();
    let (Value::Object(base_map), Value::Object(changes)) = (&mut base, changes) else {
        unreachable!()
    };
    for (k, v) in changes {
        match (base_map.get_mut(&k), v) {
            (_, Value::Null) => {
                base_map.remove(&k);
            }
            (Some(Value::Object(inner)), Value::Object(more)) => {
                for (ik, iv) in more {
                    if iv.is_null() {
                        inner.remove(&ik);
                    } else {
                        inner.insert(ik, iv);
                    }
                }
            }
            (_, v) => {
                base_map.insert(k, v);
            }
        }
    }
    base
}

fn judge(token: &str, now: i64) -> Inspection {
    inspect(token, Some(&keys()), InspectOptions::at(now))
}

fn codes(i: &Inspection) -> Vec<&'static str> {
    i.findings.iter().map(|f| f.code.as_str()).collect()
}

/// One code: the token that must give it (with its severity) and the near miss that must not.
struct Case {
    code: Code,
    severity: Severity,
    trigger: (String, i64),
    near_miss: (String, i64),
}

fn case(code: Code, severity: Severity, trigger: Value, near_miss: Value) -> Case {
    Case {
        code,
        severity,
        trigger: (sign(&trigger), NOW),
        near_miss: (sign(&near_miss), NOW),
    }
}

fn at(code: Code, severity: Severity, token: &Value, trigger_now: i64, near_now: i64) -> Case {
    Case {
        code,
        severity,
        trigger: (sign(token), trigger_now),
        near_miss: (sign(token), near_now),
    }
}

fn big(n: usize) -> String {
    "m".repeat(n)
}

#[test]
fn a_good_token_has_no_findings_and_a_valid_signature() {
    let i = judge(&sign(&good()), NOW);
    assert_eq!(codes(&i), Vec::<&str>::new());
    assert_eq!(i.signature, Signature::Valid);
    assert!(!i.has_errors());
}

#[test]
fn every_code_has_a_trigger_and_a_near_miss() {
    use Code::*;
    use Severity::{Error, Info, Warning};
    let exp = NOW + 3600;
    let good_token = good();
    let cases = vec![
        Case {
            code: Malformed,
            severity: Error,
            trigger: (format!("{}.x", sign(&good_token)), NOW),
            near_miss: (format!("  Bearer {}\n", sign(&good_token)), NOW),
        },
        Case {
            code: AlgNotHs256,
            severity: Error,
            trigger: (
                sign_raw(
                    r#"{"alg":"HS512","typ":"JWT"}"#,
                    &good_token.to_string(),
                    SECRET,
                ),
                NOW,
            ),
            near_miss: (
                sign_raw(
                    r#"{"typ":"JWT", "alg":"HS256"}"#,
                    &good_token.to_string(),
                    SECRET,
                ),
                NOW,
            ),
        },
        Case {
            code: BadSignature,
            severity: Error,
            trigger: (
                sign_raw(
                    HS256,
                    &good_token.to_string(),
                    "another-secret-0123456789abcdefgh",
                ),
                NOW,
            ),
            near_miss: (sign(&good_token), NOW),
        },
        case(UnknownKey, Error, with(json!({"iss": "APIother"})), good()),
        case(NoIssuer, Error, with(json!({"iss": null})), good()),
        at(Expired, Error, &good_token, exp + 60, exp + 59),
        at(ExpiredWithinLeeway, Warning, &good_token, exp, exp - 1),
        at(NotYetValid, Error, &good_token, NOW - 61, NOW - 60),
        // A few seconds ahead is two clocks that agree well enough.
        at(
            NotYetValidWithinLeeway,
            Warning,
            &good_token,
            NOW - 6,
            NOW - 5,
        ),
        case(
            IssuedInFuture,
            Warning,
            with(json!({"iat": NOW + 6, "nbf": null})),
            with(json!({"iat": NOW + 5, "nbf": null})),
        ),
        case(NoExp, Warning, with(json!({"exp": null})), good()),
        case(
            NoIdentity,
            Error,
            with(json!({"sub": null})),
            with(json!({"sub": null, "jti": "alice"})),
        ),
        case(
            JoinWithoutRoom,
            Error,
            with(json!({"video": {"room": null}})),
            good(),
        ),
        case(
            NoJoin,
            Error,
            with(json!({"video": {"roomJoin": null, "hidden": true}})),
            with(json!({"video": {"roomJoin": null, "roomList": true}})),
        ),
        case(
            UnknownClaim,
            Error,
            with(json!({"video": {"canpublish": false}})),
            with(json!({"video": {"canPublish": false}})),
        ),
        case(
            GrantOutsideVideo,
            Error,
            with(json!({"canPublish": false})),
            with(json!({"video": {"canPublish": false}})),
        ),
        case(
            WrongType,
            Error,
            with(json!({"video": {"canPublish": "false"}})),
            with(json!({"video": {"canPublish": false}})),
        ),
        case(
            SourcesWithoutPublish,
            Warning,
            with(json!({"video": {"canPublish": false, "canPublishSources": ["camera"]}})),
            with(json!({"video": {"canPublishSources": ["camera"]}})),
        ),
        case(
            TtlTooShort,
            Warning,
            with(json!({"exp": NOW + 120})),
            with(json!({"exp": NOW + 121})),
        ),
        case(
            TtlVeryLong,
            Warning,
            with(json!({"exp": NOW + 86_401})),
            with(json!({"exp": NOW + 86_400})),
        ),
        case(
            IdentityTooLong,
            Error,
            with(json!({"sub": big(257)})),
            with(json!({"sub": big(256)})),
        ),
        case(
            RoomNameTooLong,
            Error,
            with(json!({"video": {"room": big(257)}})),
            with(json!({"video": {"room": big(256)}})),
        ),
        case(
            MetadataOverLimit,
            Error,
            with(json!({"metadata": big(512 * 1024 + 1)})),
            with(json!({"metadata": big(512 * 1024)})),
        ),
        // 80 % of 512 KiB is 419,430.4 bytes.
        case(
            MetadataNearLimit,
            Warning,
            with(json!({"metadata": big(419_431)})),
            with(json!({"metadata": big(419_430)})),
        ),
        case(
            AttributesOverLimit,
            Error,
            with(json!({"attributes": {"k": big(64 * 1024)}})),
            with(json!({"attributes": {"k": big(64 * 1024 - 1)}})),
        ),
        // 80 % of 64 KiB is 52,428.8 bytes; the key counts.
        case(
            AttributesNearLimit,
            Warning,
            with(json!({"attributes": {"k": big(52_428)}})),
            with(json!({"attributes": {"k": big(52_427)}})),
        ),
        case(
            AdminGrantInJoinToken,
            Warning,
            with(json!({"video": {"roomAdmin": true}})),
            with(json!({"video": {"roomAdmin": true, "roomJoin": null}})),
        ),
        case(
            EgressCredentialsInRoomConfig,
            Warning,
            with(json!({"roomConfig": {"egress": {"room": {"fileOutputs": [
                {"s3": {"bucket": "b", "secret": "hunter2"}}]}}}})),
            with(json!({"roomConfig": {"egress": {"room": {"fileOutputs": [
                {"s3": {"bucket": "b"}}]}}}})),
        ),
        case(
            AgentsNeedNewRoom,
            Info,
            with(json!({"roomConfig": {"agents": [{"agentName": "helper"}]}})),
            with(json!({"roomConfig": {"name": "standup"}})),
        ),
    ];
    let mut covered: Vec<Code> = cases.iter().map(|c| c.code).collect();
    for c in &cases {
        let trigger = judge(&c.trigger.0, c.trigger.1);
        let found = trigger.findings.iter().find(|f| f.code == c.code);
        let Some(found) = found else {
            panic!("{:?} not found; found {:?}", c.code, codes(&trigger));
        };
        assert_eq!(found.severity, c.severity, "{:?}: {found:?}", c.code);
        assert!(!found.message.is_empty() && !found.hint.is_empty());
        let near = judge(&c.near_miss.0, c.near_miss.1);
        assert!(
            !near.has(c.code),
            "{:?} found in the near miss: {:?}",
            c.code,
            near.findings
        );
    }
    // The oversized URL has its own boundary; the unchecked signature needs no keys.
    covered.extend([OversizedForUrl, SignatureUnchecked]);
    let server_side = [
        ClockSkew,
        ServerAccepted,
        ServerRefused,
        KeyNotOnServer,
        RoomNotFound,
        AgentsIgnoredForExistingRoom,
        ServerUnreachable,
    ];
    for code in Code::ALL {
        assert!(
            covered.contains(code) || server_side.contains(code),
            "{code:?} has no case here and is not a server finding"
        );
    }
}

#[test]
fn a_token_that_does_not_fit_in_a_url_is_found_at_the_boundary() {
    // Grow the metadata until the connect URL passes 8 KiB; the token before that is the near
    // miss.
    let mut previous = None;
    for n in 5_000.. {
        let token = sign(&with(json!({"metadata": big(n)})));
        if token.len() + 300 > 8 * 1024 {
            let near: String = previous.unwrap();
            assert!(judge(&token, NOW).has(Code::OversizedForUrl));
            assert!(
                !judge(&near, NOW).has(Code::OversizedForUrl),
                "{}",
                near.len()
            );
            return;
        }
        previous = Some(token);
    }
}

#[test]
fn without_keys_the_signature_is_unchecked_but_everything_else_is_judged() {
    let token = sign_raw(
        HS256,
        &with(json!({"canPublish": false})).to_string(),
        "wrong",
    );
    let i = inspect(&token, None, InspectOptions::at(NOW));
    assert_eq!(i.signature, Signature::Unchecked);
    assert!(i.has(Code::SignatureUnchecked));
    assert!(i.has(Code::GrantOutsideVideo));
    assert!(!i.has(Code::BadSignature));
    let with_keys = judge(&sign(&good()), NOW);
    assert!(!with_keys.has(Code::SignatureUnchecked));
}

#[test]
fn misspellings_say_what_was_meant() {
    let i = judge(
        &sign(&with(
            json!({"roomName": "standup", "video": {"canpublish": false}}),
        )),
        NOW,
    );
    let message = |code| {
        i.findings
            .iter()
            .filter(|f| f.code == code)
            .map(|f| f.message.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(
        message(Code::GrantOutsideVideo).contains("video.room"),
        "{}",
        message(Code::GrantOutsideVideo)
    );
    assert!(
        message(Code::UnknownClaim).contains("did you mean video.canPublish?"),
        "{}",
        message(Code::UnknownClaim)
    );
    // A claim of the application's own draws a warning without a guess.
    let custom = judge(&sign(&with(json!({"tenant": "acme"}))), NOW);
    let f = custom.findings.first().unwrap();
    assert_eq!(
        (f.code, f.severity),
        (Code::UnknownClaim, Severity::Warning)
    );
    assert!(!f.message.contains("did you mean"), "{}", f.message);
    // An agent option written straight into roomConfig belongs in its agents.
    let flat = judge(
        &sign(&with(json!({"roomConfig": {"agentName": "helper"}}))),
        NOW,
    );
    let f = flat
        .findings
        .iter()
        .find(|f| f.code == Code::UnknownClaim)
        .unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.hint.contains("roomConfig.agents"), "{}", f.hint);
}

#[test]
fn wrong_types_name_the_member_and_errors_come_first() {
    let i = judge(
        &sign(&with(
            json!({"exp": "soon", "tenant": "acme", "video": {"canPublish": "yes"}}),
        )),
        NOW,
    );
    let wrong: Vec<&str> = i
        .findings
        .iter()
        .filter(|f| f.code == Code::WrongType)
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    assert!(
        wrong
            .iter()
            .any(|m| m.starts_with("exp has the wrong type"))
    );
    assert!(
        wrong
            .iter()
            .any(|m| m.starts_with("video.canPublish has the wrong type"))
    );
    assert!(i.claims.is_none(), "claims of the wrong types do not read");
    let severities: Vec<Severity> = i.findings.iter().map(|f| f.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(severities, sorted);
}

#[test]
fn the_json_has_every_part_with_times_and_effective_permissions() {
    let token = sign(&with(
        json!({"video": {"canPublish": false}, "sip": {"call": true}}),
    ));
    let i = judge(&token, NOW + 60);
    let j = i.to_json();
    let object = j.as_object().unwrap();
    let mut keys: Vec<&str> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "claims",
            "findings",
            "header",
            "permissions",
            "server",
            "signature",
            "size",
            "times"
        ]
    );
    assert_eq!(j["signature"], "valid");
    assert_eq!(j["header"], json!({"alg": "HS256", "typ": "JWT"}));
    assert_eq!(j["claims"]["sub"], "alice");
    assert_eq!(j["server"], Value::Null);
    assert_eq!(j["times"]["exp"]["unix"], NOW + 3600);
    assert_eq!(j["times"]["exp"]["utc"], "2027-01-15T09:00:00Z");
    assert_eq!(j["times"]["exp"]["relative"], "in 59 min");
    assert_eq!(j["times"]["iat"]["relative"], "1 min ago");
    assert_eq!(j["times"]["leeway_seconds"], 60);
    assert_eq!(j["times"]["ttl_seconds"], 3600);
    let video = &j["permissions"]["video"];
    assert_eq!(video["canPublish"], false);
    assert_eq!(video["canPublishData"], false, "follows canPublish");
    assert_eq!(video["canSubscribe"], true, "unset means yes");
    assert_eq!(video["canPublishSources"], "all");
    assert_eq!(
        j["permissions"]["sip"],
        json!({"admin": false, "call": true})
    );
    assert_eq!(j["permissions"]["agent"], Value::Null);
    assert_eq!(j["size"]["bytes"], token.len());
    assert_eq!(j["size"]["fits_in_url"], true);
    assert_eq!(j["findings"], json!([]));
    // A finding's JSON has exactly the four fields.
    let j = judge(&token, NOW + 3600 + 61).to_json();
    assert_eq!(
        j["findings"][0],
        json!({
            "code": "expired",
            "severity": "error",
            "message": "the token expired 1 min 1 s ago (exp 2027-01-15T09:00:00Z), beyond the 1 min leeway",
            "hint": "mint a new one; if it was minted moments ago, the minting machine's clock is behind (compare with --server URL)"
        })
    );
}
