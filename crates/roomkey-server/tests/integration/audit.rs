//! Audit logging: one line per issued token (caller, identity, room, a digest of the grants,
//! TTL), and no token, session token, API secret or caller key anywhere in the logs.

use roomkey_testserver::Fault;
use serde_json::{Value, json};
use sha2::Digest as _;

use crate::common::*;
use crate::rooms::{HOST_KEY, host_config, livekit};

// The logs are those of the whole test binary (see `common::logs`): this test's audit lines
// are told apart by their identities, which all start with "audit-".
#[tokio::test]
async fn one_audit_line_per_token_and_no_secrets_in_the_logs() {
    logs();
    let lk = livekit().await;
    let idp = Idp::standard().await;
    let mut text = host_config(&lk.url(), &idp.oidc_table("member", ""));
    text.push_str(
        "\n[profile.member]\nrooms = [\"audit-*\"]\nidentity = \"subject\"\nttl = \"20m\"\n",
    );
    let r = router(&text);

    let session = sign_session(TestKey::RsaA, "rsa-1", &session_claims("audit-user-42"));
    // (the caller its audit line names, the token), in the order they are issued: four from
    // the standard endpoint, then one from the action.
    let mut issued = Vec::new();
    for (caller, bearer, body) in [
        (
            "backend",
            BACKEND_KEY,
            json!({"room_name": "audit-same", "participant_identity": "audit-svc-1", "participant_metadata": "m", "participant_attributes": {"k": "v"}}),
        ),
        (
            "backend",
            BACKEND_KEY,
            json!({"room_name": "audit-same", "participant_identity": "audit-svc-2"}),
        ),
        (
            "oidc:https://idp.test.invalid/",
            session.as_str(),
            json!({"room_name": "audit-lobby"}),
        ),
        ("host", HOST_KEY, json!({"participant_identity": "audit-h"})),
    ] {
        let reply = token(&r, Some(bearer), body).await;
        reply.issued();
        let jwt = reply.json["participant_token"].as_str().unwrap();
        issued.push((caller, jwt.to_owned()));
    }
    let reply = action(
        &r,
        Some(ADMIN_KEY),
        json!({"identity": "audit-op", "room": "audit-same", "roomAdmin": true}),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200);
    issued.push(("ops", reply.json["token"].as_str().unwrap().to_owned()));

    // Refusals and failures log no audit line.
    token(&r, Some(KIOSK_KEY), json!({"participant_name": "x"}))
        .await
        .forbidden("participant_name");
    token(&r, Some("rk_wrong_key_123"), json!({}))
        .await
        .error(401, "unauthenticated");
    lk.inject_for("CreateRoom", Fault::twirp("internal", "boom"), 1);
    token(
        &r,
        Some(HOST_KEY),
        json!({"participant_identity": "audit-failed"}),
    )
    .await
    .error(502, "livekit_unavailable");

    let logs = logs().text();
    let audit = audit_lines(&logs, |identity| identity.starts_with("audit-"));
    assert_eq!(audit.len(), issued.len(), "{logs}");

    let mut digests = Vec::new();
    for (line, (caller, jwt)) in audit.iter().zip(&issued) {
        let claims = verify(jwt);
        assert_audit_line(line, caller, &claims);
        digests.push(line["fields"]["grants"].as_str().unwrap().to_owned());
    }
    // Same profile and room: same grants, same digest; more grants (the session's member
    // profile, the admin's action): another digest.
    let [svc_1, svc_2, session_digest, _host, admin] = &digests[..] else {
        panic!("five digests: {digests:?}")
    };
    assert_eq!(svc_1, svc_2);
    assert_ne!(svc_1, admin);
    assert_ne!(svc_1, session_digest);

    // Nothing secret anywhere in the logs.
    let mut secrets: Vec<String> = vec![
        API_SECRET.into(),
        BACKEND_KEY.into(),
        ADMIN_KEY.into(),
        KIOSK_KEY.into(),
        HOST_KEY.into(),
        "rk_wrong_key_123".into(),
        session.clone(),
        session.rsplit('.').next().unwrap().into(),
    ];
    for (_, jwt) in &issued {
        secrets.push(jwt.clone());
        secrets.push(jwt.rsplit('.').next().unwrap().to_owned());
    }
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{secret} is in the logs:\n{logs}"
        );
    }
    // The RoomService failure was logged (for the operator), without LiveKit's credentials.
    assert!(logs.contains("RoomService call failed"), "{logs}");
}

/// The default for servers embedded in another program (`App::new`): the audit line is a
/// `tracing` event, written by whatever subscriber is in force, with the same fields.
#[tokio::test]
async fn an_embedded_server_logs_its_audit_lines_as_events() {
    logs();
    let app = roomkey_server::App::new(config(&base_config(""))).unwrap();
    let r = roomkey_server::router(app);
    let reply = token(
        &r,
        Some(BACKEND_KEY),
        json!({"room_name": "events-room", "participant_identity": "events-audit-1"}),
    )
    .await;
    reply.issued();
    let claims = verify(reply.json["participant_token"].as_str().unwrap());
    let logs = logs().text();
    let lines = audit_lines(&logs, |identity| identity == "events-audit-1");
    assert_eq!(lines.len(), 1, "{logs}");
    assert_audit_line(&lines[0], "backend", &claims);
    assert_eq!(lines[0]["fields"]["profile"], "service");
    assert_eq!(lines[0]["fields"]["room"], "events-room");
}

/// The audit lines among the JSON log lines (every line must be JSON) whose identity matches.
fn audit_lines(logs: &str, identity: impl Fn(&str) -> bool) -> Vec<Value> {
    logs.lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .filter(|l| {
            l["target"] == "roomkey::audit"
                && l["fields"]["identity"].as_str().is_some_and(&identity)
        })
        .collect()
}

/// Asserts that an audit line describes the token with these claims, issued to `caller`.
#[track_caller]
fn assert_audit_line(line: &Value, caller: &str, claims: &roomkey_token::Claims) {
    let f = &line["fields"];
    assert_eq!(line["level"], "INFO", "{line}");
    assert_eq!(f["message"], "token issued", "{line}");
    assert_eq!(f["caller"], caller, "{line}");
    assert_eq!(f["identity"], claims.sub.as_str(), "{line}");
    assert_eq!(f["room"], claims.room(), "{line}");
    assert_eq!(f["ttl_s"], ttl_of(claims), "{line}");
    assert_eq!(f["grants"], grants_digest(claims).as_str(), "{line}");
    assert!(f["profile"].is_string(), "{line}");
}

/// The audit digest recomputed from a token: the first 16 hex digits of the SHA-256 of its
/// grants object.
fn grants_digest(claims: &roomkey_token::Claims) -> String {
    let mut grants = Vec::new();
    claims.write_grants_json(&mut grants);
    let full: String = sha2::Sha256::digest(&grants)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    full[..16].to_owned()
}
