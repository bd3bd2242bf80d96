//! The `roomkey-testserver` binary: prints its URL, serves with the given keys, stops on EOF.
#![allow(clippy::unwrap_used)]

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, BufReader};

#[tokio::test]
async fn binary_prints_its_url_and_serves() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roomkey-testserver"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--keys",
            "APIbin: bin-secret",
            "--exit-on-stdin-eof",
        ])
        .env_remove("LIVEKIT_KEYS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let key = roomkey_token::KeyPair::new("APIbin", &"bin-secret".into()).unwrap();
    let mut grant = roomkey_token::VideoGrant::default();
    grant.room_list = true;
    let good = roomkey_token::AccessToken::new()
        .with_video(grant.clone())
        .sign(&key)
        .unwrap();
    let dev = roomkey_token::AccessToken::new()
        .with_video(grant)
        .sign(&roomkey_token::KeyPair::new("devkey", &"secret".into()).unwrap())
        .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let call = |token: String| {
        client
            .post(format!("{url}/twirp/livekit.RoomService/ListRooms"))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .body("{}")
            .send()
    };
    let r = call(good).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), r#"{"rooms":[]}"#);
    // --keys replaces the dev keys.
    let r = call(dev).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.text().await.unwrap(), "invalid API key");

    drop(child.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}
