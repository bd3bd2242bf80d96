//! The real LiveKit server's own verdict on roomkey's tokens: `GET /rtc/validate`, the check
//! the client SDKs make before they join, on `livekit-server` v1.13.5.

use std::time::Duration;

use roomkey_interop::livekit::{API_KEY, API_SECRET};
use roomkey_interop::{LiveKitServer, specs};
use roomkey_token::{AccessToken, ApiSecret, Claims, KeyPair, KeySet, Verifier};

fn key() -> KeyPair {
    KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).expect("key pair")
}

/// What `/rtc/validate` answers a correctly signed, unexpired token, by the checks of the
/// server's `rtcservice.go` in their order: a video grant, the join grant, an identity, a room.
fn expected_answer(claims: &serde_json::Value) -> (u16, &'static str) {
    let video = &claims["video"];
    if video.is_null() {
        return (401, "no permissions to access the room");
    }
    if video["roomJoin"] != true {
        return (401, "permissions denied");
    }
    if claims["sub"].as_str().unwrap_or("").is_empty() {
        return (400, "identity cannot be empty");
    }
    if video["room"].as_str().unwrap_or("").is_empty() {
        return (400, "no room name");
    }
    (200, "success")
}

#[test]
fn every_spec_gets_the_verdict_its_grants_call_for() {
    let server = LiveKitServer::start();
    let key = key();
    let verifier = Verifier::new(KeySet::single(key.clone()));
    let specs = specs::load();
    assert_eq!(specs.len(), 40, "interop/specs.json has the 40 specs");
    let mut problems = Vec::new();
    let mut joins = 0;
    for spec in &specs {
        let claims: Claims = serde_json::from_value(spec.claims.clone()).expect("spec claims");
        let token = AccessToken::from_claims(claims)
            .with_ttl(Duration::from_secs(spec.ttl))
            .sign(&key)
            .unwrap_or_else(|e| panic!("roomkey cannot mint {}: {e}", spec.id));
        verifier
            .verify(&token)
            .unwrap_or_else(|e| panic!("roomkey refuses its own token for {}: {e}", spec.id));
        let (status, body) = server.validate(&token);
        let (want_status, want_body) = expected_answer(&spec.claims);
        if status != want_status || body.trim() != want_body {
            problems.push(format!(
                "{}: server answered {status} {body:?}, expected {want_status} {want_body:?}",
                spec.id
            ));
        }
        joins += usize::from(status == 200);
    }
    assert!(
        problems.is_empty(),
        "verdicts differ:\n{}",
        problems.join("\n")
    );
    assert!(
        joins >= 25,
        "most specs are join tokens; only {joins} joined"
    );
}

// ---------------------------------------------------------------------------------------------
// The verdict matrix: roomkey `token verify` against the server, on hostile and edge-case tokens
// ---------------------------------------------------------------------------------------------

mod forge {
    //! Tokens built byte by byte and signed here with `hmac`/`sha2`, not with roomkey's signer,
    //! so that a case can carry what roomkey would never write.
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use sha2::{Sha256, Sha384, Sha512};

    pub fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// `header.payload.signature`, the MAC chosen by `alg` (`none` leaves it empty).
    pub fn token(header: &str, payload: &str, alg: &str, secret: &str) -> String {
        let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
        let tag = mac(alg, secret, signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&tag))
    }

    pub fn mac(alg: &str, secret: &str, input: &[u8]) -> Vec<u8> {
        let key = secret.as_bytes();
        match alg {
            "HS256" => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
                m.update(input);
                m.finalize().into_bytes().to_vec()
            }
            "HS384" => {
                let mut m = Hmac::<Sha384>::new_from_slice(key).expect("any key length");
                m.update(input);
                m.finalize().into_bytes().to_vec()
            }
            "HS512" => {
                let mut m = Hmac::<Sha512>::new_from_slice(key).expect("any key length");
                m.update(input);
                m.finalize().into_bytes().to_vec()
            }
            "none" => Vec::new(),
            other => panic!("no MAC for {other}"),
        }
    }
}

/// Accepted or refused, as each side says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accept,
    Refuse,
}

use Verdict::{Accept, Refuse};

/// One row: a token, what each side is expected to say, and why when they differ.
struct Row {
    name: &'static str,
    token: String,
    roomkey: Verdict,
    server: Verdict,
    /// Required exactly when the two verdicts differ: why roomkey differs on purpose (the
    /// README's "Verification rules" lists the same).
    why: Option<&'static str>,
}

/// Why roomkey refuses what golang-jwt takes: RFC 7519 makes a NumericDate a JSON number; no
/// LiveKit SDK writes a string, and a string here is a forgery or a bug upstream.
const NUMERIC_STRING: &str = "RFC 7519's NumericDate is a JSON number; golang-jwt also parses a \
    numeric string, which no LiveKit SDK writes";

/// The token is valid; the join is refused by the server's configurable limits, which
/// `token verify` reports as a warning.
const OVER_LIMIT: &str = "the token is valid, the server's default limits (256 bytes) refuse the \
    join; `token verify` says so in a warning";

const HS256: &str = r#"{"alg":"HS256","typ":"JWT"}"#;
const ROOM: &str = "verdict-matrix";

fn now() -> i64 {
    roomkey_token::unix_seconds(std::time::SystemTime::now())
}

/// A join token's payload with `extra` members spliced in after the standard ones.
fn join_payload(iss: &str, nbf: i64, exp: Option<i64>, extra: &str) -> String {
    let exp = exp.map(|e| format!(r#","exp":{e}"#)).unwrap_or_default();
    format!(
        r#"{{"iss":"{iss}","sub":"alice","nbf":{nbf}{exp},"video":{{"roomJoin":true,"room":"{ROOM}"}}{extra}}}"#
    )
}

fn signed(payload: &str) -> String {
    forge::token(HS256, payload, "HS256", API_SECRET)
}

fn rows() -> Vec<Row> {
    let t = now();
    let good = join_payload(API_KEY, t - 10, Some(t + 600), "");
    let row = |name, token, roomkey, server, why| Row {
        name,
        token,
        roomkey,
        server,
        why,
    };
    let same = |name, token, verdict| row(name, token, verdict, verdict, None);
    let long = "x".repeat(257);
    let mut rows = vec![
        same("valid join token", signed(&good), Accept),
        same(
            "expired 30 s ago (inside the 60 s leeway)",
            signed(&join_payload(API_KEY, t - 600, Some(t - 30), "")),
            Accept,
        ),
        same(
            "expired 90 s ago (beyond the leeway)",
            signed(&join_payload(API_KEY, t - 600, Some(t - 90), "")),
            Refuse,
        ),
        same(
            "nbf 30 s ahead (inside the leeway)",
            signed(&join_payload(API_KEY, t + 30, Some(t + 600), "")),
            Accept,
        ),
        same(
            "nbf 90 s ahead (beyond the leeway)",
            signed(&join_payload(API_KEY, t + 90, Some(t + 600), "")),
            Refuse,
        ),
        row(
            "no exp",
            signed(&join_payload(API_KEY, t - 10, None, "")),
            Refuse,
            Accept,
            Some(
                "a token without exp never expires; the SDK verifiers require exp, and LiveKit's \
                 own protocol library requires it from August 2026 on (WithExpirationRequired)",
            ),
        ),
        same(
            "iat an hour ahead (the server does not check iat)",
            signed(&join_payload(
                API_KEY,
                t - 10,
                Some(t + 600),
                &format!(r#","iat":{}"#, t + 3600),
            )),
            Accept,
        ),
        same(
            "unknown API key",
            forge::token(
                HS256,
                &join_payload("APIunknown", t - 10, Some(t + 600), ""),
                "HS256",
                API_SECRET,
            ),
            Refuse,
        ),
        same(
            "signed with another secret",
            forge::token(
                HS256,
                &good,
                "HS256",
                "another-secret-0123456789abcdefghijklmn",
            ),
            Refuse,
        ),
        same(
            "signature with one bit flipped",
            flip_last_signature_bit(&signed(&good)),
            Refuse,
        ),
        same(
            "signature cut to 16 bytes",
            truncate_signature(&signed(&good), 16),
            Refuse,
        ),
        same(
            "HS384 with a real HS384 MAC",
            forge::token(r#"{"alg":"HS384","typ":"JWT"}"#, &good, "HS384", API_SECRET),
            Refuse,
        ),
        same(
            "HS512 with a real HS512 MAC",
            forge::token(r#"{"alg":"HS512","typ":"JWT"}"#, &good, "HS512", API_SECRET),
            Refuse,
        ),
        same(
            "alg none, no signature",
            forge::token(r#"{"alg":"none","typ":"JWT"}"#, &good, "none", API_SECRET),
            Refuse,
        ),
        same(
            "alg none with a valid HS256 MAC",
            {
                let header = r#"{"alg":"none","typ":"JWT"}"#;
                let input = format!(
                    "{}.{}",
                    forge::b64(header.as_bytes()),
                    forge::b64(good.as_bytes())
                );
                let tag = forge::mac("HS256", API_SECRET, input.as_bytes());
                format!("{input}.{}", forge::b64(&tag))
            },
            Refuse,
        ),
        row(
            "exp as a numeric string",
            signed(&format!(
                r#"{{"iss":"{API_KEY}","sub":"alice","nbf":{},"exp":"{}","video":{{"roomJoin":true,"room":"{ROOM}"}}}}"#,
                t - 10,
                t + 600
            )),
            Refuse,
            Accept,
            Some(NUMERIC_STRING),
        ),
        row(
            "nbf as a numeric string",
            signed(&format!(
                r#"{{"iss":"{API_KEY}","sub":"alice","nbf":"{}","exp":{},"video":{{"roomJoin":true,"room":"{ROOM}"}}}}"#,
                t - 10,
                t + 600
            )),
            Refuse,
            Accept,
            Some(NUMERIC_STRING),
        ),
        same(
            "roomJoin as a string",
            signed(&format!(
                r#"{{"iss":"{API_KEY}","sub":"alice","nbf":{},"exp":{},"video":{{"roomJoin":"true","room":"{ROOM}"}}}}"#,
                t - 10,
                t + 600
            )),
            Refuse,
        ),
        same(
            "canPublish as a number",
            signed(&format!(
                r#"{{"iss":"{API_KEY}","sub":"alice","nbf":{},"exp":{},"video":{{"roomJoin":true,"room":"{ROOM}","canPublish":1}}}}"#,
                t - 10,
                t + 600
            )),
            Refuse,
        ),
        same(
            "sub as a number",
            signed(&format!(
                r#"{{"iss":"{API_KEY}","sub":7,"nbf":{},"exp":{},"video":{{"roomJoin":true,"room":"{ROOM}"}}}}"#,
                t - 10,
                t + 600
            )),
            Refuse,
        ),
        same(
            "video as a string",
            signed(&format!(
                r#"{{"iss":"{API_KEY}","sub":"alice","nbf":{},"exp":{},"video":"join"}}"#,
                t - 10,
                t + 600
            )),
            Refuse,
        ),
        same(
            "fractional exp",
            signed(&join_payload(
                API_KEY,
                t - 10,
                None,
                &format!(r#","exp":{}.5"#, t + 600),
            )),
            Accept,
        ),
        row(
            "identity of 257 bytes",
            signed(&format!(
                r#"{{"iss":"{API_KEY}","sub":"{long}","nbf":{},"exp":{},"video":{{"roomJoin":true,"room":"{ROOM}"}}}}"#,
                t - 10,
                t + 600
            )),
            Accept,
            Refuse,
            Some(OVER_LIMIT),
        ),
        row(
            "room name of 257 bytes",
            signed(&format!(
                r#"{{"iss":"{API_KEY}","sub":"alice","nbf":{},"exp":{},"video":{{"roomJoin":true,"room":"{long}"}}}}"#,
                t - 10,
                t + 600
            )),
            Accept,
            Refuse,
            Some(OVER_LIMIT),
        ),
    ];
    // Go's encoding/json matches member names without regard to case, so to the server this
    // is a video grant; roomkey keeps `Video` as an unknown claim. Both accept the token.
    rows.push(same(
        "grant under a case variant of its name (`Video`)",
        signed(&format!(
            r#"{{"iss":"{API_KEY}","sub":"alice","nbf":{},"exp":{},"Video":{{"roomJoin":true,"room":"{ROOM}"}}}}"#,
            t - 10,
            t + 600
        )),
        Accept,
    ));
    rows.push(row(
        "exp twice, the first expired and the last valid",
        signed(&format!(
            r#"{{"iss":"{API_KEY}","sub":"alice","nbf":{},"exp":{},"exp":{},"video":{{"roomJoin":true,"room":"{ROOM}"}}}}"#,
            t - 10,
            t - 3600,
            t + 600
        )),
        Refuse,
        Accept,
        Some(
            "a duplicate key means different things to different parsers (Go keeps the last, \
             others the first); roomkey refuses the ambiguity",
        ),
    ));
    rows.push(row(
        "crit header",
        forge::token(
            r#"{"alg":"HS256","typ":"JWT","crit":["exp"]}"#,
            &good,
            "HS256",
            API_SECRET,
        ),
        Refuse,
        Accept,
        Some(
            "RFC 7515 §4.1.11: a verifier must refuse a token whose crit lists what it does not \
             process; the server ignores crit",
        ),
    ));
    rows.push(row(
        "signature with non-zero trailing base64 bits",
        with_signature_trailing_bits(&signed(&good)),
        Refuse,
        Accept,
        Some(
            "non-canonical base64 lets one token have several spellings; roomkey accepts one \
             (the server's decoder ignores the trailing bits)",
        ),
    ));
    rows.push(row(
        "an unknown claim nested 65 levels deep",
        signed(&format!(
            r#"{{"iss":"{API_KEY}","sub":"alice","nbf":{},"exp":{},"video":{{"roomJoin":true,"room":"{ROOM}"}},"x":{}1{}}}"#,
            t - 10,
            t + 600,
            "[".repeat(64),
            "]".repeat(64)
        )),
        Refuse,
        Accept,
        Some(
            "roomkey reads claims at most 64 levels deep, so that whatever it verifies it can \
             also print; LiveKit's own claims nest four levels",
        ),
    ));
    rows
}

fn split(token: &str) -> (String, Vec<u8>) {
    use base64::Engine as _;
    let (input, sig) = token.rsplit_once('.').expect("three segments");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(sig)
        .expect("a signature segment");
    (input.to_owned(), bytes)
}

fn flip_last_signature_bit(token: &str) -> String {
    let (input, mut sig) = split(token);
    *sig.last_mut().expect("a tag") ^= 1;
    format!("{input}.{}", forge::b64(&sig))
}

fn truncate_signature(token: &str, len: usize) -> String {
    let (input, sig) = split(token);
    format!("{input}.{}", forge::b64(&sig[..len]))
}

/// A 32-byte tag is 43 base64 characters whose last one carries 2 unused bits; set them.
fn with_signature_trailing_bits(token: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let (input, sig) = token.rsplit_once('.').expect("three segments");
    let last = sig.as_bytes()[sig.len() - 1];
    let value = ALPHABET.iter().position(|c| *c == last).expect("base64url");
    assert_eq!(value & 0b11, 0, "a canonical tag leaves the 2 bits zero");
    let changed = char::from(ALPHABET[value | 0b01]);
    format!("{input}.{}{changed}", &sig[..sig.len() - 1])
}

/// `roomkey token verify` on `token`: its verdict and the first line it printed on stderr.
fn roomkey_verify(keys_file: &std::path::Path, token: &str) -> (Verdict, String) {
    let out = std::process::Command::new(roomkey_interop::paths::roomkey_binary())
        .args(["token", "verify", "--keys-file"])
        .arg(keys_file)
        .arg(token)
        .env_remove("LIVEKIT_KEYS")
        .env_remove("LIVEKIT_API_KEY")
        .env_remove("LIVEKIT_API_SECRET")
        .output()
        .expect("run roomkey token verify");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reason = stderr
        .lines()
        .find(|l| !l.starts_with("roomkey: warning: the keys file"))
        .unwrap_or("")
        .to_owned();
    match out.status.code() {
        Some(0) => (Accept, reason),
        Some(1) => (Refuse, reason),
        other => panic!("roomkey token verify exited {other:?} (a usage error?): {stderr}"),
    }
}

#[test]
fn verdict_matrix_roomkey_verify_against_the_server() {
    let server = LiveKitServer::start();
    let keys_file = roomkey_interop::paths::scratch_dir("keys").join("verdict-matrix.yaml");
    std::fs::write(&keys_file, format!("{API_KEY}: {API_SECRET}\n")).expect("write keys file");
    std::fs::set_permissions(
        &keys_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .expect("chmod 600 the keys file");
    let mut table = vec![
        "| token | roomkey `token verify` | server `/rtc/validate` | agree |".to_owned(),
        "|---|---|---|---|".to_owned(),
    ];
    let mut problems = Vec::new();
    let rows = rows();
    for row in &rows {
        let (status, body) = server.validate(&row.token);
        let server_verdict = if status == 200 { Accept } else { Refuse };
        let (roomkey_verdict, reason) = roomkey_verify(&keys_file, &row.token);
        // The server echoes the token in its error text; keep the table readable.
        let body = body.replace(&row.token, "<token>");
        if server_verdict != row.server {
            problems.push(format!(
                "{}: the server said {status} {body:?}, expected {:?}",
                row.name, row.server
            ));
        }
        if roomkey_verdict != row.roomkey {
            problems.push(format!(
                "{}: roomkey said {roomkey_verdict:?} ({reason}), expected {:?}",
                row.name, row.roomkey
            ));
        }
        if row.why == Some(OVER_LIMIT) {
            assert!(
                reason.contains("with the default limits refuses the join"),
                "{}: `token verify` warns about the server's limit, got {reason:?}",
                row.name
            );
        }
        assert_eq!(
            row.why.is_some(),
            row.roomkey != row.server,
            "{}: a reason is given exactly for an intended disagreement",
            row.name
        );
        table.push(format!(
            "| {} | {} | {} {} | {} |",
            row.name,
            match roomkey_verdict {
                Accept if reason.is_empty() => "valid".to_owned(),
                Accept => format!("valid, {}", reason.trim_start_matches("roomkey: ")),
                Refuse => format!("refused: {}", reason.trim_start_matches("error: ")),
            },
            status,
            body.trim().chars().take(90).collect::<String>(),
            row.why
                .map_or("yes".to_owned(), |w| format!("no, intended: {w}")),
        ));
    }
    let report = table.join("\n");
    let path = roomkey_interop::paths::scratch_dir("reports").join("verdict-matrix.md");
    std::fs::write(&path, format!("{report}\n")).expect("write the matrix");
    println!("{report}\n(written to {})", path.display());
    assert!(
        problems.is_empty(),
        "verdicts differ from the expected:\n{}\n\n{report}",
        problems.join("\n")
    );
    assert!(rows.len() >= 25);
}
