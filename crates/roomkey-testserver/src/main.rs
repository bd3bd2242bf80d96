//! `roomkey-testserver`: runs the RoomService imitation for tests written in other languages.
//!
//! It prints the base URL (`http://127.0.0.1:PORT`) on the first line of stdout once it is
//! accepting connections, then serves until it is interrupted (SIGINT/SIGTERM) or, with
//! `--exit-on-stdin-eof`, until its standard input closes.

use std::io::Write as _;
use std::net::SocketAddr;

use clap::Parser;
use roomkey_testserver::{TestServer, TestServerConfig};

/// A local imitation of LiveKit's RoomService (Twirp over HTTP), for tests.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// API keys, LiveKit's format: "key: secret", one pair a line. Default: devkey / secret.
    #[arg(long, env = "LIVEKIT_KEYS")]
    keys: Option<String>,
    /// Use the dev keys (devkey / secret); the default when --keys is not given.
    #[arg(long, conflicts_with = "keys")]
    dev: bool,
    /// Print one line per request on stderr when the server stops.
    #[arg(long)]
    log_requests: bool,
    /// Stop when standard input reaches end of file (so a parent process can stop the server
    /// by closing the pipe).
    #[arg(long)]
    exit_on_stdin_eof: bool,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let _ = args.dev; // the default anyway
    let mut config = TestServerConfig::default().with_listen(args.listen);
    if let Some(keys) = &args.keys {
        config = config.with_keys_text(keys)?;
    }
    let server = TestServer::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", server.url())?;
        out.flush()?;
    }

    if args.exit_on_stdin_eof {
        let stdin_eof = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        });
        tokio::select! {
            _ = stdin_eof => {}
            _ = shutdown_signal() => {}
        }
    } else {
        shutdown_signal().await;
    }

    if args.log_requests {
        let mut err = std::io::stderr().lock();
        for r in server.request_log() {
            let status = r
                .status
                .map_or_else(|| "dropped".to_owned(), |s| s.to_string());
            writeln!(err, "{} {} {} -> {status}", r.seq, r.method, r.path)?;
        }
    }
    server.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
