//! `roomkey-loadpeer`: the baseline for `scripts/bench-server`.
//!
//! An axum server with the same runtime as `roomkey serve` (multi-thread tokio, default worker
//! count, `axum::serve` with connection info) whose `POST /api/token` reads and discards the
//! request body and answers 201 with a constant JSON body, one real answer of roomkey's. What
//! roomkey costs per request beyond this is the price of its router layers (CORS, timeouts,
//! panic catching), authentication, policy, minting, metrics and the audit log.
//!
//! ```text
//! roomkey-loadpeer [ADDR:PORT]      (default 127.0.0.1:8081)
//! ```

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

/// A constant answer: one real answer of `roomkey serve` to the benchmark's request (497 bytes;
/// the token was signed with a throw-away secret).
const BODY: &str = concat!(
    r#"{"participant_name":"Ann","participant_token":""#,
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
    "eyJpc3MiOiJBUEliZW5jaCIsImV4cCI6MTc5NTk0MTY2NSwibmJmIjoxNzk1OTQwNzY1LCJpYXQiOjE3OTU5NDA3NjUs",
    "InN1YiI6InUtNyIsImlkZW50aXR5IjoidS03IiwibmFtZSI6IkFubiIsInZpZGVvIjp7InJvb21Kb2luIjp0cnVlLCJy",
    "b29tIjoic3VwcG9ydC0xIiwiY2FuUHVibGlzaCI6dHJ1ZSwiY2FuU3Vic2NyaWJlIjp0cnVlfSwibWV0YWRhdGEiOiJ7",
    "XCJwbGFuXCI6XCJwcm9cIn0ifQ.",
    "SoN4bYD_ptoLPTixTAxjpa8CMTvW4s7Cx6ssfJhuZYo",
    r#"","room_name":"support-1","server_url":"wss://livekit.example.com"}"#
);

async fn token(body: Bytes) -> Response {
    drop(body);
    let mut response = (
        StatusCode::CREATED,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        BODY,
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn main() -> std::io::Result<()> {
    let addr: SocketAddr = match std::env::args().nth(1) {
        None => SocketAddr::from(([127, 0, 0, 1], 8081)),
        Some(a) if a == "-h" || a == "--help" => {
            println!("usage: roomkey-loadpeer [ADDR:PORT]   (default 127.0.0.1:8081)");
            return Ok(());
        }
        Some(a) => a.parse().map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("{a:?} is not ADDR:PORT: {e}"),
            )
        })?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        eprintln!(
            "roomkey-loadpeer: listening on http://{}",
            listener.local_addr()?
        );
        let app = Router::new().route("/api/token", post(token));
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, service)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })
}
