//! The exchanges of room-service.md §8 (8.1–8.6) and the error table of §6.2, driven with raw
//! HTTP: exact statuses, content types and bodies.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use prost::Message as _;
use roomkey_testserver::proto::{
    CreateRoomRequest, ListRoomsRequest, ListRoomsResponse, Room, RoomAgentDispatch,
};
use roomkey_testserver::{AuthOutcome, TestServer, TestServerConfig, participant};
use serde_json::{Value, json};

fn is_base62(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn assert_new_room_json(room: &Value, name: &str, empty: u64, max: u64) {
    let keys: Vec<&str> = room
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = vec![
        "sid",
        "name",
        "empty_timeout",
        "departure_timeout",
        "max_participants",
        "creation_time",
        "creation_time_ms",
        "turn_password",
        "enabled_codecs",
        "metadata",
        "num_participants",
        "num_publishers",
        "active_recording",
        "version",
    ];
    let mut got = keys.clone();
    got.sort_unstable();
    expected.sort_unstable();
    assert_eq!(got, expected, "every Room field, snake_case: {room}");
    let sid = room["sid"].as_str().unwrap();
    assert!(
        sid.starts_with("RM_") && sid.len() == 15 && is_base62(&sid[3..]),
        "{sid}"
    );
    assert_eq!(room["name"], name);
    assert_eq!(room["empty_timeout"], empty);
    assert_eq!(room["departure_timeout"], 20);
    assert_eq!(room["max_participants"], max);
    let secs: i64 = room["creation_time"].as_str().unwrap().parse().unwrap();
    let ms: i64 = room["creation_time_ms"].as_str().unwrap().parse().unwrap();
    assert!((secs - now()).abs() < 5);
    assert_eq!(ms / 1000, secs);
    assert!(!room["turn_password"].as_str().unwrap().is_empty());
    let codecs: Vec<Value> = [
        "audio/PCMU",
        "audio/PCMA",
        "audio/opus",
        "audio/red",
        "video/VP8",
        "video/H264",
        "video/VP9",
        "video/AV1",
        "video/H265",
        "video/rtx",
    ]
    .iter()
    .map(|m| json!({"mime": m, "fmtp_line": ""}))
    .collect();
    assert_eq!(room["enabled_codecs"], Value::Array(codecs));
    assert_eq!(room["metadata"], "");
    assert_eq!(room["num_participants"], json!(0));
    assert_eq!(room["num_publishers"], json!(0));
    assert_eq!(room["active_recording"], false);
    assert_eq!(room["version"], Value::Null);
}

/// §8.1: CreateRoom, new room, Node-style JSON.
#[tokio::test]
async fn s8_1_create_room_json() {
    let server = start().await;
    let auth = format!("Bearer {T1}");
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.RoomService/CreateRoom",
        &[
            ("content-type", "application/json;charset=UTF-8"),
            ("user-agent", "livekit-server-sdk-node/2.18.0"),
            ("authorization", &auth),
        ],
        r#"{"name":"my-room","emptyTimeout":600,"maxParticipants":10}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.ct(), "application/json");
    assert_eq!(
        r.headers["content-length"].to_str().unwrap(),
        r.body.len().to_string()
    );
    assert_new_room_json(&r.json(), "my-room", 600, 10);

    let rooms = server.rooms();
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].room.name, "my-room");
    assert_eq!(rooms[0].create_request.empty_timeout, 600);
    assert_eq!(rooms[0].room.sid, r.json()["sid"]);
}

/// §8.1, the Rust/Python form: protobuf in, protobuf out; bytes from §3.1.
#[tokio::test]
async fn s8_1_create_room_protobuf_round_trip() {
    let server = start().await;
    let body = unhex("0a076d792d726f6f6d10d804180a");
    assert_eq!(
        CreateRoomRequest::decode(body.as_slice()).unwrap(),
        CreateRoomRequest {
            name: "my-room".into(),
            empty_timeout: 600,
            max_participants: 10,
            ..Default::default()
        }
    );
    let r = call_proto(&server, "CreateRoom", Some(T1), body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.ct(), PROTOBUF);
    let room = Room::decode(r.body.as_slice()).unwrap();
    assert_eq!(room.name, "my-room");
    assert_eq!((room.empty_timeout, room.departure_timeout), (600, 20));
    assert_eq!(room.max_participants, 10);
    assert!(room.sid.starts_with("RM_"));
    assert_eq!(room.enabled_codecs.len(), 10);
    assert_eq!(room.version, None);
    // Re-encoding gives the same bytes back (no field lost on the way).
    assert_eq!(room.encode_to_vec(), r.body);

    // ListRooms in protobuf: names=["my-room"] is 0a 07 "my-room"; names=["a"] is 0a 01 61.
    let list = ListRoomsRequest {
        names: vec!["a".into()],
    };
    assert_eq!(hex(&list.encode_to_vec()), "0a0161");
    let r = call_proto(
        &server,
        "ListRooms",
        Some(&list_token()),
        list.encode_to_vec(),
    )
    .await;
    assert_eq!((r.status, r.ct()), (200, PROTOBUF));
    assert_eq!(
        ListRoomsResponse::decode(r.body.as_slice()).unwrap().rooms,
        vec![]
    );
    // An empty protobuf body is an all-default message: every room.
    let r = call_proto(&server, "ListRooms", Some(&list_token()), vec![]).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        ListRoomsResponse::decode(r.body.as_slice()).unwrap().rooms,
        vec![room.clone()]
    );
    // DeleteRoom answers an empty protobuf body.
    let r = call_proto(&server, "DeleteRoom", Some(T1), unhex("0a076d792d726f6f6d")).await;
    assert_eq!((r.status, r.ct(), r.body.len()), (200, PROTOBUF, 0));
}

/// §8.2: CreateRoom for an existing name returns the existing room, unchanged.
#[tokio::test]
async fn s8_2_create_room_existing_is_unchanged() {
    let server = start().await;
    let first = call_json(
        &server,
        "CreateRoom",
        Some(T1),
        r#"{"name":"my-room","emptyTimeout":600,"maxParticipants":10}"#,
    )
    .await;
    assert_eq!(first.status, 200);
    let second = call_json(
        &server,
        "CreateRoom",
        Some(T1),
        r#"{"name":"my-room","emptyTimeout":30,"metadata":"x"}"#,
    )
    .await;
    assert_eq!((second.status, second.ct()), (200, JSON));
    let (a, b) = (first.json(), second.json());
    assert_eq!(a, b, "the second answer is the same room");
    assert_eq!(b["empty_timeout"], 600);
    assert_eq!(b["metadata"], "");
    assert_eq!(server.rooms().len(), 1);
    assert_eq!(
        server.rooms()[0].create_request.metadata,
        "",
        "the first request is kept"
    );
}

/// §8.3: ListRooms with an exact-name filter; `{}` lists all; none gives `{"rooms":[]}`.
#[tokio::test]
async fn s8_3_list_rooms() {
    let server = start().await;
    let r = call_json(&server, "ListRooms", Some(&list_token()), "{}").await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (200, JSON, r#"{"rooms":[]}"#)
    );

    for name in ["my-room", "other", "My-Room"] {
        let body = format!(r#"{{"name":"{name}"}}"#);
        assert_eq!(
            call_json(&server, "CreateRoom", Some(T1), &body)
                .await
                .status,
            200
        );
    }
    let r = call_json(
        &server,
        "ListRooms",
        Some(&list_token()),
        r#"{"names":["my-room","ghost"]}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let rooms = r.json()["rooms"].as_array().unwrap().clone();
    assert_eq!(
        rooms.len(),
        1,
        "ghost is skipped, the match is case-sensitive"
    );
    assert_new_room_json(&rooms[0], "my-room", 300, 0);

    let r = call_json(&server, "ListRooms", Some(&list_token()), "{}").await;
    let names: Vec<String> = r.json()["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["my-room", "other", "My-Room"]);
    // A roomCreate token is not a roomList token.
    let r = call_json(&server, "ListRooms", Some(T1), "{}").await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (
            401,
            JSON,
            r#"{"code":"unauthenticated","msg":"permissions denied"}"#
        )
    );
}

/// §8.4: DeleteRoom, then again: 404 not_found with the psrpc prefix.
#[tokio::test]
async fn s8_4_delete_room() {
    let server = start().await;
    call_json(&server, "CreateRoom", Some(T1), r#"{"name":"my-room"}"#).await;
    let r = call_json(&server, "DeleteRoom", Some(T1), r#"{"room":"my-room"}"#).await;
    assert_eq!((r.status, r.ct(), r.text().as_str()), (200, JSON, "{}"));
    assert!(server.rooms().is_empty());
    let r = call_json(&server, "DeleteRoom", Some(T1), r#"{"room":"my-room"}"#).await;
    assert_eq!((r.status, r.ct()), (404, JSON));
    assert_eq!(
        r.text(),
        r#"{"code":"not_found","msg":"twirp error unknown: requested room does not exist"}"#
    );
    // A later CreateRoom makes a new room with a new sid.
    let a = call_json(&server, "CreateRoom", Some(T1), r#"{"name":"my-room"}"#)
        .await
        .json();
    call_json(&server, "DeleteRoom", Some(T1), r#"{"room":"my-room"}"#).await;
    let b = call_json(&server, "CreateRoom", Some(T1), r#"{"name":"my-room"}"#)
        .await
        .json();
    assert_ne!(a["sid"], b["sid"]);
    // roomAdmin does not allow DeleteRoom.
    let r = call_json(&server, "DeleteRoom", Some(T2), r#"{"room":"my-room"}"#).await;
    assert_eq!(r.status, 401);
}

/// §8.5: unauthorized requests, and the §2.3 vectors T1–T4.
#[tokio::test]
async fn s8_5_unauthorized() {
    let server = start().await;
    let path = "/twirp/livekit.RoomService/CreateRoom";
    let body = r#"{"name":"x"}"#;
    // No Authorization header: anonymous, then the handler's permission check.
    let r = send(&server, "POST", path, &[("content-type", JSON)], body).await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (
            401,
            JSON,
            r#"{"code":"unauthenticated","msg":"permissions denied"}"#
        )
    );
    // `Bearer ` with nothing after it cannot reach the middleware as such: HTTP/1.1 header
    // parsing (Go's textproto, like hyper) trims trailing white space, leaving `Bearer`, which
    // lacks the `Bearer ` prefix. An empty header value counts as no header.
    let r = send(
        &server,
        "POST",
        path,
        &[("content-type", JSON), ("authorization", "Bearer ")],
        body,
    )
    .await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (
            401,
            TEXT,
            "invalid authorization header. Must start with Bearer "
        )
    );
    let r = send(
        &server,
        "POST",
        path,
        &[("content-type", JSON), ("authorization", "")],
        body,
    )
    .await;
    assert_eq!((r.status, r.ct()), (401, JSON));
    // An empty access_token is anonymous as well.
    let r = send(
        &server,
        "POST",
        &format!("{path}?access_token="),
        &[("content-type", JSON)],
        body,
    )
    .await;
    assert_eq!((r.status, r.ct()), (401, JSON));

    let cases: Vec<(String, &str)> = vec![
        (
            format!("Bearer {T4}"),
            "invalid authorization token: token signature is invalid: signature is invalid",
        ),
        (
            format!("Bearer {T3}"),
            "invalid authorization token: token has invalid claims: token is expired",
        ),
        (
            format!(
                "Bearer {}",
                roomkey_token::AccessToken::new()
                    .with_video({
                        let mut g = roomkey_token::VideoGrant::default();
                        g.room_create = true;
                        g
                    })
                    .sign(&roomkey_token::KeyPair::new("nokey", &"secret".into()).unwrap())
                    .unwrap()
            ),
            "invalid API key",
        ),
        (
            "Basic ZGV2a2V5OnNlY3JldA==".to_owned(),
            "invalid authorization header. Must start with Bearer ",
        ),
        (
            format!("bearer {T1}"),
            "invalid authorization header. Must start with Bearer ",
        ),
        ("Bearer not-a-jwt".to_owned(), "invalid authorization token"),
    ];
    for (auth, text) in &cases {
        let r = send(
            &server,
            "POST",
            path,
            &[("content-type", JSON), ("authorization", auth)],
            body,
        )
        .await;
        assert_eq!(
            (r.status, r.ct(), r.text().as_str()),
            (401, TEXT, *text),
            "Authorization: {auth}"
        );
    }

    // T1 and T2 verify (T2 lacks roomCreate: JSON permission error, not a text 401).
    let r = call_json(&server, "CreateRoom", Some(T1), body).await;
    assert_eq!(r.status, 200);
    let r = call_json(&server, "CreateRoom", Some(T2), body).await;
    assert_eq!((r.status, r.ct()), (401, JSON));

    // The auth rejections come before routing: a bad token on a bad route is still a 401 text.
    let r = send(
        &server,
        "GET",
        "/twirp/livekit.RoomService/Nope",
        &[("authorization", &format!("Bearer {T4}"))],
        "",
    )
    .await;
    assert_eq!((r.status, r.ct()), (401, TEXT));

    let log = server.request_log();
    assert!(matches!(log[0].auth, AuthOutcome::Anonymous));
    let t4 = log.iter().find(|e| e.token.as_deref() == Some(T4)).unwrap();
    assert!(matches!(&t4.auth, AuthOutcome::Rejected(t) if t.contains("signature is invalid")));
    assert_eq!(t4.status, Some(401));
}

/// §2.4: the rest of the verification rules (leeway, exp required, alg, query fallback, Go's
/// case-insensitive claim keys).
#[tokio::test]
async fn s2_4_verification_rules() {
    let server = start().await;
    let n = now();
    let header = r#"{"alg":"HS256"}"#;
    let grant = r#""video":{"roomCreate":true},"iss":"devkey""#;
    let cases: Vec<(String, Result<(), &str>)> = vec![
        // Expired 30 s ago: inside the 60 s leeway.
        (
            sign_raw(
                header,
                &format!(r#"{{{grant},"exp":{}}}"#, n - 30),
                "secret",
            ),
            Ok(()),
        ),
        // Expired 90 s ago.
        (
            sign_raw(
                header,
                &format!(r#"{{{grant},"exp":{}}}"#, n - 90),
                "secret",
            ),
            Err("invalid authorization token: token has invalid claims: token is expired"),
        ),
        // nbf 30 s ahead: fine; 90 s ahead: not yet valid.
        (
            sign_raw(
                header,
                &format!(r#"{{{grant},"exp":{},"nbf":{}}}"#, n + 600, n + 30),
                "secret",
            ),
            Ok(()),
        ),
        (
            sign_raw(
                header,
                &format!(r#"{{{grant},"exp":{},"nbf":{}}}"#, n + 600, n + 90),
                "secret",
            ),
            Err("invalid authorization token: token has invalid claims: token is not valid yet"),
        ),
        // No exp at all.
        (
            sign_raw(header, &format!("{{{grant}}}"), "secret"),
            Err(
                "invalid authorization token: token has invalid claims: token is missing required claim: exp claim is required",
            ),
        ),
        // Another HMAC algorithm.
        (
            sign_raw(
                r#"{"alg":"HS384"}"#,
                &format!(r#"{{{grant},"exp":{}}}"#, n + 600),
                "secret",
            ),
            Err(
                "invalid authorization token: token signature is invalid: signing method HS384 is invalid",
            ),
        ),
        // An algorithm nobody knows: the unverified parse fails.
        (
            sign_raw(
                r#"{"alg":"XX1"}"#,
                &format!(r#"{{{grant},"exp":{}}}"#, n + 600),
                "secret",
            ),
            Err("invalid authorization token"),
        ),
        // typ, sub, iat, aud are not required, and extra header fields are fine.
        (
            sign_raw(
                r#"{"typ":"JWT","alg":"HS256","kid":"x"}"#,
                &format!(r#"{{{grant},"exp":{},"sub":"","aud":"a"}}"#, n + 600),
                "secret",
            ),
            Ok(()),
        ),
        // No iss: no key.
        (
            sign_raw(
                header,
                &format!(r#"{{"video":{{"roomCreate":true}},"exp":{}}}"#, n + 600),
                "secret",
            ),
            Err("invalid API key"),
        ),
    ];
    for (i, (tok, want)) in cases.iter().enumerate() {
        let r = call_json(
            &server,
            "CreateRoom",
            Some(tok),
            &format!(r#"{{"name":"r{i}"}}"#),
        )
        .await;
        match want {
            Ok(()) => assert_eq!(r.status, 200, "case {i}: {}", r.text()),
            Err(text) => assert_eq!(
                (r.status, r.ct(), r.text().as_str()),
                (401, TEXT, *text),
                "case {i}"
            ),
        }
    }

    // Go decodes claims case-insensitively: `RoomCreate` grants, `room_create` does not.
    let upper = sign_raw(
        header,
        &format!(
            r#"{{"video":{{"RoomCreate":true}},"iss":"devkey","exp":{}}}"#,
            n + 600
        ),
        "secret",
    );
    assert_eq!(
        call_json(&server, "CreateRoom", Some(&upper), r#"{"name":"u"}"#)
            .await
            .status,
        200
    );
    let snake = sign_raw(
        header,
        &format!(
            r#"{{"video":{{"room_create":true}},"iss":"devkey","exp":{}}}"#,
            n + 600
        ),
        "secret",
    );
    let r = call_json(&server, "CreateRoom", Some(&snake), r#"{"name":"s"}"#).await;
    assert_eq!((r.status, r.ct()), (401, JSON));
    // `video: null` is no grant at all.
    let null_video = sign_raw(
        header,
        &format!(r#"{{"video":null,"iss":"devkey","exp":{}}}"#, n + 600),
        "secret",
    );
    assert_eq!(
        call_json(&server, "CreateRoom", Some(&null_video), r#"{"name":"n"}"#)
            .await
            .status,
        401
    );

    // Without a header, the access_token query parameter is used.
    let r = send(
        &server,
        "POST",
        &format!("{PREFIX}CreateRoom?access_token={T1}"),
        &[("content-type", JSON)],
        r#"{"name":"q"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        &server,
        "POST",
        &format!("{PREFIX}CreateRoom?access_token={T3}"),
        &[("content-type", JSON)],
        r#"{"name":"q"}"#,
    )
    .await;
    assert_eq!((r.status, r.ct()), (401, TEXT));
    // Go's FormValue also reads a url-encoded POST body: the token verifies, then Twirp refuses
    // the content type (404 bad_route, not 401).
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let r = send(
        &server,
        "POST",
        &format!("{PREFIX}CreateRoom"),
        &form,
        format!("access_token={T1}"),
    )
    .await;
    assert_eq!((r.status, r.ct()), (404, JSON));
    assert!(server.request_log().last().unwrap().claims().is_some());
    let r = send(
        &server,
        "POST",
        &format!("{PREFIX}CreateRoom"),
        &form,
        format!("access_token={T3}"),
    )
    .await;
    assert_eq!((r.status, r.ct()), (401, TEXT));
    // A header wins over the query.
    let r = send(
        &server,
        "POST",
        &format!("{PREFIX}CreateRoom?access_token={T1}"),
        &[
            ("content-type", JSON),
            ("authorization", &format!("Bearer {T2}")),
        ],
        r#"{"name":"q"}"#,
    )
    .await;
    assert_eq!((r.status, r.ct()), (401, JSON));
}

/// §8.6: a valid token without the grant (or for another room) gets 401 unauthenticated JSON.
#[tokio::test]
async fn s8_6_permission_denied() {
    let server = start().await;
    let denied = r#"{"code":"unauthenticated","msg":"permissions denied"}"#;
    let r = call_json(&server, "CreateRoom", Some(T2), r#"{"name":"my-room"}"#).await;
    assert_eq!((r.status, r.ct(), r.text().as_str()), (401, JSON, denied));
    let r = call_json(
        &server,
        "ListParticipants",
        Some(T2),
        r#"{"room":"other-room"}"#,
    )
    .await;
    assert_eq!((r.status, r.ct(), r.text().as_str()), (401, JSON, denied));
    // The room match is exact and case-sensitive.
    let r = call_json(
        &server,
        "ListParticipants",
        Some(T2),
        r#"{"room":"My-Room"}"#,
    )
    .await;
    assert_eq!(r.status, 401);
    // The right room: a missing room lists no participants (200, not 404).
    let r = call_json(
        &server,
        "ListParticipants",
        Some(T2),
        r#"{"room":"my-room"}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (200, JSON, r#"{"participants":[]}"#)
    );
    // An empty room name matches a token whose room is empty.
    let r = call_json(&server, "ListParticipants", Some(&admin_token("")), "{}").await;
    assert_eq!(r.status, 200);
    // roomAdmin without room for a named room: denied.
    let r = call_json(
        &server,
        "ListParticipants",
        Some(&admin_token("")),
        r#"{"room":"x"}"#,
    )
    .await;
    assert_eq!(r.status, 401);
}

/// §6.2: routing, content types and decoding errors, and their order relative to auth.
#[tokio::test]
async fn s6_2_routing_and_decoding_errors() {
    let server = start().await;
    let auth = format!("Bearer {T1}");
    let path = "/twirp/livekit.RoomService/CreateRoom";

    let r = send(&server, "GET", path, &[("authorization", &auth)], "").await;
    assert_eq!((r.status, r.ct()), (404, JSON));
    assert_eq!(
        r.text(),
        r#"{"code":"bad_route","msg":"unsupported method \"GET\" (only POST is allowed)","meta":{"twirp_invalid_route":"GET /twirp/livekit.RoomService/CreateRoom"}}"#
    );
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.RoomService/Nope",
        &[("content-type", JSON)],
        "{}",
    )
    .await;
    assert_eq!((r.status, r.ct()), (404, JSON));
    assert_eq!(
        r.text(),
        r#"{"code":"bad_route","msg":"no handler for path \"/twirp/livekit.RoomService/Nope\"","meta":{"twirp_invalid_route":"POST /twirp/livekit.RoomService/Nope"}}"#
    );
    // Method names are case-sensitive.
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.RoomService/createRoom",
        &[("content-type", JSON)],
        "{}",
    )
    .await;
    assert_eq!(r.status, 404);
    let r = send(
        &server,
        "POST",
        path,
        &[("content-type", "text/plain"), ("authorization", &auth)],
        "{}",
    )
    .await;
    assert_eq!((r.status, r.ct()), (404, JSON));
    assert_eq!(
        r.text(),
        r#"{"code":"bad_route","msg":"unexpected Content-Type: \"text/plain\"","meta":{"twirp_invalid_route":"POST /twirp/livekit.RoomService/CreateRoom"}}"#
    );
    let r = send(&server, "POST", path, &[("authorization", &auth)], "{}").await;
    assert_eq!(
        r.text(),
        r#"{"code":"bad_route","msg":"unexpected Content-Type: \"\"","meta":{"twirp_invalid_route":"POST /twirp/livekit.RoomService/CreateRoom"}}"#
    );
    // The media type is matched case-insensitively, parameters ignored.
    let r = send(
        &server,
        "POST",
        path,
        &[
            ("content-type", " Application/JSON ; charset=utf-8"),
            ("authorization", &auth),
        ],
        r#"{"name":"ct"}"#,
    )
    .await;
    assert_eq!((r.status, r.ct()), (200, JSON));

    let malformed_json = r#"{"code":"malformed","msg":"the json request could not be decoded"}"#;
    for body in [
        "",
        "   ",
        "{",
        "[]",
        "null",
        r#"{"name":5}"#,
        r#"{"emptyTimeout":-1}"#,
        r#"{"name":"a","name":"b"}"#,
        r#"{"emptyTimeout":1,"empty_timeout":2}"#,
    ] {
        let r = call_json(&server, "CreateRoom", Some(T1), body).await;
        assert_eq!(
            (r.status, r.ct(), r.text().as_str()),
            (400, JSON, malformed_json),
            "body {body:?}"
        );
    }
    let r = call_proto(&server, "CreateRoom", Some(T1), vec![0x0a, 0x05, b'a']).await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (
            400,
            JSON,
            r#"{"code":"malformed","msg":"the protobuf request could not be decoded"}"#
        )
    );

    // Anonymous requests pass the middleware: bad route → 404, bad JSON → 400, not 401.
    let r = send(&server, "POST", "/twirp/livekit.RoomService/Nope", &[], "").await;
    assert_eq!(r.status, 404);
    let r = call_json(&server, "CreateRoom", None, "{").await;
    assert_eq!(r.status, 400);

    // Outside the RoomService prefix: the plain mux.
    let r = send(&server, "GET", "/", &[], "").await;
    assert_eq!((r.status, r.ct(), r.text().as_str()), (200, TEXT, "OK"));
    let r = send(&server, "GET", "/settings/regions", &[], "").await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (404, TEXT, "404 page not found\n")
    );
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.Nope/X",
        &[("content-type", JSON)],
        "{}",
    )
    .await;
    assert_eq!((r.status, r.ct()), (404, TEXT));
    // A leading `//` is collapsed before routing.
    let r = send(
        &server,
        "POST",
        "//twirp/livekit.RoomService/CreateRoom",
        &[("content-type", JSON), ("authorization", &auth)],
        r#"{"name":"slashes"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    // Go's mux: the prefix without its slash, and unclean paths, are redirected (301).
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.RoomService?x=1",
        &[("content-type", JSON)],
        "{}",
    )
    .await;
    assert_eq!(r.status, 301);
    assert_eq!(r.headers["location"], "/twirp/livekit.RoomService/?x=1");
    let r = send(
        &server,
        "POST",
        "/twirp//livekit.RoomService/CreateRoom",
        &[("content-type", JSON)],
        "{}",
    )
    .await;
    assert_eq!(
        (r.status, r.headers["location"].to_str().unwrap()),
        (301, path)
    );
    // The prefix with an empty method, and a nested path, are Twirp bad routes.
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.RoomService/",
        &[("content-type", JSON)],
        "{}",
    )
    .await;
    assert_eq!(
        r.text(),
        r#"{"code":"bad_route","msg":"no handler for path \"/twirp/livekit.RoomService/\"","meta":{"twirp_invalid_route":"POST /twirp/livekit.RoomService/"}}"#
    );
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.RoomService/x/livekit.RoomService/CreateRoom",
        &[("content-type", JSON)],
        "{}",
    )
    .await;
    assert_eq!(
        r.json()["msg"],
        r#"invalid path prefix "/twirp/livekit.RoomService/x", expected "/twirp", on path "/twirp/livekit.RoomService/x/livekit.RoomService/CreateRoom""#
    );
    // A bad escape: net/http answers 400 before any handler.
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.RoomService/Create%zzRoom",
        &[],
        "",
    )
    .await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (400, TEXT, "400 Bad Request")
    );
    // A path that differs only by escaping routes like Go's decoded URL.Path.
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.RoomService/Create%52oom",
        &[("content-type", JSON), ("authorization", &auth)],
        r#"{"name":"esc"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
}

/// §3.1: what the server accepts in JSON.
#[tokio::test]
async fn s3_1_protojson_parsing() {
    let server = start().await;
    let body = r#"{
        "name": "parse",
        "empty_timeout": "45",
        "departureTimeout": 7,
        "maxParticipants": 3e0,
        "metadata": null,
        "node_id": "n",
        "tags": {"k": "v"},
        "syncStreams": true,
        "agents": [{"agentName": "a1", "restart_policy": "JRP_NEVER", "attributes": {"x": "y"}}, {"agent_name": "a2", "restartPolicy": 1}],
        "unknownField": {"deep": [1, 2, {"x": null}]}
    } trailing garbage is ignored"#;
    let r = call_json(&server, "CreateRoom", Some(T1), body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let room = r.json();
    assert_eq!(
        (
            room["empty_timeout"].clone(),
            room["departure_timeout"].clone(),
            room["max_participants"].clone()
        ),
        (json!(45), json!(7), json!(3))
    );
    let stored = server.room("parse").unwrap();
    let req = &stored.create_request;
    assert_eq!(req.node_id, "n");
    assert_eq!(req.metadata, "");
    assert!(req.sync_streams);
    assert_eq!(req.tags.get("k").map(String::as_str), Some("v"));
    assert_eq!(
        stored.agents(),
        [
            RoomAgentDispatch {
                agent_name: "a1".into(),
                restart_policy: 1,
                attributes: [("x".to_owned(), "y".to_owned())].into(),
                ..Default::default()
            },
            RoomAgentDispatch {
                agent_name: "a2".into(),
                restart_policy: 1,
                ..Default::default()
            }
        ]
    );
}

/// §3.3: limits and the absence of name validation.
#[tokio::test]
async fn s3_3_create_room_limits() {
    let server = start().await;
    let long = "é".repeat(128) + "x"; // 257 bytes
    let r = call_json(
        &server,
        "CreateRoom",
        Some(T1),
        &json!({"name": long}).to_string(),
    )
    .await;
    assert_eq!((r.status, r.ct()), (400, JSON));
    assert_eq!(
        r.text(),
        r#"{"code":"invalid_argument","msg":"twirp error unknown: room name length exceeds limits: max length 256"}"#
    );
    let ok = "é".repeat(128); // 256 bytes
    assert_eq!(
        call_json(
            &server,
            "CreateRoom",
            Some(T1),
            &json!({"name": ok}).to_string()
        )
        .await
        .status,
        200
    );
    // No character or empty-name validation.
    for name in ["", "with space/and?odd#chars", "日本語 🎥"] {
        let r = call_json(
            &server,
            "CreateRoom",
            Some(T1),
            &json!({"name": name}).to_string(),
        )
        .await;
        assert_eq!(r.status, 200, "{name:?}");
        assert_eq!(r.json()["name"], name);
    }
    let big = "m".repeat(524_289);
    let r = call_json(
        &server,
        "CreateRoom",
        Some(T1),
        &json!({"name": "meta", "metadata": big}).to_string(),
    )
    .await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (
            400,
            JSON,
            r#"{"code":"invalid_argument","msg":"metadata size exceeds limits 524288","meta":{"argument":"metadata size exceeds limits"}}"#
        )
    );
    let r = call_json(
        &server,
        "CreateRoom",
        Some(T1),
        &json!({"name": "meta", "agents": [{"attributes": {"k": "v".repeat(65_536)}}]}).to_string(),
    )
    .await;
    assert_eq!(
        r.text(),
        r#"{"code":"invalid_argument","msg":"attribute size exceeds limits 65536","meta":{"argument":"attribute size exceeds limits"}}"#
    );
    // The permission check comes first.
    let r = call_json(
        &server,
        "CreateRoom",
        None,
        &json!({"name": long}).to_string(),
    )
    .await;
    assert_eq!(r.status, 401);
    // Egress needs an egress service this server does not have.
    let r = call_json(
        &server,
        "CreateRoom",
        Some(T1),
        r#"{"name":"eg","egress":{"room":{"roomName":"eg"}}}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            500,
            r#"{"code":"internal","msg":"twirp error unknown: egress not connected (redis required)"}"#
        )
    );
    let r = call_json(
        &server,
        "CreateRoom",
        Some(T1),
        r#"{"name":"preset","roomPreset":"nope"}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"code":"invalid_argument","msg":"twirp error unknown: unknown room configuration in create room request"}"#
        )
    );
}

/// §1.4 step 3: the body limit (413 text/plain) comes before auth.
#[tokio::test]
async fn s1_4_body_limit() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let server = start().await;
    let mut stream = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let head = format!(
        "POST /twirp/livekit.RoomService/CreateRoom HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nAuthorization: Bearer {T4}\r\nContent-Length: {}\r\n\r\n",
        10 * 1024 * 1024 + 1
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    loop {
        let n = stream.read(&mut buf).await.unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if String::from_utf8_lossy(&got).ends_with("request body too large") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 413 Payload Too Large\r\n"),
        "{text}"
    );
    assert!(
        text.to_ascii_lowercase()
            .contains("content-type: text/plain; charset=utf-8\r\n")
    );
    assert!(text.ends_with("\r\n\r\nrequest body too large"), "{text}");

    // A smaller limit, with a body that actually arrives.
    let small = TestServer::start(TestServerConfig::default().with_max_request_body(64))
        .await
        .unwrap();
    let r = call_json(
        &small,
        "CreateRoom",
        Some(T1),
        &format!(r#"{{"name":"{}"}}"#, "x".repeat(100)),
    )
    .await;
    assert_eq!(
        (r.status, r.ct(), r.text().as_str()),
        (413, TEXT, "request body too large")
    );
    assert_eq!(
        call_json(&small, "CreateRoom", Some(T1), r#"{"name":"x"}"#)
            .await
            .status,
        200
    );
}

/// §5: the participant methods, on participants seeded through the test API.
#[tokio::test]
async fn s5_participants() {
    let server = start().await;
    call_json(&server, "CreateRoom", Some(T1), r#"{"name":"my-room"}"#).await;
    let mut alice = participant("alice");
    alice.name = "Alice".into();
    alice.tracks.push(roomkey_testserver::proto::TrackInfo {
        name: "cam".into(),
        r#type: 1,
        source: 1,
        ..Default::default()
    });
    let alice = server.seed_participant("my-room", alice);
    assert!(alice.sid.starts_with("PA_") && alice.tracks[0].sid.starts_with("TR_"));
    server.seed_participant("my-room", participant("bob"));

    let r = call_json(
        &server,
        "ListParticipants",
        Some(T2),
        r#"{"room":"my-room"}"#,
    )
    .await;
    assert_eq!(r.status, 200);
    let ps = r.json()["participants"].as_array().unwrap().clone();
    assert_eq!(ps.len(), 2);
    let a = &ps[0];
    let mut keys: Vec<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    let mut want = vec![
        "sid",
        "identity",
        "state",
        "tracks",
        "metadata",
        "joined_at",
        "joined_at_ms",
        "name",
        "version",
        "permission",
        "region",
        "is_publisher",
        "kind",
        "attributes",
        "disconnect_reason",
        "kind_details",
        "data_tracks",
        "client_protocol",
        "capabilities",
    ];
    want.sort_unstable();
    assert_eq!(keys, want);
    assert_eq!(a["identity"], "alice");
    assert_eq!(a["state"], "ACTIVE");
    assert_eq!(a["kind"], "STANDARD");
    assert_eq!(a["disconnect_reason"], "UNKNOWN_REASON");
    assert!(a["joined_at"].is_string() && a["joined_at_ms"].is_string());
    assert_eq!(a["is_publisher"], true);
    assert_eq!(a["tracks"][0]["type"], "VIDEO");
    assert_eq!(a["tracks"][0]["source"], "CAMERA");
    assert_eq!(a["permission"]["can_publish"], true);
    assert_eq!(a["attributes"], json!({}));

    // The room counts them.
    let r = call_json(&server, "ListRooms", Some(&list_token()), "{}").await;
    assert_eq!(r.json()["rooms"][0]["num_participants"], 2);
    assert_eq!(r.json()["rooms"][0]["num_publishers"], 1);

    let r = call_json(
        &server,
        "GetParticipant",
        Some(T2),
        r#"{"room":"my-room","identity":"alice"}"#,
    )
    .await;
    assert_eq!((r.status, r.json()["name"].clone()), (200, json!("Alice")));
    let r = call_json(
        &server,
        "GetParticipant",
        Some(T2),
        r#"{"room":"my-room","identity":"carol"}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            404,
            r#"{"code":"not_found","msg":"twirp error unknown: participant does not exist"}"#
        )
    );

    // UpdateParticipant, as Node sends it.
    let r = call_json(
        &server,
        "UpdateParticipant",
        Some(T2),
        r#"{"room":"my-room","identity":"alice","metadata":"m","permission":{"canPublish":true},"attributes":{"k":"v"}}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let u = r.json();
    assert_eq!(
        (u["metadata"].clone(), u["name"].clone()),
        (json!("m"), json!("Alice"))
    );
    assert_eq!(u["attributes"], json!({"k": "v"}));
    assert_eq!(
        u["permission"]["can_subscribe"], false,
        "the permission is replaced whole"
    );
    assert_eq!(u["version"], 2);
    let r = call_json(
        &server,
        "UpdateParticipant",
        Some(T2),
        r#"{"room":"my-room","identity":"alice","attributes":{"k":""}}"#,
    )
    .await;
    assert_eq!(
        r.json()["attributes"],
        json!({}),
        "an empty value deletes the attribute"
    );
    // Size checks come before the permission check.
    let r = call_json(
        &server,
        "UpdateParticipant",
        None,
        &json!({"room":"my-room","identity":"alice","name":"n".repeat(257)}).to_string(),
    )
    .await;
    assert_eq!(
        r.text(),
        r#"{"code":"invalid_argument","msg":"name length exceeds limits 256","meta":{"argument":"name length exceeds limits"}}"#
    );

    // UpdateRoomMetadata.
    let r = call_json(
        &server,
        "UpdateRoomMetadata",
        Some(T2),
        r#"{"room":"my-room","metadata":"hello"}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.json()["metadata"].clone()),
        (200, json!("hello"))
    );
    let r = call_json(
        &server,
        "UpdateRoomMetadata",
        Some(&admin_token("gone")),
        r#"{"room":"gone","metadata":"x"}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            404,
            r#"{"code":"not_found","msg":"twirp error unknown: requested room does not exist"}"#
        )
    );
    let r = call_json(
        &server,
        "UpdateRoomMetadata",
        None,
        &json!({"room":"my-room","metadata":"m".repeat(524_289)}).to_string(),
    )
    .await;
    assert_eq!(r.status, 400, "size before permission");

    // MutePublishedTrack: mute works, remote unmute is off by default.
    let track = alice.tracks[0].sid.clone();
    let r = call_json(
        &server,
        "MutePublishedTrack",
        Some(T2),
        &json!({"room":"my-room","identity":"alice","trackSid":track,"muted":true}).to_string(),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["track"]["muted"].clone()),
        (200, json!(true))
    );
    let r = call_json(
        &server,
        "MutePublishedTrack",
        Some(T2),
        &json!({"room":"my-room","identity":"alice","trackSid":track,"muted":false}).to_string(),
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            412,
            r#"{"code":"failed_precondition","msg":"twirp error unknown: remote unmute not enabled"}"#
        )
    );

    // SendData: the nonce must be empty or 16 bytes.
    let r = call_json(
        &server,
        "SendData",
        Some(T2),
        r#"{"room":"my-room","data":"aGk=","topic":"t","nonce":"AAECAwQFBgcICQoLDA0ODw=="}"#,
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "{}"));
    let r = call_json(
        &server,
        "SendData",
        Some(T2),
        r#"{"room":"my-room","data":"aGk=","nonce":"AAE="}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"code":"invalid_argument","msg":"nonce should be 16-bytes or not present, got: 2 bytes"}"#
        )
    );

    // RemoveParticipant, then again.
    let r = call_json(
        &server,
        "RemoveParticipant",
        Some(T2),
        r#"{"room":"my-room","identity":"bob","revokeTokenTs":"1724300000"}"#,
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, "{}"));
    let r = call_json(
        &server,
        "RemoveParticipant",
        Some(T2),
        r#"{"room":"my-room","identity":"bob"}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            404,
            r#"{"code":"not_found","msg":"twirp error unknown: participant does not exist"}"#
        )
    );
    assert_eq!(server.room("my-room").unwrap().participants.len(), 1);
}

/// The Cloud-only and data-channel methods behave as on a single OSS node.
#[tokio::test]
async fn s5_other_methods() {
    let server = TestServer::start(
        TestServerConfig::default().with_rpc_ack_timeout(std::time::Duration::from_millis(50)),
    )
    .await
    .unwrap();
    server.seed_participant("my-room", participant("alice"));
    let mover = token(|g| {
        g.room_admin = true;
        g.room = "my-room".into();
        g.destination_room = "dest".into();
    });
    let r = call_json(
        &server,
        "MoveParticipant",
        Some(T2),
        r#"{"room":"my-room","identity":"alice","destinationRoom":"dest"}"#,
    )
    .await;
    assert_eq!(r.status, 401, "destinationRoom must match too");
    let r = call_json(
        &server,
        "MoveParticipant",
        Some(&mover),
        r#"{"room":"my-room","identity":"alice","destinationRoom":"dest"}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            500,
            r#"{"code":"unknown","msg":"twirp error unknown: not implemented"}"#
        )
    );
    let same = token(|g| {
        g.room_admin = true;
        g.room = "my-room".into();
        g.destination_room = "my-room".into();
    });
    let r = call_json(
        &server,
        "ForwardParticipant",
        Some(&same),
        r#"{"room":"my-room","identity":"alice","destinationRoom":"my-room"}"#,
    )
    .await;
    assert_eq!(
        r.text(),
        r#"{"code":"invalid_argument","msg":"destination room cannot be the same as source room ","meta":{"argument":"destination room cannot be the same as source room"}}"#
    );
    let r = call_json(
        &server,
        "UpdateSubscriptions",
        Some(T2),
        r#"{"room":"my-room","identity":"ghost","trackSids":["TR_x"],"subscribe":true}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            503,
            r#"{"code":"unavailable","msg":"twirp error unknown: no response from servers"}"#
        )
    );
    let r = call_json(
        &server,
        "PerformRpc",
        Some(T2),
        r#"{"room":"my-room","destinationIdentity":"alice","method":"m","payload":"p"}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            408,
            r#"{"code":"canceled","msg":"twirp error unknown: RpcError 1501: Connection timeout"}"#
        )
    );
    let r = call_json(
        &server,
        "PerformRpc",
        Some(T2),
        r#"{"room":"my-room","method":"m"}"#,
    )
    .await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (
            400,
            r#"{"code":"invalid_argument","msg":"twirp error unknown: destination identity is required"}"#
        )
    );
}

/// The request log: method, path, status and the decoded token of every request.
#[tokio::test]
async fn request_log_records_claims() {
    let server = start().await;
    call_json(&server, "CreateRoom", Some(T1), r#"{"name":"my-room"}"#).await;
    call_json(
        &server,
        "ListParticipants",
        Some(T2),
        r#"{"room":"my-room"}"#,
    )
    .await;
    call_json(&server, "ListRooms", Some(T3), "{}").await;
    send(&server, "GET", "/", &[], "").await;
    let log = server.request_log();
    assert_eq!(log.len(), 4);
    assert_eq!(
        (log[0].method.as_str(), log[0].path.as_str(), log[0].status),
        ("POST", "/twirp/livekit.RoomService/CreateRoom", Some(200))
    );
    assert_eq!(log[0].rpc.as_deref(), Some("CreateRoom"));
    assert_eq!(
        log[0].token_payload().unwrap(),
        json!({"video":{"roomCreate":true},"iss":"devkey","exp":4102444800_i64,"nbf":1700000000})
    );
    assert_eq!(log[0].token_header().unwrap(), json!({"alg":"HS256"}));
    assert!(log[0].claims().unwrap().video.as_ref().unwrap().room_create);
    assert_eq!(log[0].request_json().unwrap(), json!({"name":"my-room"}));
    assert_eq!(log[0].response_json().unwrap()["name"], "my-room");
    let grants = log[1].grants().unwrap();
    assert!(grants.room_admin && grants.room == "my-room");
    assert_eq!(log[2].status, Some(401));
    assert!(log[2].claims().is_none());
    assert_eq!(log[3].rpc, None);
    assert_eq!(server.attempts("CreateRoom"), 1);
    assert_eq!(server.attempts("ListRooms"), 1);
    assert_eq!(server.total_requests(), 4);
    assert!(log.windows(2).all(|w| w[0].seq < w[1].seq));
}

/// rs/cors runs first: a preflight is answered before auth; actual requests get the headers.
#[tokio::test]
async fn cors() {
    let server = start().await;
    let r = send(
        &server,
        "OPTIONS",
        "/twirp/livekit.RoomService/CreateRoom",
        &[
            ("origin", "https://app.example"),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
            ("authorization", "Basic nope"),
        ],
        "",
    )
    .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(r.headers["access-control-allow-methods"], "POST");
    assert_eq!(
        r.headers["access-control-allow-headers"],
        "authorization,content-type"
    );
    assert_eq!(r.headers["access-control-max-age"], "86400");
    let r = send(
        &server,
        "POST",
        "/twirp/livekit.RoomService/CreateRoom",
        &[("origin", "https://app.example"), ("content-type", JSON)],
        "{}",
    )
    .await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.headers["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(r.headers["vary"], "Origin");
}

/// Two servers at once, one started without any async runtime.
#[test]
fn start_blocking_without_a_runtime() {
    let a = TestServer::start_blocking(TestServerConfig::default()).unwrap();
    let b = TestServer::start_blocking(TestServerConfig::default()).unwrap();
    assert_ne!(a.url(), b.url());
    assert!(a.url().starts_with("http://127.0.0.1:"));
    assert_eq!(a.ws_url().replace("ws://", "http://"), a.url());
    a.seed_participant("r", participant("p"));
    assert_eq!(a.rooms().len(), 1);
    assert!(b.rooms().is_empty());
}
