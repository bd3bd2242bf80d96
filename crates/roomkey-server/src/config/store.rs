//! `[rate_limit]`'s store: where the limits are counted, in this process's memory or in a Redis
//! that every replica shares, and how to reach it.

use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::sections::duration;
use super::{ConfigError, Ctx, EnvOverrides, RateLimitFile, resolve};

/// Where the rate limits are counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LimitStore {
    /// In this process (`store = "memory"`, the default): each replica has limits of its own.
    Memory,
    /// In Redis (`store = "redis"`), shared by every replica that uses the same server and key
    /// prefix.
    Redis(RedisStoreSettings),
}

/// `store = "redis"`, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisStoreSettings {
    /// `redis_url` as written; it holds no password (one in the URL is refused).
    pub url: String,
    /// The password, from `ROOMKEY_REDIS_PASSWORD` or `redis_password_file`.
    pub password: Option<RedisPassword>,
    /// Put before every key written (`key_prefix`, default "roomkey:").
    pub key_prefix: String,
    /// Longest wait for one answer (`store_timeout`).
    pub timeout: Duration,
    /// What a request meets while the store cannot answer.
    pub on_error: OnStoreError,
}

/// `on_store_error`: what a request meets while the shared store cannot answer (unreachable,
/// slower than `store_timeout`, or failing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnStoreError {
    /// Go on, counted by this replica's own in-memory limits (the same quotas) until the store
    /// answers again: the default, because a down Redis should not stop every call from being
    /// joined, and the limits still hold per replica.
    Allow,
    /// Refuse the request (503 `rate_limit_unavailable`, `Retry-After: 1`): for a limit that
    /// is a hard budget, where no request may pass uncounted.
    Deny,
}

impl OnStoreError {
    /// The value as written in the configuration (and as a metric label).
    pub fn as_str(self) -> &'static str {
        match self {
            OnStoreError::Allow => "allow",
            OnStoreError::Deny => "deny",
        }
    }
}

/// The Redis password. Its `Debug` shows no part of it, and it is wiped from memory when
/// dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisPassword(zeroize::Zeroizing<String>);

impl RedisPassword {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        RedisPassword(zeroize::Zeroizing::new(password.into()))
    }

    /// The password, for the connection.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RedisPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RedisPassword(<redacted>)")
    }
}

/// The default `store_timeout`: a Redis next to the replicas answers in about a millisecond,
/// so a tenth of a second is long past a healthy answer while it adds little to a request.
const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_millis(100);
/// The default `key_prefix`.
pub(crate) const DEFAULT_KEY_PREFIX: &str = "roomkey:";
/// The highest per-minute limit the shared store counts: it keeps time in whole
/// microseconds, and at more than one request per microsecond the interval would round away.
pub(crate) const MAX_SHARED_PER_MINUTE: u32 = 60_000_000;
/// The largest burst the shared store counts (its times stay exact in Lua's numbers).
pub(crate) const MAX_SHARED_BURST: u32 = 1_000_000;

/// `store`, `redis_url`, `redis_password_file`, `key_prefix`, `store_timeout` and
/// `on_store_error` of `[rate_limit]`; `request_timeout` bounds the store's timeout.
pub(super) fn limit_store(
    ctx: &Ctx<'_>,
    raw: &RateLimitFile,
    env: &EnvOverrides,
    base: Option<&Path>,
    request_timeout: Duration,
) -> Result<LimitStore, ConfigError> {
    let redis = match raw.store.as_ref().map(|s| (s, s.get_ref().as_str())) {
        None | Some((_, "memory")) => false,
        Some((_, "redis")) => true,
        Some((v, other)) => {
            return ctx.err_at(v, format!("store {other:?} is not \"memory\" or \"redis\""));
        }
    };
    if !redis {
        // A Redis setting without the Redis store is a configuration that does not do what
        // it says: the limits would silently stay per replica.
        let stray = [
            ("redis_url", raw.redis_url.as_ref()),
            ("redis_password_file", raw.redis_password_file.as_ref()),
            ("key_prefix", raw.key_prefix.as_ref()),
            ("store_timeout", raw.store_timeout.as_ref()),
            ("on_store_error", raw.on_store_error.as_ref()),
        ];
        if let Some((name, v)) = stray.into_iter().find_map(|(n, v)| v.map(|v| (n, v))) {
            return ctx.err_at(
                v,
                format!(
                    "{name} has no effect without store = \"redis\" in [rate_limit] (the limits \
                     are counted in memory, per replica)"
                ),
            );
        }
        return Ok(LimitStore::Memory);
    }
    let Some(url) = &raw.redis_url else {
        let line = raw.store.as_ref().map_or(0..0, Spanned::span);
        return ctx.err(
            line,
            "store = \"redis\" needs redis_url, e.g. \"redis://127.0.0.1:6379/0\"",
        );
    };
    check_redis_url(url.get_ref()).or_else(|m| ctx.err_at(url, m))?;
    let password = match (&env.redis_password, &raw.redis_password_file) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(file)) => {
            let at = resolve(base, file.get_ref());
            let text = std::fs::read_to_string(&at).or_else(|e| {
                ctx.err_at(
                    file,
                    format!("cannot read redis_password_file {}: {e}", at.display()),
                )
            })?;
            let password = text.trim_end_matches(['\n', '\r']);
            if password.is_empty() {
                return ctx.err_at(
                    file,
                    format!("redis_password_file {} is empty", at.display()),
                );
            }
            Some(RedisPassword::new(password))
        }
        (None, None) => None,
    };
    let key_prefix = match &raw.key_prefix {
        None => DEFAULT_KEY_PREFIX.to_owned(),
        Some(p) => {
            let text = p.get_ref();
            if text.is_empty()
                || text.len() > 100
                || text.chars().any(|c| c.is_whitespace() || c.is_control())
            {
                return ctx.err_at(
                    p,
                    "key_prefix must be 1 to 100 characters without spaces, e.g. \"roomkey:\" \
                     (or \"roomkey:staging:\" for a second deployment on the same Redis)",
                );
            }
            text.clone()
        }
    };
    let timeout = duration(
        ctx,
        "store_timeout",
        raw.store_timeout.as_ref(),
        DEFAULT_STORE_TIMEOUT,
        (Duration::from_millis(1), Duration::from_secs(5)),
    )?;
    if timeout >= request_timeout {
        if let Some(v) = &raw.store_timeout {
            return ctx.err_at(
                v,
                format!(
                    "store_timeout ({}) must be shorter than request_timeout ({}), so that a \
                     slow store leaves the request time to be answered",
                    humantime::format_duration(timeout),
                    humantime::format_duration(request_timeout)
                ),
            );
        }
    }
    let on_error = match raw
        .on_store_error
        .as_ref()
        .map(|v| (v, v.get_ref().as_str()))
    {
        None | Some((_, "allow")) => OnStoreError::Allow,
        Some((_, "deny")) => OnStoreError::Deny,
        Some((v, other)) => {
            return ctx.err_at(
                v,
                format!(
                    "on_store_error {other:?} is not \"allow\" (this replica's own limits apply \
                     while the store is away) or \"deny\" (503)"
                ),
            );
        }
    };
    for (name, value) in [
        ("per_caller_per_minute", raw.per_caller_per_minute),
        ("per_ip_per_minute", raw.per_ip_per_minute),
    ] {
        if value.is_some_and(|v| v > MAX_SHARED_PER_MINUTE) {
            return ctx.err(
                raw.store.as_ref().map_or(0..0, Spanned::span),
                format!(
                    "{name} is at most {MAX_SHARED_PER_MINUTE} with store = \"redis\" (one \
                     request a microsecond); use 0 for no limit"
                ),
            );
        }
    }
    if raw.burst.is_some_and(|b| b > MAX_SHARED_BURST) {
        return ctx.err(
            raw.store.as_ref().map_or(0..0, Spanned::span),
            format!("burst is at most {MAX_SHARED_BURST} with store = \"redis\""),
        );
    }
    Ok(LimitStore::Redis(RedisStoreSettings {
        url: url.get_ref().clone(),
        password,
        key_prefix,
        timeout,
        on_error,
    }))
}

/// A Redis URL roomkey can use: `redis://`, `rediss://`, `redis+unix://` or `unix://`, with a
/// host (or a socket path), and without a password. The messages never repeat the URL, which
/// might hold one.
fn check_redis_url(text: &str) -> Result<(), String> {
    let forms = "write redis://HOST:PORT/DB, rediss://HOST:PORT/DB (TLS) or \
                 redis+unix:///PATH/TO/redis.sock";
    let url =
        url::Url::parse(text).map_err(|e| format!("redis_url is not a URL ({e}); {forms}"))?;
    let unix = match url.scheme() {
        "redis" | "rediss" => false,
        "redis+unix" | "unix" => true,
        other => {
            return Err(format!(
                "redis_url's scheme {other:?} is not redis, rediss, redis+unix or unix; {forms}"
            ));
        }
    };
    let password_in_query = url
        .query_pairs()
        .any(|(k, _)| k == "pass" || k == "password");
    if url.password().is_some() || password_in_query {
        return Err(
            "redis_url holds a password: put it in redis_password_file or \
                    ROOMKEY_REDIS_PASSWORD instead, so that the configuration holds no secret \
                    and no log line can show it"
                .into(),
        );
    }
    if unix {
        if url.path().is_empty() || url.path() == "/" {
            return Err(format!("redis_url names no socket; {forms}"));
        }
    } else if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("redis_url names no host; {forms}"));
    }
    redis::Client::open(text).map_err(|e| format!("redis_url cannot be used: {e}; {forms}"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_urls_of_each_form_and_none_with_a_password() {
        for ok in [
            "redis://127.0.0.1:6379/0",
            "redis://redis.internal",
            "redis://roomkey@127.0.0.1:6379",
            "rediss://redis.example.com:6380/1",
            "redis+unix:///run/redis/redis.sock",
            "unix:///run/redis/redis.sock?db=2",
        ] {
            assert_eq!(check_redis_url(ok), Ok(()), "{ok}");
        }
        for (bad, words) in [
            ("redis://:hunter2@127.0.0.1:6379", "holds a password"),
            ("redis://user:hunter2@127.0.0.1", "holds a password"),
            ("redis+unix:///run/r.sock?pass=hunter2", "holds a password"),
            ("http://127.0.0.1:6379", "not redis, rediss"),
            ("localhost:6379", "scheme \"localhost\""),
            ("redis+unix://", "no socket"),
            ("not a url", "not a URL"),
        ] {
            let message = check_redis_url(bad).unwrap_err();
            assert!(message.contains(words), "{bad}: {message}");
            assert!(!message.contains("hunter2"), "{bad}: {message}");
        }
    }

    #[test]
    fn the_password_never_shows_in_debug() {
        let p = RedisPassword::new("hunter2");
        assert_eq!(format!("{p:?}"), "RedisPassword(<redacted>)");
        assert_eq!(p.expose(), "hunter2");
    }
}
