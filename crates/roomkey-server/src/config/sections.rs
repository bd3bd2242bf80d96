//! Each part of a configuration file read into the checked [`Config`](super::Config): the LiveKit
//! credentials, the request timeout, the log format, the CORS origins, the static callers, the
//! OIDC issuers and the RoomService URL. (The profiles are checked in `checks`.)

use std::path::Path;
use std::time::Duration;

use roomkey_token::{ApiSecret, KeyPair};
use toml::Spanned;

use crate::policy::{IdentityStrategy, Profile};

use super::checks::{check_origin, is_loopback_http, parse_listen, parse_sha256};
use super::{
    ConfigError, ConnectionLimits, ConnectionsFile, Ctx, DEFAULT_JWKS_MIN_REFRESH, DEFAULT_TIMEOUT,
    EnvOverrides, FileConfig, MAX_TIMEOUT, MetricsAccess, MetricsFile, OidcIssuer, StaticCaller,
    WebhookSettings, WebhooksFile, line_of, resolve,
};

/// The LiveKit API key and secret: from the environment, else the file (`api_key`,
/// `api_secret_file`, read relative to `base`).
pub(super) fn credentials(
    ctx: &Ctx<'_>,
    raw: &FileConfig,
    env: &EnvOverrides,
    base: Option<&Path>,
) -> Result<KeyPair, ConfigError> {
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
    let line_at = |spanned: Option<&Spanned<String>>| {
        spanned.map_or(0, |k| line_of(ctx.text, k.span().start))
    };
    match (key_name, secret) {
        (Some(k), Some(s)) => KeyPair::new(k, &ApiSecret::new(s))
            .map_err(|e| ctx.error(line_at(raw.api_key.as_ref()), e.to_string())),
        (Some(_), None) => Err(ctx.error(
            line_at(raw.api_key.as_ref()),
            "api_key has no secret: set api_secret_file (a file holding the secret) or LIVEKIT_API_SECRET",
        )),
        (None, Some(_)) => Err(ctx.error(
            line_at(raw.api_secret_file.as_ref()),
            "the API secret has no key: set api_key or LIVEKIT_API_KEY",
        )),
        (None, None) => Err(ctx.error(
            0,
            "no LiveKit credentials: set api_key and api_secret_file, or LIVEKIT_API_KEY and LIVEKIT_API_SECRET",
        )),
    }
}

/// A duration setting: `default` when absent, else within `min..=max` (each setting has
/// bounds, so that a slip such as `leeway = "3650d"` or `jwks_min_refresh = "0s"` is refused
/// at start-up instead of quietly opening the server up).
pub(super) fn duration(
    ctx: &Ctx<'_>,
    name: &str,
    value: Option<&Spanned<String>>,
    default: Duration,
    (min, max): (Duration, Duration),
) -> Result<Duration, ConfigError> {
    let Some(v) = value else {
        return Ok(default);
    };
    let d = roomkey_token::input::parse_duration(v.get_ref()).or_else(|m| ctx.err_at(v, m))?;
    if d < min || d > max {
        let show = |d: Duration| humantime::format_duration(d).to_string();
        return ctx.err_at(
            v,
            format!(
                "{name} = {:?} is outside its bounds: at least {}, at most {}",
                v.get_ref(),
                show(min),
                show(max)
            ),
        );
    }
    Ok(d)
}

/// `[connections]`, each value within its bounds.
pub(super) fn connections(
    ctx: &Ctx<'_>,
    raw: &ConnectionsFile,
) -> Result<ConnectionLimits, ConfigError> {
    let secs = Duration::from_secs;
    let header_read_timeout = duration(
        ctx,
        "header_read_timeout",
        raw.header_read_timeout.as_ref(),
        secs(10),
        (secs(1), secs(300)),
    )?;
    let idle_timeout = duration(
        ctx,
        "idle_timeout",
        raw.idle_timeout.as_ref(),
        secs(60),
        (secs(1), secs(3600)),
    )?;
    let count = |name: &str,
                 v: Option<&Spanned<usize>>,
                 default: usize,
                 (min, max): (usize, usize)| {
        match v {
            None => Ok(default),
            Some(v) if (min..=max).contains(v.get_ref()) => Ok(*v.get_ref()),
            Some(v) => ctx.err_at(v, format!("{name} must be between {min} and {max}")),
        }
    };
    let max_connections = count(
        "max_connections",
        raw.max_connections.as_ref(),
        1024,
        (1, 1_000_000),
    )?;
    // hyper needs at least 8 KiB of read buffer.
    let max_header_bytes = count(
        "max_header_bytes",
        raw.max_header_bytes.as_ref(),
        16 * 1024,
        (8 * 1024, 1024 * 1024),
    )?;
    let http2_max_streams = match (&raw.http2_max_streams, raw.http2) {
        (Some(v), false) => {
            return ctx.err_at(v, "http2_max_streams has no effect without http2 = true");
        }
        (Some(v), true) if !(1..=1000).contains(v.get_ref()) => {
            return ctx.err_at(v, "http2_max_streams must be between 1 and 1000");
        }
        (Some(v), true) => Some(*v.get_ref()),
        (None, true) => Some(100),
        (None, false) => None,
    };
    Ok(ConnectionLimits {
        header_read_timeout,
        idle_timeout,
        max_connections,
        max_header_bytes,
        http2_max_streams,
    })
}

/// `[metrics]`: at most one of a listener of its own, a key, or public.
pub(super) fn metrics(ctx: &Ctx<'_>, raw: &MetricsFile) -> Result<MetricsAccess, ConfigError> {
    match (&raw.listen, &raw.key_sha256, raw.public) {
        (None, None, false) => Ok(MetricsAccess::Off),
        (None, None, true) => Ok(MetricsAccess::Public),
        (Some(listen), None, false) => parse_listen(listen.get_ref())
            .map(MetricsAccess::Listen)
            .or_else(|m| ctx.err_at(listen, m)),
        (None, Some(key), false) => parse_sha256(key.get_ref())
            .map(MetricsAccess::Key)
            .or_else(|m| ctx.err_at(key, m)),
        (Some(v), _, _) | (None, Some(v), _) => ctx.err_at(
            v,
            "[metrics] takes one of listen, key_sha256 or public = true",
        ),
    }
}

/// `[webhooks]`: off without `path`; the keys from `keys_file`, else the minting key.
pub(super) fn webhooks(
    ctx: &Ctx<'_>,
    raw: &WebhooksFile,
    key: &KeyPair,
    base: Option<&Path>,
) -> Result<Option<WebhookSettings>, ConfigError> {
    let Some(path) = &raw.path else {
        if let Some(v) = &raw.keys_file {
            return ctx.err_at(v, "[webhooks] needs path to receive webhooks at");
        }
        return Ok(None);
    };
    let p = path.get_ref();
    // The server's own routes keep their paths.
    let taken = ["/", "/healthz", "/readyz", "/metrics"].contains(&p.as_str());
    if !p.starts_with('/')
        || p.contains(['?', '#', '{', '}', '*'])
        || p.starts_with("/api/")
        || taken
    {
        return ctx.err_at(
            path,
            format!(
                "[webhooks] path = {p:?} must be a path of its own such as \"/livekit/webhook\" \
                 (starting with /, no query or wildcard, not one of the server's own routes: /, \
                 /healthz, /readyz, /metrics, /api/…)"
            ),
        );
    }
    let keys = match &raw.keys_file {
        None => roomkey_token::KeySet::single(key.clone()),
        Some(file) => {
            let at = resolve(base, file.get_ref());
            let text = std::fs::read_to_string(&at).or_else(|e| {
                ctx.err_at(
                    file,
                    format!("cannot read the keys file {}: {e}", at.display()),
                )
            })?;
            roomkey_token::KeySet::parse(&text).or_else(|e| {
                ctx.err_at(
                    file,
                    format!("the keys file {} is not valid: {e}", at.display()),
                )
            })?
        }
    };
    let remember_ids = match &raw.remember_ids {
        None => 10_000,
        Some(v) if (1..=1_000_000).contains(v.get_ref()) => *v.get_ref(),
        Some(v) => return ctx.err_at(v, "remember_ids must be between 1 and 1000000"),
    };
    let leeway = duration(
        ctx,
        "leeway",
        raw.leeway.as_ref(),
        roomkey_token::DEFAULT_LEEWAY,
        (Duration::ZERO, Duration::from_secs(600)),
    )?;
    Ok(Some(WebhookSettings {
        path: p.clone(),
        keys,
        remember_ids,
        leeway,
    }))
}

/// `request_timeout`: at least 1 s, at most an hour.
pub(super) fn request_timeout(ctx: &Ctx<'_>, raw: &FileConfig) -> Result<Duration, ConfigError> {
    duration(
        ctx,
        "request_timeout",
        raw.request_timeout.as_ref(),
        DEFAULT_TIMEOUT,
        (Duration::from_secs(1), MAX_TIMEOUT),
    )
}

/// Whether the logs are JSON (`log_format`, or its environment override).
pub(super) fn json_logs(
    ctx: &Ctx<'_>,
    raw: &FileConfig,
    env: &EnvOverrides,
) -> Result<bool, ConfigError> {
    Ok(
        match env
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
        },
    )
}

/// The CORS origins of the file, then those of `--cors-origin`.
pub(super) fn cors_origins(
    ctx: &Ctx<'_>,
    raw: &FileConfig,
    env: &EnvOverrides,
) -> Result<Vec<String>, ConfigError> {
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
    Ok(cors_origins)
}

/// The index of the profile a caller or an issuer names.
fn profile_index(
    ctx: &Ctx<'_>,
    profiles: &[Profile],
    p: &Spanned<String>,
) -> Result<usize, ConfigError> {
    profiles
        .iter()
        .position(|profile| profile.name == *p.get_ref())
        .map_or_else(
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
}

/// The `[[caller]]` entries: distinct keys and names, each with a profile an API-key caller can
/// use.
pub(super) fn static_callers(
    ctx: &Ctx<'_>,
    raw: &FileConfig,
    profiles: &[Profile],
) -> Result<Vec<StaticCaller>, ConfigError> {
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
        let profile = profile_index(ctx, profiles, &c.profile)?;
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
    Ok(callers)
}

/// The `[[oidc]]` issuers: each configured once, with a JWKS URL over https (or loopback http)
/// and a profile that takes the identity from the session.
pub(super) fn oidc_issuers(
    ctx: &Ctx<'_>,
    raw: &FileConfig,
    profiles: &[Profile],
) -> Result<Vec<OidcIssuer>, ConfigError> {
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
        let leeway = duration(
            ctx,
            "leeway",
            o.leeway.as_ref(),
            Duration::from_secs(60),
            (Duration::ZERO, Duration::from_secs(600)),
        )?;
        // At least a second: each download is a request to the identity provider that anyone
        // can trigger with a made-up `kid`.
        let jwks_min_refresh = duration(
            ctx,
            "jwks_min_refresh",
            o.jwks_min_refresh.as_ref(),
            DEFAULT_JWKS_MIN_REFRESH,
            (Duration::from_secs(1), Duration::from_secs(3600)),
        )?;
        if oidc
            .iter()
            .any(|other: &OidcIssuer| other.issuer == o.issuer)
        {
            return ctx.err_at(issuer, format!("issuer {:?} is configured twice", o.issuer));
        }
        let profile = profile_index(ctx, profiles, &o.profile)?;
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
            identity_prefix: o.identity_prefix.clone().unwrap_or_default(),
            ttl_within_session: o.ttl_within_session,
        });
    }
    Ok(oidc)
}

/// The RoomService URL: the file's, else the LiveKit URL when a profile creates rooms.
pub(super) fn room_service_url(
    ctx: &Ctx<'_>,
    raw: &FileConfig,
    profiles: &[Profile],
    livekit_url: &str,
) -> Result<Option<String>, ConfigError> {
    let room_service_url = match &raw.room_service_url {
        Some(v) => Some(v.get_ref().clone()),
        None if profiles.iter().any(|p| p.create_room) => Some(livekit_url.to_owned()),
        None => None,
    };
    if let Some(url) = &room_service_url {
        if let Err(e) = roomkey_rooms::normalize_url(url) {
            let span = raw.room_service_url.as_ref().map_or(0..0, Spanned::span);
            return ctx.err(span, e.to_string());
        }
    }
    Ok(room_service_url)
}
