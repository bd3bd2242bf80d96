//! Where Go reads some tokens differently from roomkey.

use super::*;

/// A token over exactly these payload bytes, with Go's header, signed with the interop secret
/// (so that every check but the one under test passes). Signed with `hmac` directly: a
/// jsonwebtoken call here would fix its process-wide crypto provider before the Rust SDK
/// installs its own.
pub(crate) fn forge(payload: &[u8]) -> String {
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
