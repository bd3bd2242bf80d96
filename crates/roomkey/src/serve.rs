//! `roomkey serve` and `roomkey key-hash`.

use std::io::Read as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use roomkey_server::{App, Config, EnvOverrides};

use crate::output::out;

/// Run the token server: LiveKit's standard token endpoint, the Generate Access Token action
/// over HTTP, a web page, health checks and metrics.
#[derive(Debug, clap::Args)]
#[command(after_long_help = SERVE_HELP)]
pub(crate) struct ServeArgs {
    /// Configuration file (TOML); see roomkey.example.toml
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,

    /// Address to listen on, ADDR:PORT or HOST:PORT (overrides the file and ROOMKEY_LISTEN)
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,

    /// Development mode: 127.0.0.1 only (port 8080), the devkey/secret pair, no caller
    /// authentication. With `livekit-server --dev`, a complete local setup
    #[arg(long, conflicts_with = "config")]
    dev: bool,

    /// Also allow browser calls from this exact origin (e.g. https://app.example.com), on top
    /// of the file's cors_origins; repeat for more. --dev already allows http://localhost:* and
    /// http://127.0.0.1:*
    #[arg(long, value_name = "ORIGIN")]
    cors_origin: Vec<String>,
}

const SERVE_HELP: &str = "\
Environment overrides (they win over the file):
  ROOMKEY_LISTEN       listen address
  LIVEKIT_URL          the LiveKit URL returned to clients as server_url
  LIVEKIT_API_KEY      API key that signs tokens
  LIVEKIT_API_SECRET   its secret
  ROOMKEY_LOG_FORMAT   text or json
  ROOMKEY_REDIS_PASSWORD  the Redis password, with [rate_limit] store = \"redis\"
  RUST_LOG             log filter (default info)

Endpoints:
  POST /api/token                       LiveKit's standard token endpoint
  POST /api/v1/generate-access-token    the Generate Access Token action (admin callers)
  GET  /                                web page; its form calls the admin-only endpoint above
  GET  /healthz, /readyz               liveness, readiness
  GET  /metrics                         Prometheus metrics: with --dev here; otherwise where the
                                        file's [metrics] says (its own listener, a key, public)";

/// Runs `roomkey serve`.
pub(crate) fn run(args: &ServeArgs) -> Result<()> {
    let mut env = EnvOverrides::from_env();
    env.listen_flag.clone_from(&args.listen);
    env.cors_origins.clone_from(&args.cors_origin);
    let config = match (&args.config, args.dev) {
        (Some(path), _) => Config::load(path, &env)?,
        (None, true) => Config::dev(&env)?,
        (None, false) => bail!(
            "roomkey serve needs a configuration: --config FILE for production (start from \
             roomkey.example.toml), or --dev for a local development server on 127.0.0.1:8080 \
             that works with `livekit-server --dev`"
        ),
    };
    let (_log_guard, audit) = roomkey_server::init_logging(config.json_logs);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        // Before the banner: a signal right after "listening" must already stop gracefully.
        let shutdown = roomkey_server::shutdown_signal();
        if config.dev {
            eprintln!(
                "roomkey: DEVELOPMENT MODE: no caller authentication, API key {}, bound to loopback only.\n\
                 roomkey: tokens for {} — never expose this server.",
                config.key.api_key(),
                config.livekit_url
            );
        }
        let app = App::with_audit_log(config, audit)?;
        // A server that cannot reach its rate-limit store does not start: say so before
        // anything says "listening".
        app.connect_stores().await?;
        eprintln!("roomkey: listening on http://{addr}");
        roomkey_server::serve(app, listener, shutdown).await?;
        eprintln!("roomkey: stopped");
        Ok(())
    })
}

/// Print the SHA-256 of an API key for a `[[caller]]` entry, or make a new key.
#[derive(Debug, clap::Args)]
pub(crate) struct KeyHashArgs {
    /// The key; "-" or nothing reads it from standard input
    #[arg(value_name = "KEY|-")]
    key: Option<String>,
    /// Generate a new random key and print it with its hash
    #[arg(long, conflicts_with = "key")]
    generate: bool,
}

/// Runs `roomkey key-hash`.
pub(crate) fn key_hash(args: &KeyHashArgs) -> Result<()> {
    if args.generate {
        let key = roomkey_server::generate_caller_key();
        out(&format!("key:        {key}"));
        out(&format!("key_sha256: {}", roomkey_server::hash_key(&key)));
        return Ok(());
    }
    let key = match args.key.as_deref() {
        None | Some("-") => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read the key")?;
            text.trim_end_matches(['\n', '\r']).to_owned()
        }
        Some(k) => k.to_owned(),
    };
    if key.is_empty() {
        bail!("the key is empty");
    }
    out(&roomkey_server::hash_key(&key));
    Ok(())
}
