//! Each part of a configuration file read into the checked [`Config`](super::Config): the LiveKit
//! credentials, the request timeout, the log format, the CORS origins, the static callers, the
//! OIDC issuers and the RoomService URL. (The profiles are checked in `checks`.)

use std::path::Path;
use std::time::Duration;

use roomkey_token::{ApiSecret, KeyPair};
use toml::Spanned;

use crate::policy::{IdentityStrategy, Profile};

use super::checks::{check_origin, is_loopback_http, parse_sha256};
use super::{
    ConfigError, Ctx, DEFAULT_JWKS_MIN_REFRESH, DEFAULT_TIMEOUT, EnvOverrides, FileConfig,
    MAX_TIMEOUT, OidcIssuer, StaticCaller, line_of, resolve,
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

/// `request_timeout`: positive, at most an hour.
pub(super) fn request_timeout(ctx: &Ctx<'_>, raw: &FileConfig) -> Result<Duration, ConfigError> {
    Ok(match &raw.request_timeout {
        Some(v) => match roomkey_token::input::parse_duration(v.get_ref()) {
            Ok(d) if d.is_zero() => return ctx.err_at(v, "request_timeout must be positive"),
            Ok(d) if d > MAX_TIMEOUT => {
                return ctx.err_at(v, "request_timeout may be at most 1h");
            }
            Ok(d) => d,
            Err(m) => return ctx.err_at(v, m),
        },
        None => DEFAULT_TIMEOUT,
    })
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
        let leeway = match &o.leeway {
            Some(v) => {
                roomkey_token::input::parse_duration(v.get_ref()).or_else(|m| ctx.err_at(v, m))?
            }
            None => Duration::from_secs(60),
        };
        let jwks_min_refresh = match &o.jwks_min_refresh {
            Some(v) => {
                roomkey_token::input::parse_duration(v.get_ref()).or_else(|m| ctx.err_at(v, m))?
            }
            None => DEFAULT_JWKS_MIN_REFRESH,
        };
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
