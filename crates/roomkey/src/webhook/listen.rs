//! `roomkey webhook listen`: a development receiver.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use roomkey_token::webhook::{MAX_WEBHOOK_BODY, RecentIds, WebhookOptions, verify_webhook};
use roomkey_token::{KeySet, input};
use serde_json::json;

use super::{event_json, summary};
use crate::credentials::KeySetArgs;
use crate::output::{out, safe};

/// How many event ids are remembered to recognise a retried delivery.
const REMEMBERED_IDS: usize = 10_000;

/// Receive webhooks while developing: verify each request, print it, answer it
///
/// Point the LiveKit server's webhook.urls at this address. Every request is verified (the
/// raw body against the Authorization token's sha256, the key by the token's issuer) and
/// printed as one line (a JSON object per line with --json); it is answered 200, or 401 with the
/// reason. With --forward, each request is posted on to your app's URL unchanged (its headers,
/// Authorization included, and the body byte for byte), whatever the verdict, and the app's
/// status is printed. Stops on Ctrl-C.
#[derive(Debug, clap::Args)]
#[command(after_help = "Example:\n  \
    roomkey webhook listen \\\n    \
      --listen 127.0.0.1:7890 \\\n    \
      --forward \\\n    \
      http://localhost:3000/webhook")]
pub(crate) struct ListenArgs {
    /// Address to listen on
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:7890")]
    listen: SocketAddr,

    /// Pass every request on to this URL, unchanged, and print the app's status
    #[arg(long, value_name = "URL")]
    forward: Option<String>,

    /// Clock leeway on the Authorization token's exp and nbf
    #[arg(long, value_name = "DURATION", default_value = "60", value_parser = input::parse_duration)]
    leeway: Duration,

    #[command(flatten)]
    keys: KeySetArgs,

    /// One JSON object per request on standard output
    #[arg(long, help_heading = "Output")]
    json: bool,
}

struct Listener {
    keys: KeySet,
    leeway: Duration,
    json: bool,
    forward: Option<(reqwest::Client, url::Url)>,
    seen: Mutex<RecentIds>,
}

/// Runs `roomkey webhook listen`.
pub(crate) fn run(args: &ListenArgs) -> Result<()> {
    let keys = args.keys.resolve(None)?;
    let forward = match &args.forward {
        None => None,
        Some(raw) => {
            let url = url::Url::parse(raw)
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https"))
                .with_context(|| {
                    format!("--forward {} is not an http:// or https:// URL", safe(raw))
                })?;
            let client = reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()?;
            Some((client, url))
        }
    };
    let state = Arc::new(Listener {
        keys,
        leeway: args.leeway,
        json: args.json,
        forward,
        seen: Mutex::new(RecentIds::new(REMEMBERED_IDS)),
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr()?;
        let mut banner = format!("roomkey: receiving LiveKit webhooks on http://{addr}");
        if let Some((_, url)) = &state.forward {
            banner.push_str(&format!(", passing them on to {url}"));
        }
        eprintln!("{banner}; Ctrl-C stops");
        let app = axum::Router::new()
            .fallback(receive)
            .layer(axum::extract::DefaultBodyLimit::max(MAX_WEBHOOK_BODY))
            .with_state(state);
        axum::serve(listener, app)
            .with_graceful_shutdown(roomkey_server::shutdown_signal())
            .await
            .context("the webhook listener failed")?;
        Ok::<_, anyhow::Error>(())
    })?;
    Ok(())
}

async fn receive(
    State(state): State<Arc<Listener>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    if method != Method::POST {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "LiveKit sends webhooks with POST\n".to_owned(),
        );
    }
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let options = WebhookOptions::default().with_leeway(state.leeway);
    let verdict = verify_webhook(&body, auth, &state.keys, options);
    let forwarded = match &state.forward {
        Some((client, url)) => Some(forward(client, url, &uri, &headers, body.clone()).await),
        None => None,
    };
    let (status, answer, mut report) = match &verdict {
        Ok(event) => {
            let first = state
                .seen
                .lock()
                .map_or(true, |mut seen| seen.first_time(&event.id));
            let mut report = event_json(event);
            report["duplicate"] = json!(!first);
            let mut line = summary(event);
            if !first {
                line.push_str(" (a duplicate: this id was delivered before)");
            }
            (StatusCode::OK, "ok\n".to_owned(), (report, line))
        }
        Err(e) => (
            StatusCode::UNAUTHORIZED,
            format!("{e}\n"),
            (
                json!({"valid": false, "code": e.code(), "error": e.to_string()}),
                format!("REFUSED {}: {e}", e.code()),
            ),
        ),
    };
    if let Some(forwarded) = &forwarded {
        match forwarded {
            Ok(app_status) => {
                report.0["forwarded"] = json!({"status": app_status});
                report.1.push_str(&format!(" -> app {app_status}"));
            }
            Err(why) => {
                report.0["forwarded"] = json!({"error": why});
                report.1.push_str(&format!(" -> app unreachable: {why}"));
            }
        }
    }
    if state.json {
        out(&serde_json::to_string(&report.0).unwrap_or_default());
    } else {
        out(&report.1);
    }
    (status, answer)
}

/// Passes the request on unchanged; the app's status, or why it could not be asked.
async fn forward(
    client: &reqwest::Client,
    base: &url::Url,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<u16, String> {
    // The configured URL is where the app receives webhooks; a query the server added stays.
    let mut target = base.clone();
    if let Some(query) = uri.query() {
        target.set_query(Some(query));
    }
    let mut request = client.post(target).body(body);
    for (name, value) in headers {
        // Hop-by-hop and connection-specific headers are the client library's to set.
        if !matches!(
            name.as_str(),
            "host" | "content-length" | "connection" | "transfer-encoding" | "keep-alive"
        ) {
            request = request.header(name, value);
        }
    }
    match request.send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(e) => Err(e.to_string()),
    }
}
