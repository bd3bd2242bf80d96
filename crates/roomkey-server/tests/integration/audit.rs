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

    let mut issued = Vec::new(); // (caller, jwt)
    for body in [
        json!({"room_name": "audit-same", "participant_identity": "audit-svc-1", "participant_metadata": "m", "participant_attributes": {"k": "v"}}),
        json!({"room_name": "audit-same", "participant_identity": "audit-svc-2"}),
    ] {
        let reply = token(&r, Some(BACKEND_KEY), body).await;
        reply.issued();
        issued.push((
            "backend",
            reply.json["participant_token"].as_str().unwrap().to_owned(),
        ));
    }
    let reply = action(
        &r,
        Some(ADMIN_KEY),
        json!({"identity": "audit-op", "room": "audit-same", "roomAdmin": true}),
    )
    .await;
    assert_eq!(reply.status.as_u16(), 200);
    issued.push(("ops", reply.json["token"].as_str().unwrap().to_owned()));
    let session = sign_session(TestKey::RsaA, "rsa-1", &session_claims("audit-user-42"));
    let reply = token(&r, Some(&session), json!({"room_name": "audit-lobby"})).await;
    reply.issued();
    issued.push((
        "oidc:https://idp.test.invalid/",
        reply.json["participant_token"].as_str().unwrap().to_owned(),
    ));
    let reply = token(
        &r,
        Some(HOST_KEY),
        json!({"participant_identity": "audit-h"}),
    )
    .await;
    reply.issued();
    issued.push((
        "host",
        reply.json["participant_token"].as_str().unwrap().to_owned(),
    ));

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
    let lines: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let audit: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["target"] == "roomkey::audit"
                && l["fields"]["identity"]
                    .as_str()
                    .is_some_and(|i| i.starts_with("audit-"))
        })
        .collect();
    assert_eq!(audit.len(), issued.len(), "{logs}");

    let mut digests = Vec::new();
    for (line, (caller, jwt)) in audit.iter().zip(&issued) {
        let claims = verify(jwt);
        let f = &line["fields"];
        assert_eq!(line["level"], "INFO");
        assert_eq!(f["message"], "token issued");
        assert_eq!(f["caller"], *caller, "{line}");
        assert_eq!(f["identity"], claims.sub.as_str());
        assert_eq!(f["room"], claims.room());
        assert_eq!(f["ttl_s"], ttl_of(&claims));
        let digest = f["grants"].as_str().unwrap();
        assert_eq!(digest, grants_digest(&claims), "{line}");
        assert!(f["profile"].is_string());
        digests.push(digest.to_owned());
    }
    // Same profile and room: same grants, same digest; more grants: another digest.
    assert_eq!(digests[0], digests[1]);
    assert_ne!(digests[0], digests[2]);
    assert_ne!(digests[0], digests[3]);

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
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["target"] == "roomkey::audit" && l["fields"]["identity"] == "events-audit-1")
        .collect();
    assert_eq!(lines.len(), 1, "{logs}");
    let f = &lines[0]["fields"];
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(f["message"], "token issued");
    assert_eq!(f["caller"], "backend");
    assert_eq!(f["profile"], "service");
    assert_eq!(f["room"], "events-room");
    assert_eq!(f["ttl_s"], ttl_of(&claims));
    assert_eq!(f["grants"], grants_digest(&claims).as_str());
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
