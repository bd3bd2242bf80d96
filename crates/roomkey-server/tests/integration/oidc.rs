//! Session JWTs from an OIDC issuer, checked against a JWKS served on loopback: RS256 and
//! ES256, expiry, forgery, issuer, audience, algorithms, key rotation, identity claims.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Value, json};

use crate::common::*;

/// The base configuration plus an identity provider for profile `member` (identity from the
/// subject), and a second issuer whose identity comes from the `email` claim.
fn oidc_config(idp: &Idp, extra_oidc: &str) -> String {
    let second = format!(
        "[[oidc]]\nissuer = \"https://second.test.invalid\"\njwks_url = \"{}\"\naudience = \"second-app\"\nidentity_claim = \"email\"\nname_claim = \"name\"\nprofile = \"member\"\n",
        idp.jwks_url()
    );
    let mut text = base_config(&format!("{}{second}", idp.oidc_table("member", extra_oidc)));
    text.push_str(
        r#"
[profile.member]
rooms = ["lobby", "support-*"]
room_prefix = "call-"
identity = "subject"
fields = ["participant_name", "room_config.agents"]
agents = ["triage"]
ttl = "15m"

[profile.member.grants]
can_publish = true
can_publish_sources = ["camera", "microphone"]
"#,
    );
    text
}

fn unsigned(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// A session for `mallory` signed with `key` under a header of `alg` and the kid `rsa-1`,
/// whatever the provider publishes for that kid.
fn mallory_under_rsa_kid(alg: Algorithm, key: &jsonwebtoken::EncodingKey) -> String {
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = Some("rsa-1".into());
    jsonwebtoken::encode(&header, &session_claims("mallory"), key).unwrap()
}

/// The standard identity provider and a router with [`oidc_config`] for it.
async fn standard_setup() -> (Idp, axum::Router) {
    let idp = Idp::standard().await;
    let router = router(&oidc_config(&idp, ""));
    (idp, router)
}

/// Asserts that an empty token request with `session` gets a 401 whose message says `reason`.
async fn assert_session_refused(r: &axum::Router, case: &str, session: &str, reason: &str) {
    let reply = token(r, Some(session), json!({})).await;
    let e = reply.error(401, "unauthenticated");
    let message = e["message"].as_str().unwrap();
    assert!(message.contains(reason), "{case}: {message}");
}

#[tokio::test]
async fn valid_sessions_get_tokens_for_their_subject() {
    let (idp, r) = standard_setup().await;

    let rs = sign_session(TestKey::RsaA, "rsa-1", &session_claims("user-rs"));
    let claims = token(&r, Some(&rs), json!({"room_name": "lobby"}))
        .await
        .issued();
    assert_eq!(claims.sub, "user-rs");
    assert_eq!(claims.room(), "lobby");
    assert_eq!(ttl_of(&claims), 900);
    assert!(claims.video.unwrap().effective_can_publish());

    let es = sign_session(TestKey::Ec, "ec-1", &session_claims("user-es"));
    let reply = token(&r, Some(&es), json!({"room_config": {}})).await;
    let claims = reply.issued();
    assert_eq!(claims.sub, "user-es");
    assert!(claims.room().starts_with("call-"));

    // The subject itself may be repeated; any other identity is refused.
    let same = token(&r, Some(&es), json!({"participant_identity": "user-es"})).await;
    assert_eq!(same.issued().sub, "user-es");
    let other = token(&r, Some(&es), json!({"participant_identity": "admin"})).await;
    other.forbidden("participant_identity");
    let other = token(&r, Some(&es), json!({"participantIdentity": "user-rs"})).await;
    other.forbidden("participant_identity");

    // Keys were fetched once for both.
    assert_eq!(idp.fetches(), 1);

    // Session callers may not use the Generate Access Token action.
    action(&r, Some(&rs), json!({"identity": "user-rs"}))
        .await
        .error(403, "admin_only");
}

#[tokio::test]
async fn identity_and_name_from_configured_claims() {
    let (_idp, r) = standard_setup().await;
    let now = now();
    let claims = json!({
        "iss": "https://second.test.invalid", "aud": ["other", "second-app"], "sub": "opaque-123",
        "email": "ada@example.com", "name": "Ada L.", "exp": now + 300
    });
    let jwt = sign_session(TestKey::RsaA, "rsa-1", &claims);
    let reply = token(&r, Some(&jwt), json!({})).await;
    let got = reply.issued();
    assert_eq!(got.sub, "ada@example.com");
    assert_eq!(got.name, "Ada L.");
    assert_eq!(reply.json["participant_name"], "Ada L.");
    // The profile lets the caller choose a display name.
    let reply = token(&r, Some(&jwt), json!({"participant_name": "Ada"})).await;
    assert_eq!(reply.issued().name, "Ada");
    // The subject is not the identity for this issuer.
    token(
        &r,
        Some(&jwt),
        json!({"participant_identity": "opaque-123"}),
    )
    .await
    .forbidden("participant_identity");
    // Without the claim there is no identity.
    let mut no_email = claims.clone();
    no_email.as_object_mut().unwrap().remove("email");
    let jwt = sign_session(TestKey::RsaA, "rsa-1", &no_email);
    assert_session_refused(&r, "no email claim", &jwt, "identity").await;
}

#[tokio::test]
async fn bad_sessions_get_401() {
    let (_idp, r) = standard_setup().await;
    let now = now();
    let with = |patch: Value| {
        let mut c = session_claims("mallory");
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };

    // Within the 60 s leeway an expired session still counts.
    let just = sign_session(TestKey::RsaA, "rsa-1", &with(json!({"exp": now - 10})));
    token(&r, Some(&just), json!({})).await.issued();

    // Signed by another key under the provider's kid.
    let forged = sign_session(TestKey::RsaB, "rsa-1", &session_claims("mallory"));
    let rsa = |patch: Value| sign_session(TestKey::RsaA, "rsa-1", &with(patch));
    let hs256 = |secret: &[u8]| {
        let key = jsonwebtoken::EncodingKey::from_secret(secret).unwrap();
        mallory_under_rsa_kid(Algorithm::HS256, &key)
    };
    let alg_none = unsigned(
        &json!({"alg": "none", "typ": "JWT", "kid": "rsa-1"}),
        &session_claims("mallory"),
    );
    let rsa_public_jwk = serde_json::to_vec(&TestKey::RsaA.jwk("rsa-1")).unwrap();
    let (ec_key, rsa_key) = (TestKey::Ec.encoding_key(), TestKey::RsaA.encoding_key());
    // (what is wrong, the session, what the message says)
    let cases: Vec<(&str, String, &str)> = vec![
        ("expired", rsa(json!({"exp": now - 120})), "expired"),
        (
            "not valid yet",
            sign_session(TestKey::Ec, "ec-1", &with(json!({"nbf": now + 600}))),
            "not valid yet",
        ),
        ("forged", forged.clone(), "signature"),
        (
            "wrong issuer",
            rsa(json!({"iss": "https://evil.test.invalid/"})),
            "issuer",
        ),
        ("no issuer", rsa(json!({"iss": null})), "issuer"),
        (
            "wrong audience",
            rsa(json!({"aud": "someone-else"})),
            "audience",
        ),
        ("no audience", rsa(json!({"aud": null})), ""),
        ("no expiry", rsa(json!({"exp": null})), ""),
        ("no subject", rsa(json!({"sub": null})), "identity"),
        // An RSA key's kid in an ES256 header (and the reverse).
        (
            "ES256 under an RSA kid",
            mallory_under_rsa_kid(Algorithm::ES256, &ec_key),
            "",
        ),
        ("alg none", alg_none.clone(), ""),
        ("alg none with a signature", format!("{alg_none}c2ln"), ""),
        // HS256, keyed with the RSA public key's JWK text and with a guessable secret.
        (
            "HS256 keyed with the public JWK",
            hs256(&rsa_public_jwk),
            "RS256 and ES256",
        ),
        (
            "HS256 keyed with a guess",
            hs256(b"secret"),
            "RS256 and ES256",
        ),
        (
            "RS384",
            mallory_under_rsa_kid(Algorithm::RS384, &rsa_key),
            "RS256 and ES256",
        ),
        ("garbage shaped like a JWT", "a.b.c".to_owned(), ""),
    ];
    for (case, session, reason) in cases {
        assert_session_refused(&r, case, &session, reason).await;
    }

    // None of the answers repeats the session token or a claim.
    let reply = token(&r, Some(&forged), json!({})).await;
    assert!(!reply.text.contains(&forged));
    assert!(!reply.text.contains("mallory"));
}

#[tokio::test]
async fn a_new_kid_fetches_the_jwks_again_but_not_for_every_request() {
    // Only rsa-1 at first.
    let idp = Idp::start(vec![TestKey::RsaA.jwk("rsa-1")]).await;
    let r = router(&oidc_config(&idp, "jwks_min_refresh = \"1s\""));

    let old = sign_session(TestKey::RsaA, "rsa-1", &session_claims("u1"));
    token(&r, Some(&old), json!({})).await.issued();
    assert_eq!(idp.fetches(), 1);
    token(&r, Some(&old), json!({})).await.issued();
    assert_eq!(idp.fetches(), 1, "cached");

    // A kid the provider does not publish: one download at most, however often it comes.
    let unknown = sign_session(TestKey::RsaB, "rsa-2", &session_claims("u2"));
    for _ in 0..20 {
        assert_session_refused(&r, "unpublished kid", &unknown, "unknown signing key").await;
    }
    assert!(idp.fetches() <= 2, "{} downloads", idp.fetches());

    // The provider rotates rsa-2 in. Once the refresh floor has passed, the new kid triggers
    // one download and works.
    idp.set_keys(vec![TestKey::RsaA.jwk("rsa-1"), TestKey::RsaB.jwk("rsa-2")]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let before = idp.fetches();
    let claims = token(&r, Some(&unknown), json!({})).await.issued();
    assert_eq!(claims.sub, "u2");
    assert_eq!(idp.fetches(), before + 1);
    for _ in 0..5 {
        token(&r, Some(&unknown), json!({})).await.issued();
        token(&r, Some(&old), json!({})).await.issued();
    }
    assert_eq!(idp.fetches(), before + 1, "both keys cached");

    // rsa-1 is withdrawn; it keeps working from the cache (no download for a known kid)…
    idp.set_keys(vec![TestKey::RsaB.jwk("rsa-2")]);
    token(&r, Some(&old), json!({})).await.issued();
    // …and a fresh unknown kid, after the floor, replaces the cache, so rsa-1 goes away.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let third = sign_session(TestKey::Ec, "ec-9", &session_claims("u3"));
    for (case, session) in [("a fresh unknown kid", &third), ("the withdrawn kid", &old)] {
        assert_session_refused(&r, case, session, "unknown signing key").await;
    }
}

#[tokio::test]
async fn an_unreachable_jwks_is_a_401_not_a_crash() {
    let idp = Idp::standard().await;
    let mut text = oidc_config(&idp, "");
    // Point the first issuer at a port nobody listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    text = text.replacen(&idp.jwks_url(), &format!("http://{closed}/jwks.json"), 1);
    let r = router(&text);
    let jwt = sign_session(TestKey::RsaA, "rsa-1", &session_claims("u"));
    assert_session_refused(&r, "unreachable JWKS", &jwt, "unknown signing key").await;
}

#[tokio::test]
async fn static_keys_and_sessions_side_by_side() {
    let (_idp, r) = standard_setup().await;
    // A static key still works when OIDC is configured.
    let claims = token(
        &r,
        Some(BACKEND_KEY),
        json!({"participant_identity": "svc"}),
    )
    .await
    .issued();
    assert_eq!(claims.sub, "svc");
    // A session JWT never matches a static key, and vice versa.
    token(&r, Some("x.y"), json!({}))
        .await
        .error(401, "unauthenticated");
}

#[tokio::test]
async fn session_callers_are_rate_limited_per_user() {
    let idp = Idp::standard().await;
    let r = router(&caller_rate_limit(&oidc_config(&idp, ""), 1, 1));
    let alice = sign_session(TestKey::RsaA, "rsa-1", &session_claims("alice"));
    let bob = sign_session(TestKey::Ec, "ec-1", &session_claims("bob"));
    token(&r, Some(&alice), json!({})).await.issued();
    token(&r, Some(&alice), json!({}))
        .await
        .error(429, "rate_limited");
    // Same issuer, another user: another budget.
    token(&r, Some(&bob), json!({})).await.issued();
}

/// Whether a session for `sub` under `rsa-1` gets a token within `wait`.
async fn logs_in(r: &axum::Router, sub: &str) -> bool {
    let jwt = sign_session(TestKey::RsaA, "rsa-1", &session_claims(sub));
    token(r, Some(&jwt), json!({})).await.status == 201
}

/// A session under a `kid` the provider does not publish, from a client that hangs up after
/// 5 ms (the router drops the request, as hyper does when a client goes away).
async fn unknown_kid_and_hang_up(r: &axum::Router) {
    let jwt = sign_session(TestKey::RsaB, "made-up", &session_claims("mallory"));
    let _ = tokio::time::timeout(
        std::time::Duration::from_millis(5),
        token(r, Some(&jwt), json!({})),
    )
    .await;
}

#[tokio::test]
async fn clients_that_hang_up_cannot_cancel_the_jwks_download() {
    // A slow provider, an empty cache, and someone who sends a made-up kid once per refresh
    // floor and hangs up at once, trying to leave the cache empty for everyone.
    let idp = Idp::standard().await;
    idp.set_delay(std::time::Duration::from_millis(600));
    let r = router(&oidc_config(&idp, "jwks_min_refresh = \"1s\""));
    let attacker = {
        let r = r.clone();
        tokio::spawn(async move {
            for _ in 0..5 {
                unknown_kid_and_hang_up(&r).await;
                tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
            }
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let mut refused = Vec::new();
    for i in 0..20 {
        if !logs_in(&r, &format!("user-{i}")).await {
            refused.push(i);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    attacker.await.unwrap();
    assert!(refused.is_empty(), "legitimate logins refused: {refused:?}");
    assert!(idp.fetches() >= 1);
}

#[tokio::test]
async fn a_cached_key_does_not_wait_for_a_download() {
    let idp = Idp::standard().await;
    let r = router(&oidc_config(&idp, "jwks_min_refresh = \"1s\""));
    assert!(logs_in(&r, "first").await);
    // After the floor, a made-up kid starts a download that takes 3 s, and waits for it…
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    idp.set_delay(std::time::Duration::from_secs(3));
    let waiting = {
        let r = r.clone();
        let jwt = sign_session(TestKey::RsaB, "made-up", &session_claims("mallory"));
        tokio::spawn(async move { token(&r, Some(&jwt), json!({})).await.status })
    };
    for _ in 0..100 {
        if idp.in_flight() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(idp.in_flight(), 1, "the download is under way");
    // …and a session under a known kid is answered while it is still running.
    assert!(logs_in(&r, "second").await);
    assert_eq!(idp.in_flight(), 1, "answered before the download ended");
    assert_eq!(
        waiting.await.unwrap(),
        401,
        "the made-up kid is still unknown"
    );
}

#[tokio::test]
async fn a_redirecting_jwks_url_is_not_followed() {
    let idp = Idp::standard().await;
    let text = oidc_config(&idp, "").replacen(
        &idp.jwks_url(),
        &format!("http://{}/redirect", idp.addr),
        1,
    );
    let r = router(&text);
    let jwt = sign_session(TestKey::RsaA, "rsa-1", &session_claims("u"));
    assert_session_refused(&r, "redirected JWKS", &jwt, "unknown signing key").await;
    assert_eq!(idp.fetches(), 0, "the redirect's target was never fetched");
    assert!(
        logs().text().contains("a redirect to \\\"/jwks.json\\\""),
        "{}",
        logs().text()
    );
}

#[tokio::test]
async fn an_oversized_jwks_is_not_read() {
    let idp = Idp::standard().await;
    let text =
        oidc_config(&idp, "").replacen(&idp.jwks_url(), &format!("http://{}/huge", idp.addr), 1);
    let r = router(&text);
    let jwt = sign_session(TestKey::RsaA, "rsa-1", &session_claims("u"));
    assert_session_refused(&r, "2 MiB JWKS", &jwt, "unknown signing key").await;
    assert!(logs().text().contains("larger than 1048576 bytes"));
}

#[tokio::test]
async fn an_empty_key_set_does_not_replace_good_keys() {
    let idp = Idp::start(vec![TestKey::RsaA.jwk("rsa-1")]).await;
    let r = router(&oidc_config(&idp, "jwks_min_refresh = \"1s\""));
    assert!(logs_in(&r, "before").await);
    // The provider breaks and publishes nothing; a new kid makes roomkey look.
    idp.set_keys(vec![]);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let fetches = idp.fetches();
    let new = sign_session(TestKey::RsaB, "rsa-2", &session_claims("x"));
    assert_session_refused(&r, "a kid of nobody", &new, "unknown signing key").await;
    assert_eq!(idp.fetches(), fetches + 1, "it did look");
    assert!(logs_in(&r, "after").await, "the good key is still known");
}

#[tokio::test]
async fn an_identity_prefix_keeps_issuers_apart() {
    let idp = Idp::standard().await;
    let r = router(&oidc_config(&idp, "identity_prefix = \"idp-a:\""));
    let jwt = sign_session(TestKey::RsaA, "rsa-1", &session_claims("alice"));
    let claims = token(&r, Some(&jwt), json!({})).await.issued();
    assert_eq!(claims.sub, "idp-a:alice");
    // The caller may still name its (prefixed) identity, not the bare subject.
    token(&r, Some(&jwt), json!({"participant_identity": "alice"}))
        .await
        .forbidden("participant_identity");
}

/// A session that ends while its request's body is still arriving gets no token: the expiry is
/// capped again when the token is signed, not only when the caller is authenticated (a slow body
/// would otherwise stretch the token past the session, by up to the request timeout).
#[tokio::test]
async fn a_session_that_ends_during_a_slow_body_gets_no_token() {
    let idp = Idp::standard().await;
    let r = router(&oidc_config(&idp, "ttl_within_session = true"));
    let mut claims = session_claims("slow");
    claims["exp"] = json!(now() + 2);
    let jwt = sign_session(TestKey::RsaA, "rsa-1", &claims);
    let body = futures_util::stream::once(async {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        Ok::<_, std::convert::Infallible>(axum::body::Bytes::from_static(b"{}"))
    });
    let request = axum::http::Request::post("/api/token")
        .header("authorization", format!("Bearer {jwt}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from_stream(body))
        .unwrap();
    let reply = call(&r, request).await;
    let e = reply.error(401, "unauthenticated");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("expired while the request"),
        "{e}"
    );
}

#[tokio::test]
async fn a_token_may_be_kept_within_its_session() {
    let idp = Idp::standard().await;
    let session = |exp_in: i64| {
        let mut claims = session_claims("s");
        claims["exp"] = json!(now() + exp_in);
        sign_session(TestKey::RsaA, "rsa-1", &claims)
    };
    // By default the profile's 15 minutes, whatever is left of the session.
    let r = router(&oidc_config(&idp, ""));
    let claims = token(&r, Some(&session(120)), json!({})).await.issued();
    assert_eq!(ttl_of(&claims), 900);
    // Kept within it: expires with the session.
    let r = router(&oidc_config(&idp, "ttl_within_session = true"));
    let claims = token(&r, Some(&session(120)), json!({})).await.issued();
    let ttl = ttl_of(&claims);
    assert!((118..=120).contains(&ttl), "{ttl}");
    let exp_gap = claims.exp.unwrap() - (now() + 120);
    assert!(exp_gap.abs() <= 2, "{exp_gap}");
    // A session past its exp, still inside the leeway, gets nothing.
    assert_session_refused(&r, "expired within the leeway", &session(-10), "outlive").await;
    // Without the cap, the leeway lets it through.
    let r = router(&oidc_config(&idp, ""));
    token(&r, Some(&session(-10)), json!({})).await.issued();
}
