//! `roomkey webhook send` against the OFFICIAL LiveKit webhook receivers, and tampered or badly
//! signed webhooks against those receivers and roomkey's own `verify_webhook`.
//!
//! The receivers ([`roomkey_interop::webhook_receiver`]) are small HTTP servers on 127.0.0.1
//! that hand the raw body and the `Authorization` header to the SDK's own code: Node
//! `livekit-server-sdk` 2.19.2 `WebhookReceiver.receive`, Python `livekit-api` 1.2.2
//! `WebhookReceiver(TokenVerifier).receive`, and Go `github.com/livekit/protocol`'s
//! `webhook.ReceiveWebhookEvent` (`webhook.Receive`, then protocol's reading of the event) at
//! the version livekit-server v1.13.5 pins.
//!
//! - Every event `send` can make up is accepted by all three with the same name, id and room.
//! - A body sent with `send --body FILE` is signed byte for byte, whatever its layout.
//! - Refused by all three and by roomkey, each for its own stated reason: a body changed by one
//!   byte, the body re-serialised, a wrong secret, an unknown API key, an expired token, no
//!   `Authorization`, a token without `sha256`, an `Authorization` that is not a JWT.
//! - Where they disagree, the disagreement is asserted, not hidden
//!   ([`where_the_official_receivers_and_roomkey_disagree`]): roomkey accepts a `Bearer `
//!   prefix and an unpadded `sha256` that all three refuse; Go alone accepts a token without
//!   `exp`; Node alone (10 s clock tolerance, against 60 s) refuses a token 30 s past `exp`.
//!   None of these can come from the LiveKit server, which sends no `Bearer `, always pads and
//!   always sets `exp`; the first two are leniencies of roomkey's receiver.
//!
//! Nothing here starts the LiveKit server: every request goes to 127.0.0.1. It runs inside
//! `interop/netns` with the rest (`bash interop/netns cargo test -p roomkey-interop --test
//! webhook_receivers`), after `bash interop/setup.sh` and `cargo build -p roomkey`.
//!
//! This file is long because of the tampering cases and each official receiver's verdict on every
//! one of them.

use roomkey_interop::cli::roomkey_env;
use roomkey_interop::livekit::http_client;
use roomkey_interop::paths::scratch_dir;
use roomkey_interop::webhook_receiver::{ReceiverSdk, WebhookReceiver};
use roomkey_token::webhook::{
    WEBHOOK_CONTENT_TYPE, WEBHOOK_TOKEN_TTL, WebhookOptions, body_digest, sign_webhook_at,
    verify_webhook,
};
use roomkey_token::{AccessToken, ApiSecret, KeyPair, KeySet, unix_now};
use serde_json::{Value, json};

const API_KEY: &str = "APIwebhookinterop";
/// 40 bytes.
const API_SECRET: &str = "webhook-secret-0123456789abcdefghijklmno";
const WRONG_SECRET: &str = "wrong-webhook-secret-0123456789abcdefghi";
const UNKNOWN_KEY: &str = "APIunknown";

/// Every event `roomkey webhook send --event` can make up (its `--help`).
const SENDABLE: [&str; 7] = [
    "room_started",
    "room_finished",
    "participant_joined",
    "participant_left",
    "participant_connection_aborted",
    "track_published",
    "track_unpublished",
];

/// Past every receiver's clock tolerance: Node's 10 s and the 60 s of Go, Python and roomkey
/// (a token signed 400 s ago expired 100 s ago).
const EXPIRED_SIGNED_AGO: i64 = 400;
/// Between Node's 10 s and the others' 60 s: a token signed 330 s ago expired 30 s ago.
const LEEWAY_SIGNED_AGO: i64 = 330;

fn key() -> KeyPair {
    KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).expect("key pair")
}

/// The three receivers, started at once (Node and Python spend most of their start importing
/// the SDK).
fn start_receivers() -> Vec<WebhookReceiver> {
    std::thread::scope(|s| {
        let starting: Vec<_> = ReceiverSdk::ALL
            .iter()
            .map(|&sdk| s.spawn(move || WebhookReceiver::start(sdk, API_KEY, API_SECRET)))
            .collect();
        starting
            .into_iter()
            .map(|h| h.join().expect("a receiver started"))
            .collect()
    })
}

/// `roomkey webhook send ARGS` with the key pair in the environment, as a user runs it.
fn send(args: &[&str]) -> roomkey_interop::cli::Run {
    let mut all = vec!["webhook", "send"];
    all.extend_from_slice(args);
    roomkey_env(
        &[
            ("LIVEKIT_API_KEY", API_KEY),
            ("LIVEKIT_API_SECRET", API_SECRET),
        ],
        &all,
    )
}

/// Checks that `record` is the receiver accepting `event` with this id and room.
fn assert_accepted(sdk: ReceiverSdk, record: &Value, event: &str, id: &str, room: &str) {
    assert_eq!(
        record,
        &json!({"ok": true, "event": event, "id": id, "room": room, "error": null}),
        "{} did not accept {event} as sent",
        sdk.name()
    );
}

// ---------------------------------------------------------------------------------------------
// What `send` makes up, accepted
// ---------------------------------------------------------------------------------------------

#[test]
fn every_event_roomkey_sends_is_accepted_by_every_official_receiver() {
    let receivers = start_receivers();
    std::thread::scope(|s| {
        for mut receiver in receivers {
            s.spawn(move || {
                let sdk = receiver.sdk();
                let url = format!("{}/livekit/webhook", receiver.url());
                for event in SENDABLE {
                    // Not ASCII, so that every receiver must hash the UTF-8 bytes as sent (Node
                    // and Python are handed a string and encode it again).
                    let room = format!("café ✓ {event}");
                    let identity = format!("jörg-{}", sdk.name());
                    let run = send(&[
                        "--url",
                        &url,
                        "--event",
                        event,
                        "--room",
                        &room,
                        "--identity",
                        &identity,
                        "--show-body",
                    ])
                    .expect_code(0);
                    // `send` prints the status line and the app's answer: the receiver answers
                    // the event's name.
                    let lines: Vec<&str> = run.stdout.lines().collect();
                    assert_eq!(
                        lines,
                        [format!("POST {url} -> 200 OK").as_str(), event],
                        "{}: {run:#?}",
                        sdk.name()
                    );
                    // --show-body prints the body that was signed and sent, on stderr.
                    let body: Value = serde_json::from_str(run.stderr.trim())
                        .unwrap_or_else(|e| panic!("--show-body printed no JSON ({e}): {run:#?}"));
                    assert_eq!(body["event"], event, "{body:#}");
                    assert_eq!(body["room"]["name"], room.as_str(), "{body:#}");
                    let id = body["id"].as_str().expect("the body has an id");
                    assert!(id.starts_with("EV_"), "{body:#}");
                    if event.starts_with("participant_") || event.starts_with("track_") {
                        assert_eq!(body["participant"]["identity"], identity.as_str());
                    }
                    assert_accepted(sdk, &receiver.record(), event, id, &room);
                }
                receiver.assert_no_more_records();
            });
        }
    });
}

#[test]
fn a_body_file_is_sent_byte_for_byte_and_accepted_in_its_own_layout() {
    // Pretty-printed, with a field no SDK knows: signed as it is, not re-serialised by `send`
    // first, so every receiver's digest of the raw bytes matches.
    let body = serde_json::to_vec_pretty(&json!({
        "event": "participant_joined",
        "id": "EV_bodyfile0001",
        "createdAt": "1700000000",
        "room": {"sid": "RM_bodyfile0001", "name": "from-a-file"},
        "participant": {"sid": "PA_bodyfile0001", "identity": "alice", "state": "ACTIVE"},
        "notAFieldOfWebhookEvent": {"kept": true}
    }))
    .expect("serializes");
    let path = scratch_dir("webhooks").join(format!("body-{}.json", std::process::id()));
    std::fs::write(&path, &body).expect("write the body file");
    let path = path.to_str().expect("UTF-8 path").to_owned();
    for mut receiver in start_receivers() {
        let url = format!("{}/hook", receiver.url());
        let run = send(&["--url", &url, "--body", &path]).expect_code(0);
        assert_eq!(
            run.stdout,
            format!("POST {url} -> 200 OK\nparticipant_joined\n"),
            "{run:#?}"
        );
        assert_accepted(
            receiver.sdk(),
            &receiver.record(),
            "participant_joined",
            "EV_bodyfile0001",
            "from-a-file",
        );
        receiver.assert_no_more_records();
    }
    let _ = std::fs::remove_file(&path);
}

// ---------------------------------------------------------------------------------------------
// Crafted requests
// ---------------------------------------------------------------------------------------------

/// What a receiver does with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Answered 200 with the event's name.
    Accepted,
    /// Answered 401; the SDK's error contains this.
    Refused(&'static str),
}

use Verdict::{Accepted, Refused};

/// One crafted request and what each side is expected to make of it.
#[derive(Debug)]
struct Case {
    name: &'static str,
    body: Vec<u8>,
    /// The `Authorization` header; `None` sends none.
    authorization: Option<String>,
    /// `verify_webhook`: accepted, or refused with this error code.
    roomkey: Result<(), &'static str>,
    node: Verdict,
    python: Verdict,
    go: Verdict,
}

impl Case {
    fn expected(&self, sdk: ReceiverSdk) -> Verdict {
        match sdk {
            ReceiverSdk::Node => self.node,
            ReceiverSdk::Python => self.python,
            ReceiverSdk::Go => self.go,
        }
    }
}

/// The event every crafted case carries (before any tampering).
const CRAFTED_ID: &str = "EV_crafted00001";
const CRAFTED_ROOM: &str = "tamper-room";
const CRAFTED_EVENT: &str = "participant_joined";

/// A realistic `participant_joined` body, compact as the server writes it.
fn crafted_body(now: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "event": CRAFTED_EVENT,
        "id": CRAFTED_ID,
        "createdAt": now.to_string(),
        "room": {
            "sid": "RM_crafted00001",
            "name": CRAFTED_ROOM,
            "emptyTimeout": 300,
            "creationTime": now.to_string()
        },
        "participant": {
            "sid": "PA_crafted00001",
            "identity": "mallory",
            "state": "ACTIVE",
            "joinedAt": now.to_string()
        }
    }))
    .expect("serializes")
}

/// An HS256 JWT over `payload` signed with `secret`, written by hand: for the claims roomkey's
/// signer will not write (no `exp`).
fn hand_signed(payload: &Value, secret: &str) -> String {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac as _};
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(payload).expect("serializes"))
    );
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(input.as_bytes());
    format!(
        "{input}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// What happened to one case at one receiver, as a line for the failure report.
#[derive(Debug)]
struct Observed {
    status: u16,
    answer: String,
    record: Value,
}

/// POSTs the case as the server would (same content type), with its own Authorization.
fn post(receiver: &mut WebhookReceiver, case: &Case) -> Observed {
    let mut request = http_client()
        .post(format!("{}/livekit/webhook", receiver.url()))
        .header(reqwest::header::CONTENT_TYPE, WEBHOOK_CONTENT_TYPE)
        .header(reqwest::header::USER_AGENT, "LiveKit")
        .body(case.body.clone());
    if let Some(auth) = &case.authorization {
        request = request.header(reqwest::header::AUTHORIZATION, auth);
    }
    let response = request
        .send()
        .unwrap_or_else(|e| panic!("POST {} to {}: {e}", case.name, receiver.sdk().name()));
    let status = response.status().as_u16();
    let answer = response.text().unwrap_or_default();
    Observed {
        status,
        answer,
        record: receiver.record(),
    }
}

/// Whether `seen` is `expected` for a case whose event (when accepted) is the crafted one;
/// `None` when it is, else what differs.
fn mismatch(expected: Verdict, seen: &Observed) -> Option<String> {
    match expected {
        Accepted => {
            let want = json!({"ok": true, "event": CRAFTED_EVENT, "id": CRAFTED_ID,
                              "room": CRAFTED_ROOM, "error": null});
            (seen.status != 200 || seen.answer != CRAFTED_EVENT || seen.record != want)
                .then(|| format!("expected it accepted; got {seen:?}"))
        }
        Refused(reason) => {
            let error = seen.record["error"].as_str().unwrap_or_default();
            let ok = seen.status == 401
                && seen.record["ok"] == false
                && error.contains(reason)
                // The answer is the SDK's message (Go's http.Error adds a newline).
                && seen.answer.trim_end() == error;
            (!ok).then(|| format!("expected it refused with {reason:?}; got {seen:?}"))
        }
    }
}

/// Runs every case at every receiver and at `verify_webhook`, and panics with every mismatch
/// at once (a table of what each side did), so that one run shows the whole picture.
fn check_cases(cases: &[Case], now: i64) {
    let keys = KeySet::single(key());
    let mut receivers = start_receivers();
    let mut problems = Vec::new();
    for case in cases {
        let roomkey = verify_webhook(
            &case.body,
            case.authorization.as_deref(),
            &keys,
            WebhookOptions::default().at(now),
        );
        match (&roomkey, case.roomkey) {
            (Ok(event), Ok(())) => {
                if event.id != CRAFTED_ID || event.room_name() != Some(CRAFTED_ROOM) {
                    problems.push(format!(
                        "{}: roomkey read another event: {event:?}",
                        case.name
                    ));
                }
            }
            (Err(e), Err(code)) if e.code() == code => {}
            (got, want) => problems.push(format!(
                "{}: roomkey expected {want:?}, got {:?}",
                case.name,
                got.as_ref()
                    .map(|e| &e.id)
                    .map_err(|e| (e.code(), e.to_string()))
            )),
        }
        eprintln!(
            "{}: roomkey {:?}",
            case.name,
            roomkey.as_ref().map(|_| ()).map_err(|e| e.code())
        );
        for receiver in &mut receivers {
            let seen = post(receiver, case);
            eprintln!(
                "  {}: {} {}",
                receiver.sdk().name(),
                seen.status,
                seen.record
            );
            if let Some(problem) = mismatch(case.expected(receiver.sdk()), &seen) {
                problems.push(format!(
                    "{}: {}: {problem}",
                    case.name,
                    receiver.sdk().name()
                ));
            }
        }
    }
    for receiver in &mut receivers {
        receiver.assert_no_more_records();
    }
    assert!(
        problems.is_empty(),
        "{} mismatches:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn tampered_and_badly_signed_webhooks_are_refused_by_every_official_receiver_and_by_roomkey() {
    let now = unix_now();
    let key = key();
    let body = crafted_body(now);
    let signed = sign_webhook_at(&body, &key, now).expect("signs");

    let mut one_byte = body.clone();
    let at = body
        .windows(CRAFTED_ROOM.len())
        .position(|w| w == CRAFTED_ROOM.as_bytes())
        .expect("the room's name is in the body");
    one_byte[at] = b'T';
    // Still valid JSON (only the room's name changed), so a refusal is the digest's doing.
    serde_json::from_slice::<Value>(&one_byte).expect("still JSON");

    let parsed: Value = serde_json::from_slice(&body).expect("JSON");
    let pretty = serde_json::to_vec_pretty(&parsed).expect("serializes");
    assert_ne!(pretty, body);
    assert_eq!(
        serde_json::from_slice::<Value>(&pretty).expect("JSON"),
        parsed
    );

    let wrong_secret = KeyPair::new(API_KEY, &ApiSecret::new(WRONG_SECRET)).expect("key pair");
    // The right secret under another key's name: only the key lookup can refuse it.
    let unknown_key = KeyPair::new(UNKNOWN_KEY, &ApiSecret::new(API_SECRET)).expect("key pair");
    let no_sha256 = AccessToken::new()
        .with_ttl(WEBHOOK_TOKEN_TTL)
        .sign_at(&key, now)
        .expect("signs");

    let case =
        |name, body: &[u8], auth: Option<String>, roomkey, [node, python, go]: [Verdict; 3]| Case {
            name,
            body: body.to_vec(),
            authorization: auth,
            roomkey,
            node,
            python,
            go,
        };
    let all = |v: Verdict| [v; 3];
    let cases = [
        // The control: the untampered request, so that each refusal below is the tampering's.
        case(
            "as signed",
            &body,
            Some(signed.clone()),
            Ok(()),
            all(Accepted),
        ),
        case(
            "a body changed by one byte after signing",
            &one_byte,
            Some(signed.clone()),
            Err("body_mismatch"),
            [
                Refused("sha256 checksum of body does not match"),
                Refused("hash mismatch"),
                Refused("ErrInvalidChecksum"),
            ],
        ),
        case(
            "the body re-serialised (pretty-printed JSON)",
            &pretty,
            Some(signed),
            Err("body_mismatch"),
            [
                Refused("sha256 checksum of body does not match"),
                Refused("hash mismatch"),
                Refused("ErrInvalidChecksum"),
            ],
        ),
        case(
            "signed with a wrong secret",
            &body,
            Some(sign_webhook_at(&body, &wrong_secret, now).expect("signs")),
            Err("bad_token"),
            [
                Refused("ERR_JWS_SIGNATURE_VERIFICATION_FAILED"),
                Refused("InvalidSignatureError"),
                Refused("ErrTokenSignatureInvalid"),
            ],
        ),
        case(
            "signed with an unknown API key",
            &body,
            Some(sign_webhook_at(&body, &unknown_key, now).expect("signs")),
            Err("unknown_key"),
            [
                Refused("ERR_JWT_CLAIM_VALIDATION_FAILED: unexpected \"iss\" claim value"),
                Refused("InvalidIssuerError"),
                Refused("ErrSecretNotFound"),
            ],
        ),
        case(
            "expired (signed 400 s ago, exp 100 s ago)",
            &body,
            Some(sign_webhook_at(&body, &key, now - EXPIRED_SIGNED_AGO).expect("signs")),
            Err("bad_token"),
            [
                Refused("ERR_JWT_EXPIRED"),
                Refused("ExpiredSignatureError"),
                Refused("ErrTokenExpired"),
            ],
        ),
        case(
            "no Authorization header",
            &body,
            None,
            Err("missing_auth"),
            [
                Refused("authorization header is empty"),
                // The Python receiver passes "" for an absent header (receive takes a str);
                // PyJWT refuses it as it would any non-token.
                Refused("DecodeError"),
                Refused("ErrNoAuthHeader"),
            ],
        ),
        case(
            "a token without a sha256 claim",
            &body,
            Some(no_sha256),
            Err("no_sha256"),
            [
                // Node and Go compare the missing claim ("" or undefined) with the digest.
                Refused("sha256 checksum of body does not match"),
                Refused("sha256 was not found in the token"),
                Refused("ErrInvalidChecksum"),
            ],
        ),
        case(
            "an Authorization that is not a JWT",
            &body,
            Some("not-a-jwt".to_owned()),
            Err("bad_token"),
            [
                Refused("ERR_JWS_INVALID"),
                Refused("DecodeError"),
                Refused("ErrTokenMalformed"),
            ],
        ),
    ];
    check_cases(&cases, now);
}

/// Where roomkey and the official receivers do not agree, each asserted as it is. None of these
/// requests can come from the LiveKit server (it sends no `Bearer `, pads the digest and sets
/// `exp`), so none lets a forged webhook through roomkey that a signed one would not have
/// needed; they matter to a sender other than the server, such as a test harness.
#[test]
fn where_the_official_receivers_and_roomkey_disagree() {
    let now = unix_now();
    let key = key();
    let body = crafted_body(now);
    let digest = body_digest(&body);
    assert!(digest.ends_with('='), "a SHA-256 digest's base64 is padded");
    let unpadded = AccessToken::new()
        .with_sha256(digest.trim_end_matches('='))
        .with_ttl(WEBHOOK_TOKEN_TTL)
        .sign_at(&key, now)
        .expect("signs");
    let claims = |exp: Option<i64>| {
        let mut claims = json!({"iss": API_KEY, "nbf": now, "sha256": digest});
        if let Some(exp) = exp {
            claims["exp"] = json!(exp);
        }
        claims
    };
    let case = |name, auth: String, roomkey, node, python, go| Case {
        name,
        body: body.clone(),
        authorization: Some(auth),
        roomkey,
        node,
        python,
        go,
    };
    let cases = [
        // The control for the hand-signed tokens: with an exp, every side accepts it, so the
        // next case's verdicts are about the exp alone.
        case(
            "hand-signed, with exp",
            hand_signed(&claims(Some(now + 300)), API_SECRET),
            Ok(()),
            Accepted,
            Accepted,
            Accepted,
        ),
        // Go's ParseWithClaims is not given jwt.WithExpirationRequired: a token without exp
        // verifies there, and webhook.Receive accepts the webhook. Node (requiredClaims) and
        // Python (require: exp) refuse it, as roomkey does.
        case(
            "no exp claim",
            hand_signed(&claims(None), API_SECRET),
            Err("bad_token"),
            Refused("ERR_JWT_CLAIM_VALIDATION_FAILED: missing required \"exp\" claim"),
            Refused("MissingRequiredClaimError"),
            Accepted,
        ),
        // roomkey strips a "Bearer " prefix (verify_webhook's documented leniency); the SDKs
        // take the header as the token and cannot parse it.
        case(
            "Authorization: Bearer <token>",
            format!(
                "Bearer {}",
                sign_webhook_at(&body, &key, now).expect("signs")
            ),
            Ok(()),
            Refused("ERR_JWS_INVALID"),
            Refused("DecodeError"),
            Refused("ErrTokenMalformed"),
        ),
        // roomkey compares decoded digests and decodes the claim with or without padding; Go
        // and Node compare the padded base64 text, and Python's b64decode needs the padding.
        case(
            "a sha256 claim without its base64 padding",
            unpadded,
            Ok(()),
            Refused("sha256 checksum of body does not match"),
            Refused("Incorrect padding"),
            Refused("ErrInvalidChecksum"),
        ),
        // 30 s past exp: within the 60 s leeway of Go, Python and roomkey, past Node's 10 s
        // default clock tolerance. An SDK difference; roomkey sides with the server's own Go.
        case(
            "exp 30 s ago",
            sign_webhook_at(&body, &key, now - LEEWAY_SIGNED_AGO).expect("signs"),
            Ok(()),
            Refused("ERR_JWT_EXPIRED"),
            Accepted,
            Accepted,
        ),
    ];
    check_cases(&cases, now);
}

// ---------------------------------------------------------------------------------------------
// The receivers themselves
// ---------------------------------------------------------------------------------------------

#[test]
fn each_receiver_stops_on_eof_of_stdin_and_on_sigterm() {
    std::thread::scope(|s| {
        for sdk in ReceiverSdk::ALL {
            s.spawn(move || {
                // Bounded: one that ignored either is killed after its stop timeout, which
                // shows here as a signal, not as a hang.
                let mut receiver = WebhookReceiver::start(sdk, API_KEY, API_SECRET);
                let status = receiver.stop();
                assert!(status.success(), "{} on EOF: {status}", sdk.name());
                let mut receiver = WebhookReceiver::start(sdk, API_KEY, API_SECRET);
                let status = receiver.terminate();
                assert!(status.success(), "{} on SIGTERM: {status}", sdk.name());
            });
        }
    });
}
