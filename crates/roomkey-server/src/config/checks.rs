//! The checks of single values and of a profile: listen addresses, URLs, CORS origins, key
//! hashes, and everything a `[profile.NAME]` table says.

use std::net::SocketAddr;
use std::time::Duration;

use roomkey_token::grants::{GRANTS, Kind, Setting};
use roomkey_token::{Claims, TrackSource};
use toml::Spanned;

use crate::policy::{FileValue, Glob, GrantsFile, IdentityStrategy, Profile, RequestField};

use super::{ConfigError, Ctx, ProfileFile};

/// A profile's default bound on an agent dispatch's job metadata: it travels in the token,
/// which clients put in a URL, so it is kept small unless the profile says otherwise.
const DEFAULT_JOB_METADATA_LIMIT: usize = 2048;
/// The LiveKit server's default `limit.max_metadata_size` (512 KiB), above which it refuses a
/// dispatch's metadata anyway.
const LIVEKIT_METADATA_LIMIT: usize = 512 * 1024;

/// Checks a CORS origin: exactly `scheme://host[:port]` as a browser sends it (lower case, no
/// default port, punycode), since origins are compared byte for byte.
pub(super) fn check_origin(o: &str) -> Result<(), String> {
    let parsed = url::Url::parse(o).ok().filter(|u| {
        matches!(u.scheme(), "http" | "https")
            && u.path() == "/"
            && u.query().is_none()
            && u.fragment().is_none()
            && u.username().is_empty()
    });
    let Some(url) = parsed else {
        return Err(format!(
            "cors origin {o:?} must be an exact origin such as \"https://app.example.com\" (no wildcard, no path)"
        ));
    };
    let canonical = url.origin().ascii_serialization();
    if canonical == o {
        Ok(())
    } else {
        Err(format!(
            "cors origin {o:?} is not written as browsers send it; write {canonical:?}"
        ))
    }
}

/// Reads `ADDR:PORT` or `HOST:PORT` (`localhost:8080`). A host name is resolved now, at
/// start-up, and its first address is the one bound (IPv4 first, as most clients try it).
pub(super) fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse() {
        return Ok(addr);
    }
    let usage = "write ADDR:PORT or HOST:PORT, e.g. 127.0.0.1:8080, [::1]:8080 or localhost:8080";
    let Some((host, port)) = s.rsplit_once(':') else {
        return Err(format!("listen address {s:?} has no port; {usage}"));
    };
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(format!("listen address {s:?} is not HOST:PORT; {usage}"));
    }
    let mut addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(s)
        .map_err(|e| format!("listen address {s:?}: cannot resolve {host:?} ({e}); {usage}"))?
        .collect();
    addrs.sort_by_key(SocketAddr::is_ipv6);
    addrs
        .first()
        .copied()
        .ok_or_else(|| format!("listen address {s:?}: {host:?} has no address; {usage}"))
}

/// Whether `url` is plain `http://` to a loopback host (127.0.0.0/8, ::1 or localhost).
pub(super) fn is_loopback_http(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| {
        u.scheme() == "http" && u.username().is_empty() && roomkey_rooms::is_local_host(&u)
    })
}

pub(super) fn check_ws_url(s: &str) -> Result<(), String> {
    let parsed = url::Url::parse(s).ok().filter(|u| {
        matches!(u.scheme(), "ws" | "wss" | "http" | "https") && u.host_str().is_some()
    });
    match parsed {
        Some(_) => Ok(()),
        None => Err(format!(
            "livekit_url {s:?} must start with wss:// (or ws:// for a local server), followed by a host"
        )),
    }
}

pub(super) fn parse_sha256(s: &str) -> Result<[u8; 32], String> {
    let s = s.trim();
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("key_sha256 must be 64 hex digits: the SHA-256 of the key (`roomkey key-hash` prints it)".into());
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Where a profile's `fields` names `name` (for an error about it).
fn field_span(p: &ProfileFile, name: &str) -> std::ops::Range<usize> {
    p.fields
        .iter()
        .find(|f| f.get_ref() == name)
        .map_or(0..0, Spanned::span)
}

pub(super) fn check_profile(
    ctx: &Ctx<'_>,
    name: &str,
    p: &ProfileFile,
    default_url: &str,
) -> Result<Profile, ConfigError> {
    let mut rooms = Vec::new();
    for r in &p.rooms {
        match Glob::new(r.get_ref()) {
            Ok(g) => rooms.push(g),
            Err(m) => return ctx.err_at(r, m),
        }
    }
    let mut agents = Vec::new();
    for a in &p.agents {
        match Glob::new(a.get_ref()) {
            Ok(g) => agents.push(g),
            Err(m) => return ctx.err_at(a, m),
        }
    }
    let identity = match p.identity.as_ref().map(|v| (v, v.get_ref().as_str())) {
        None => IdentityStrategy::Subject,
        Some((_, "subject")) => IdentityStrategy::Subject,
        Some((_, "request")) => IdentityStrategy::Request,
        Some((_, "generated")) => IdentityStrategy::Generated,
        Some((v, other)) => {
            return ctx.err_at(
                v,
                format!("identity {other:?} is not \"subject\", \"request\" or \"generated\""),
            );
        }
    };
    let mut fields = Vec::new();
    for f in &p.fields {
        match RequestField::parse(f.get_ref()) {
            Some(field) => fields.push(field),
            None => {
                return ctx.err_at(
                    f,
                    format!(
                        "unknown field {:?}; use {}",
                        f.get_ref(),
                        RequestField::NAMES.join(", ")
                    ),
                );
            }
        }
    }
    if identity != IdentityStrategy::Request && fields.contains(&RequestField::ParticipantIdentity)
    {
        let span = field_span(p, "participant_identity");
        return ctx.err(
            span,
            "participant_identity can only be set by callers when identity = \"request\"",
        );
    }
    if fields.contains(&RequestField::AgentDispatch) && agents.is_empty() {
        let span = field_span(p, "room_config.agents");
        return ctx.err(span, "room_config.agents is allowed but no agents are listed; add agents = [\"name\"] (or [\"*\"])");
    }
    // The parts of an agent dispatch are allowed one by one, on top of the dispatch itself.
    for part in [
        RequestField::AgentDeployment,
        RequestField::AgentRestartPolicy,
        RequestField::AgentAttributes,
    ] {
        if fields.contains(&part) && !fields.contains(&RequestField::AgentDispatch) {
            let span = field_span(p, part.name());
            return ctx.err(
                span,
                format!(
                    "{} needs room_config.agents in fields too (it is a part of an agent dispatch)",
                    part.name()
                ),
            );
        }
    }
    let max_job_metadata_bytes = match &p.max_job_metadata_bytes {
        None => DEFAULT_JOB_METADATA_LIMIT,
        Some(v) if *v.get_ref() > LIVEKIT_METADATA_LIMIT => {
            return ctx.err_at(
                v,
                format!(
                    "max_job_metadata_bytes {} is more than the LiveKit server accepts by default ({LIVEKIT_METADATA_LIMIT})",
                    v.get_ref()
                ),
            );
        }
        Some(v) => *v.get_ref(),
    };
    let ttl = match &p.ttl {
        Some(v) => roomkey_token::input::parse_ttl(v.get_ref()).or_else(|m| ctx.err_at(v, m))?,
        None => Duration::from_secs(15 * 60),
    };
    let max_ttl = match &p.max_ttl {
        Some(v) => roomkey_token::input::parse_ttl(v.get_ref()).or_else(|m| ctx.err_at(v, m))?,
        None => ttl,
    };
    if ttl.is_zero() || ttl > max_ttl {
        // Point at the ttl when it is written, else at the max_ttl that it exceeds.
        let span = p
            .ttl
            .as_ref()
            .or(p.max_ttl.as_ref())
            .map_or(0..0, Spanned::span);
        return ctx.err(
            span,
            format!(
                "ttl must be positive and at most max_ttl ({}s)",
                max_ttl.as_secs()
            ),
        );
    }
    let grants = profile_grants(ctx, &p.grants)?;
    let livekit_url = match &p.livekit_url {
        Some(v) => {
            check_ws_url(v.get_ref()).or_else(|m| ctx.err_at(v, m))?;
            v.get_ref().clone()
        }
        None => default_url.to_owned(),
    };
    Ok(Profile {
        name: name.to_owned(),
        rooms,
        room_prefix: p.room_prefix.clone().unwrap_or_else(|| "room-".into()),
        identity,
        fields,
        agents,
        max_job_metadata_bytes,
        ttl,
        max_ttl,
        create_room: p.create_room,
        livekit_url,
        grants,
        unrestricted_switches: false,
    })
}

/// A profile's grants: roomkey's defaults (joining the room), then the file's settings.
fn profile_grants(ctx: &Ctx<'_>, file: &GrantsFile) -> Result<Claims, ConfigError> {
    let mut grants = Claims::default();
    for g in GRANTS.iter().filter(|g| g.roomkey_default) {
        g.set(&mut grants, Setting::Bool(true))
            .or_else(|e| ctx.err(0..0, e.to_string()))?;
    }
    for (g, value) in &file.entries {
        let setting = match value {
            FileValue::Bool(on) => Setting::Bool(*on),
            FileValue::Text(text) => Setting::Text(text.clone()),
            FileValue::List(items) if g.kind == Kind::Sources => {
                let mut sources = Vec::with_capacity(items.len());
                for item in items {
                    match item.get_ref().parse::<TrackSource>() {
                        Ok(source) => sources.push(source),
                        Err(e) => return ctx.err_at(item, e.to_string()),
                    }
                }
                Setting::Sources(sources)
            }
            FileValue::List(items) => {
                Setting::Texts(items.iter().map(|i| i.get_ref().clone()).collect())
            }
        };
        g.set(&mut grants, setting)
            .or_else(|e| ctx.err(0..0, e.to_string()))?;
    }
    Ok(grants)
}
