//! The server's configuration file (TOML), its environment overrides, and its checks.
//!
//! Every problem found at start-up names the line of the file it comes from.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use roomkey_token::{ApiSecret, KeyPair};
use toml::Spanned;

use crate::policy::{IdentityStrategy, Profile};

mod checks;
mod file;

use checks::*;
pub use file::{CallerFile, FileConfig, OidcFile, ProfileFile, RateLimitFile};

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
            "livekit_url = {DEV_LIVEKIT_URL:?}\n[profile.dev]\nidentity = \"request\"\nfields = [\"participant_identity\", \"participant_name\", \"participant_metadata\", \"participant_attributes\", \"room_config.agents\", \"room_config.settings\", \"ttl\"]\nagents = [\"*\"]\nrooms = [\"*\"]\nttl = \"15m\"\nmax_ttl = \"24h\"\n"
        );
        let mut env = env.clone();
        if env.api_key.is_none() && env.api_secret.is_none() {
            env.api_key = Some("devkey".into());
            env.api_secret = Some("secret".into());
        }
        let mut config = Config::parse("<dev defaults>", &text, &env, None)?;
        config.dev = true;
        config.cors_loopback = true;
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

        let key_name = env
            .api_key
            .clone()
            .or_else(|| raw.api_key.as_ref().map(|k| k.get_ref().clone()));
        let secret = match (&env.api_secret, &raw.api_secret_file) {
            (Some(s), _) => Some(s.clone()),
            (None, Some(path)) => {
                let p = resolve(base, path.get_ref());
                match std::fs::read_to_string(&p) {
                    Ok(s) => Some(s.trim_end_matches(['\n', '\r']).to_owned()),
                    Err(e) => {
                        return ctx.err_at(
                            path,
                            format!("cannot read api_secret_file {}: {e}", p.display()),
                        );
                    }
                }
            }
            (None, None) => None,
        };
        let key = match (key_name, secret) {
            (Some(k), Some(s)) => KeyPair::new(k, &ApiSecret::new(s)).map_err(|e| ConfigError {
                file: file.into(),
                line: raw
                    .api_key
                    .as_ref()
                    .map_or(0, |k| line_of(text, k.span().start)),
                message: e.to_string(),
            })?,
            (Some(_), None) => {
                let line = raw
                    .api_key
                    .as_ref()
                    .map_or(0, |k| line_of(text, k.span().start));
                return Err(ConfigError {
                    file: file.into(),
                    line,
                    message: "api_key has no secret: set api_secret_file (a file holding the secret) or LIVEKIT_API_SECRET".into(),
                });
            }
            (None, Some(_)) => {
                let line = raw
                    .api_secret_file
                    .as_ref()
                    .map_or(0, |k| line_of(text, k.span().start));
                return Err(ConfigError {
                    file: file.into(),
                    line,
                    message: "the API secret has no key: set api_key or LIVEKIT_API_KEY".into(),
                });
            }
            (None, None) => {
                return Err(ConfigError {
                    file: file.into(),
                    line: 0,
                    message: "no LiveKit credentials: set api_key and api_secret_file, or LIVEKIT_API_KEY and LIVEKIT_API_SECRET".into(),
                });
            }
        };

        let request_timeout = match &raw.request_timeout {
            Some(v) => match roomkey_token::input::parse_duration(v.get_ref()) {
                Ok(d) if d.is_zero() => return ctx.err_at(v, "request_timeout must be positive"),
                Ok(d) if d > MAX_TIMEOUT => {
                    return ctx.err_at(v, "request_timeout may be at most 1h");
                }
                Ok(d) => d,
                Err(m) => return ctx.err_at(v, m),
            },
            None => DEFAULT_TIMEOUT,
        };
        let json_logs = match env
            .log_format
            .as_deref()
            .or(raw.log_format.as_ref().map(|v| v.get_ref().as_str()))
        {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                let span = raw.log_format.as_ref().map_or(0..0, Spanned::span);
                return ctx.err(
                    span,
                    format!("log_format {other:?} is not \"text\" or \"json\""),
                );
            }
        };
        let mut cors_origins = Vec::new();
        for origin in &raw.cors_origins {
            check_origin(origin.get_ref()).or_else(|m| ctx.err_at(origin, m))?;
            cors_origins.push(origin.get_ref().clone());
        }
        for origin in &env.cors_origins {
            check_origin(origin).map_err(|message| ConfigError {
                file: "--cors-origin".into(),
                line: 0,
                message,
            })?;
            cors_origins.push(origin.clone());
        }

        // Profiles first: callers refer to them by name.
        let mut names = Vec::new();
        let mut profiles = Vec::new();
        for (name, spanned) in &raw.profiles {
            profiles.push(check_profile(&ctx, name, spanned.get_ref(), &livekit_url)?);
            names.push(name.clone());
        }
        let profile_index = |p: &Spanned<String>| -> Result<usize, ConfigError> {
            names.iter().position(|n| n == p.get_ref()).map_or_else(
                || {
                    ctx.err_at(
                        p,
                        format!(
                            "no profile named {:?}; define [profile.{}]",
                            p.get_ref(),
                            p.get_ref()
                        ),
                    )
                },
                Ok,
            )
        };

        let mut callers = Vec::new();
        for caller in &raw.callers {
            let c = caller.get_ref();
            let hash =
                parse_sha256(c.key_sha256.get_ref()).or_else(|m| ctx.err_at(&c.key_sha256, m))?;
            if callers.iter().any(|o: &StaticCaller| o.key_hash == hash) {
                return ctx.err_at(
                    &c.key_sha256,
                    format!("caller {:?} repeats another caller's key", c.name),
                );
            }
            if callers.iter().any(|o: &StaticCaller| o.name == c.name) {
                return ctx.err_at(
                    caller,
                    format!("caller {:?} repeats another caller's name", c.name),
                );
            }
            let profile = profile_index(&c.profile)?;
            if profiles[profile].identity == IdentityStrategy::Subject {
                return ctx.err_at(
                    &c.profile,
                    format!(
                        "profile {:?} takes the identity from a session subject, which an API-key caller does not have; give it identity = \"request\" or \"generated\"",
                        c.profile.get_ref()
                    ),
                );
            }
            callers.push(StaticCaller {
                name: c.name.clone(),
                key_hash: hash,
                profile,
                admin: c.admin,
            });
        }
        let mut oidc = Vec::new();
        for issuer in &raw.oidc {
            let o = issuer.get_ref();
            let jwks = o.jwks_url.get_ref();
            if !(jwks.starts_with("https://") || is_loopback_http(jwks)) {
                return ctx.err_at(
                    &o.jwks_url,
                    "jwks_url must be https:// (plain http only on loopback)",
                );
            }
            let leeway = match &o.leeway {
                Some(v) => roomkey_token::input::parse_duration(v.get_ref())
                    .or_else(|m| ctx.err_at(v, m))?,
                None => Duration::from_secs(60),
            };
            let jwks_min_refresh = match &o.jwks_min_refresh {
                Some(v) => roomkey_token::input::parse_duration(v.get_ref())
                    .or_else(|m| ctx.err_at(v, m))?,
                None => DEFAULT_JWKS_MIN_REFRESH,
            };
            if oidc
                .iter()
                .any(|other: &OidcIssuer| other.issuer == o.issuer)
            {
                return ctx.err_at(issuer, format!("issuer {:?} is configured twice", o.issuer));
            }
            let profile = profile_index(&o.profile)?;
            if profiles[profile].identity == IdentityStrategy::Request {
                return ctx.err_at(
                    &o.profile,
                    format!(
                        "profile {:?} takes the identity from the request; session callers get theirs from the verified token, so give it identity = \"subject\"",
                        o.profile.get_ref()
                    ),
                );
            }
            oidc.push(OidcIssuer {
                issuer: o.issuer.clone(),
                jwks_url: jwks.clone(),
                audience: o.audience.clone(),
                identity_claim: o.identity_claim.clone().unwrap_or_else(|| "sub".into()),
                name_claim: o.name_claim.clone(),
                profile,
                leeway,
                jwks_min_refresh,
            });
        }

        let room_service_url = match &raw.room_service_url {
            Some(v) => Some(v.get_ref().clone()),
            None if profiles.iter().any(|p| p.create_room) => Some(livekit_url.clone()),
            None => None,
        };
        if let Some(url) = &room_service_url {
            if let Err(e) = roomkey_rooms::normalize_url(url) {
                let span = raw.room_service_url.as_ref().map_or(0..0, Spanned::span);
                return ctx.err(span, e.to_string());
            }
        }

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
