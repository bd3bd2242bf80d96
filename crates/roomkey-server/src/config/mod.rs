//! The server's configuration file (TOML), its environment overrides, and its checks.
//!
//! Every problem found at start-up names the line of the file it comes from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use roomkey_token::KeyPair;
use toml::Spanned;

use crate::policy::Profile;

mod checks;
mod file;
mod sections;
mod store;

use checks::*;
pub use file::{
    CallerFile, ConnectionsFile, FileConfig, MetricsFile, OidcFile, ProfileFile, RateLimitFile,
    WebhooksFile,
};

pub use crate::connections::ConnectionLimits;
pub use store::{LimitStore, OnStoreError, RedisPassword, RedisStoreSettings};

/// Where `/metrics` is served. Its counters name profiles and show volumes and refusal
/// reasons, so it is not on the public listener unless the configuration says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Not served on the main listener (404); the default outside development mode.
    Off,
    /// On a listener of its own, to anyone who reaches that address.
    Listen(SocketAddr),
    /// On the main listener, to callers with `Authorization: Bearer <key>` (its SHA-256).
    Key([u8; 32]),
    /// On the main listener, to anyone.
    Public,
}

/// A configuration problem, pointing at the line it comes from.
#[derive(Debug)]
pub struct ConfigError {
    /// The file.
    pub file: String,
    /// 1-based line (0 when the problem is not tied to a line).
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// How a caller authenticated.
#[derive(Debug, Clone)]
pub struct StaticCaller {
    /// Name for logs and metrics.
    pub name: String,
    /// SHA-256 of the key.
    pub key_hash: [u8; 32],
    /// Index into [`Config::profiles`].
    pub profile: usize,
    /// May use the action endpoint and the web page.
    pub admin: bool,
}

/// A checked OIDC issuer.
#[derive(Debug, Clone)]
pub struct OidcIssuer {
    /// Expected `iss`.
    pub issuer: String,
    /// JWKS location.
    pub jwks_url: String,
    /// Expected `aud`.
    pub audience: String,
    /// Claim with the identity.
    pub identity_claim: String,
    /// Claim with the display name.
    pub name_claim: Option<String>,
    /// Index into [`Config::profiles`].
    pub profile: usize,
    /// Clock leeway.
    pub leeway: Duration,
    /// Least time between two JWKS downloads.
    pub jwks_min_refresh: Duration,
    /// Put before every subject of this issuer, so that subjects of two issuers never name
    /// the same participant.
    pub identity_prefix: String,
    /// A LiveKit token expires no later than the session JWT it was issued for.
    pub ttl_within_session: bool,
}

/// `[webhooks]`, checked.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// The path the LiveKit server POSTs to.
    pub path: String,
    /// The keys that may sign webhooks.
    pub keys: roomkey_token::KeySet,
    /// How many event ids are remembered.
    pub remember_ids: usize,
    /// Clock leeway.
    pub leeway: Duration,
}

/// The checked, ready-to-run configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Development mode: no caller authentication, loopback only.
    pub dev: bool,
    /// LiveKit API key pair used to sign tokens.
    pub key: KeyPair,
    /// Default `server_url`.
    pub livekit_url: String,
    /// RoomService URL (for profiles that create rooms).
    pub room_service_url: Option<String>,
    /// Per-request timeout.
    pub request_timeout: Duration,
    /// Body limit, bytes.
    pub max_body_bytes: usize,
    /// CORS allow-list.
    pub cors_origins: Vec<String>,
    /// Also allow CORS from loopback origins (`http://localhost:*`, `http://127.0.0.1:*`,
    /// `http://[::1]:*`): development mode, where the frontend's dev server runs on another
    /// port of the same machine.
    pub cors_loopback: bool,
    /// JSON logs.
    pub json_logs: bool,
    /// Client addresses come from the last `X-Forwarded-For` entry (behind a reverse proxy).
    pub trust_forwarded_for: bool,
    /// Requests per minute per caller (0 = off).
    pub per_caller_per_minute: u32,
    /// Requests per minute per IP (0 = off).
    pub per_ip_per_minute: u32,
    /// Burst size.
    pub burst: u32,
    /// Prefix length under which IPv6 clients share a per-IP limit.
    pub ipv6_prefix: u8,
    /// Where the limits are counted: this process's memory, or a Redis shared by replicas.
    pub limit_store: LimitStore,
    /// Connection limits and timeouts.
    pub connections: ConnectionLimits,
    /// Where `/metrics` is served.
    pub metrics: MetricsAccess,
    /// Receiving webhooks, when configured.
    pub webhooks: Option<WebhookSettings>,
    /// Static-key callers.
    pub callers: Vec<StaticCaller>,
    /// OIDC issuers.
    pub oidc: Vec<OidcIssuer>,
    /// Profiles, by index.
    pub profiles: Vec<Profile>,
}

/// Environment variables that override the file (each named in `roomkey serve --help`).
#[derive(Debug, Default, Clone)]
pub struct EnvOverrides {
    /// `ROOMKEY_LISTEN`.
    pub listen: Option<String>,
    /// `--listen`, which wins over `ROOMKEY_LISTEN` (kept apart so that an error names the
    /// source that supplied the value).
    pub listen_flag: Option<String>,
    /// `--cors-origin`, added to the file's `cors_origins` (in development mode too).
    pub cors_origins: Vec<String>,
    /// `LIVEKIT_URL`.
    pub livekit_url: Option<String>,
    /// `LIVEKIT_API_KEY`.
    pub api_key: Option<String>,
    /// `LIVEKIT_API_SECRET`.
    pub api_secret: Option<String>,
    /// `ROOMKEY_LOG_FORMAT`.
    pub log_format: Option<String>,
    /// `ROOMKEY_REDIS_PASSWORD`: the password of `[rate_limit] redis_url` (wins over
    /// `redis_password_file`).
    pub redis_password: Option<RedisPassword>,
}

impl EnvOverrides {
    /// The listen address given outside the file, with where it came from.
    fn listen_address(&self) -> Option<(&str, &'static str)> {
        match (&self.listen_flag, &self.listen) {
            (Some(flag), _) => Some((flag, "--listen")),
            (None, Some(var)) => Some((var, "ROOMKEY_LISTEN")),
            (None, None) => None,
        }
    }

    /// Reads the overrides from the process environment (empty values count as unset).
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        EnvOverrides {
            listen: var("ROOMKEY_LISTEN"),
            listen_flag: None,
            cors_origins: Vec::new(),
            livekit_url: var("LIVEKIT_URL"),
            api_key: var("LIVEKIT_API_KEY"),
            api_secret: var("LIVEKIT_API_SECRET"),
            log_format: var("ROOMKEY_LOG_FORMAT"),
            redis_password: var("ROOMKEY_REDIS_PASSWORD").map(RedisPassword::new),
        }
    }
}

/// Defaults.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The development server's URL.
pub const DEV_LIVEKIT_URL: &str = "ws://localhost:7880";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest request timeout: a token request that takes longer has failed.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
const DEFAULT_BODY_LIMIT: usize = 64 * 1024;
const DEFAULT_JWKS_MIN_REFRESH: Duration = Duration::from_secs(10);

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    /// A problem with no span of its own (line 0 when the whole file is meant).
    fn error(&self, line: usize, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.file.to_owned(),
            line,
            message: message.into(),
        }
    }

    /// A value given outside the file (the value and where it came from: a variable or a
    /// flag), else the file's, read by `read`. An error names the source that gave the value:
    /// the variable or flag, or the file's line. `None` when neither gives one.
    fn env_or_file<T>(
        &self,
        outside: Option<(&str, &str)>,
        in_file: Option<&Spanned<String>>,
        read: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ConfigError> {
        match (outside, in_file) {
            (Some((value, source)), _) => read(value).map(Some).map_err(|message| ConfigError {
                file: source.to_owned(),
                line: 0,
                message,
            }),
            (None, Some(value)) => read(value.get_ref())
                .map(Some)
                .or_else(|m| self.err_at(value, m)),
            (None, None) => Ok(None),
        }
    }

    fn err<T>(
        &self,
        span: std::ops::Range<usize>,
        message: impl Into<String>,
    ) -> Result<T, ConfigError> {
        Err(ConfigError {
            file: self.file.to_owned(),
            line: line_of(self.text, span.start),
            message: message.into(),
        })
    }
    fn err_at<T, V>(
        &self,
        spanned: &Spanned<V>,
        message: impl Into<String>,
    ) -> Result<T, ConfigError> {
        self.err(spanned.span(), message)
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

impl Config {
    /// Loads and checks a configuration file, applying environment overrides.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the file and line of the first problem.
    pub fn load(path: &Path, env: &EnvOverrides) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            line: 0,
            message: format!("cannot read the configuration file: {e}"),
        })?;
        Config::parse(&file, &text, env, path.parent())
    }

    /// The development configuration: loopback, the `devkey`/`secret` pair, no caller
    /// authentication, one permissive profile.
    pub fn dev(env: &EnvOverrides) -> Result<Config, ConfigError> {
        let text = format!(
            "livekit_url = {DEV_LIVEKIT_URL:?}\n[profile.dev]\nidentity = \"request\"\nfields = [\"participant_identity\", \"participant_name\", \"participant_metadata\", \"participant_attributes\", \"room_config.agents\", \"room_config.agents.deployment\", \"room_config.agents.restart_policy\", \"room_config.agents.attributes\", \"lk_attributes\", \"room_config.settings\", \"ttl\"]\nagents = [\"*\"]\nrooms = [\"*\"]\nttl = \"15m\"\nmax_ttl = \"24h\"\n"
        );
        let mut env = env.clone();
        if env.api_key.is_none() && env.api_secret.is_none() {
            env.api_key = Some("devkey".into());
            env.api_secret = Some("secret".into());
        }
        let mut config = Config::parse("<dev defaults>", &text, &env, None)?;
        config.dev = true;
        config.cors_loopback = true;
        // A development server is on loopback; its metrics are there to look at.
        config.metrics = MetricsAccess::Public;
        for profile in &mut config.profiles {
            profile.unrestricted_switches = true;
        }
        // The action's createRoomIfNotExists goes to the local LiveKit server.
        if config.room_service_url.is_none() {
            config.room_service_url = Some(config.livekit_url.clone());
        }
        if env.listen_address().is_none() {
            config.listen = parse_listen(DEFAULT_LISTEN).map_err(|message| ConfigError {
                file: "<dev defaults>".into(),
                line: 0,
                message,
            })?;
        }
        if !config.listen.ip().is_loopback() {
            return Err(ConfigError {
                file: "<dev defaults>".into(),
                line: 0,
                message: format!(
                    "--dev binds loopback only, and {} is not a loopback address; use 127.0.0.1:PORT or localhost:PORT",
                    config.listen
                ),
            });
        }
        Ok(config)
    }

    /// Parses and checks configuration text.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the line of the first problem.
    pub fn parse(
        file: &str,
        text: &str,
        env: &EnvOverrides,
        base: Option<&Path>,
    ) -> Result<Config, ConfigError> {
        let ctx = Ctx { file, text };
        let raw: FileConfig = toml::from_str(text).map_err(|e| ConfigError {
            file: file.to_owned(),
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            message: with_suggestion(e.message().trim(), e.span().and_then(|s| text.get(s))),
        })?;

        let listen = ctx
            .env_or_file(env.listen_address(), raw.listen.as_ref(), parse_listen)?
            .map_or_else(
                || parse_listen(DEFAULT_LISTEN).map_err(|m| ctx.error(0, m)),
                Ok,
            )?;

        let livekit_url = ctx.env_or_file(
            env.livekit_url.as_deref().map(|v| (v, "LIVEKIT_URL")),
            raw.livekit_url.as_ref(),
            |v| check_ws_url(v).map(|()| v.to_owned()),
        )?;
        // Without one, clients would be sent to a LiveKit server on their own machine: refuse
        // rather than guess.
        let Some(livekit_url) = livekit_url else {
            return Err(ctx.error(
                0,
                "livekit_url is required (the URL handed to clients as server_url); set it in the file or in LIVEKIT_URL",
            ));
        };

        let key = sections::credentials(&ctx, &raw, env, base)?;
        let request_timeout = sections::request_timeout(&ctx, &raw)?;
        let json_logs = sections::json_logs(&ctx, &raw, env)?;
        let cors_origins = sections::cors_origins(&ctx, &raw, env)?;
        // Profiles first: callers and issuers refer to them by name.
        let profiles = raw
            .profiles
            .iter()
            .map(|(name, p)| check_profile(&ctx, name, p.get_ref(), &livekit_url))
            .collect::<Result<Vec<Profile>, ConfigError>>()?;
        let callers = sections::static_callers(&ctx, &raw, &profiles)?;
        let oidc = sections::oidc_issuers(&ctx, &raw, &profiles)?;
        let room_service_url = sections::room_service_url(&ctx, &raw, &profiles, &livekit_url)?;
        let connections = sections::connections(&ctx, &raw.connections)?;
        let metrics = sections::metrics(&ctx, &raw.metrics)?;
        let webhooks = sections::webhooks(&ctx, &raw.webhooks, &key, base)?;
        let limit_store = store::limit_store(&ctx, &raw.rate_limit, env, base, request_timeout)?;
        let ipv6_prefix = match &raw.rate_limit.ipv6_prefix {
            None => 64,
            Some(v) if (16..=128).contains(v.get_ref()) => *v.get_ref(),
            Some(v) => {
                return ctx.err_at(
                    v,
                    "ipv6_prefix must be between 16 and 128 (64 is one end site)",
                );
            }
        };

        Ok(Config {
            listen,
            dev: false,
            key,
            livekit_url,
            room_service_url,
            request_timeout,
            max_body_bytes: raw.max_body_bytes.unwrap_or(DEFAULT_BODY_LIMIT),
            cors_origins,
            cors_loopback: false,
            json_logs,
            trust_forwarded_for: raw.trust_forwarded_for,
            per_caller_per_minute: raw.rate_limit.per_caller_per_minute.unwrap_or(600),
            per_ip_per_minute: raw.rate_limit.per_ip_per_minute.unwrap_or(1200),
            burst: raw.rate_limit.burst.unwrap_or(50).max(1),
            ipv6_prefix,
            limit_store,
            connections,
            metrics,
            webhooks,
            callers,
            oidc,
            profiles,
        })
    }

    /// Index of a profile by name.
    pub fn profile_named(&self, name: &str) -> Option<usize> {
        self.profiles.iter().position(|p| p.name == name)
    }
}

fn resolve(base: Option<&Path>, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    match base {
        Some(b) if p.is_relative() => b.join(p),
        _ => p,
    }
}

/// A TOML error, with the key an unknown one most likely meant (`api_secret` →
/// `api_secret_file`): `spanned` is the text the error points at, the unknown key itself.
fn with_suggestion(message: &str, spanned: Option<&str>) -> String {
    use roomkey_token::input::{did_you_mean, field_names};
    let Some(key) = spanned.filter(|_| message.starts_with("unknown field")) else {
        return message.to_owned();
    };
    let key = key.trim().trim_matches(['"', '\'']);
    let known: Vec<&str> = [
        field_names::<FileConfig>(),
        field_names::<RateLimitFile>(),
        field_names::<ConnectionsFile>(),
        field_names::<MetricsFile>(),
        field_names::<WebhooksFile>(),
        field_names::<CallerFile>(),
        field_names::<OidcFile>(),
        field_names::<ProfileFile>(),
        &crate::policy::GRANT_KEYS,
    ]
    .concat();
    match did_you_mean(key, &known) {
        Some(meant) => format!("{message} (did you mean `{meant}`?)"),
        None => message.to_owned(),
    }
}
