//! The shared store (`store = "redis"`): each check is one run of `gcra.lua` for all the keys of
//! a request, with EVALSHA (EVAL when Redis does not have the script: after a restart, or a
//! `SCRIPT FLUSH`), over one multiplexed connection that reconnects by itself.
//!
//! What keeps it cheap and safe:
//! - a caller known without waiting has its address and its own limit checked in one round
//!   trip (the token endpoint asks so);
//! - a key the store refused is refused here, without asking, until the time the store gave:
//!   only admissions move a key's time, and only forward, so no replica can make it conform
//!   sooner (a flood of 429s costs a round trip per key and refusal window, not per request);
//! - every call has `store_timeout`; a failure opens a breaker: for [`RETRY_AFTER_FAILURE`] the
//!   requests are decided by `on_store_error` without waiting, then one request at a time tries
//!   the store again, and the first answer closes it (logged once, with the outage's length);
//! - failures are logged at most once per [`WARNING_EVERY`], with how many were left out.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use redis::IntoConnectionInfo as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{Limits, Scope, rate_limited};
use crate::config::{OnStoreError, RedisStoreSettings};
use crate::error::ApiError;
use crate::metrics::StoreMetrics;

mod health;
use health::Health;

/// The limits' script.
const SCRIPT: &str = include_str!("gcra.lua");
/// How long a failure keeps requests off the store before one tries it again.
const RETRY_AFTER_FAILURE: Duration = Duration::from_millis(250);
/// Least time between two warnings about the store.
const WARNING_EVERY: Duration = Duration::from_secs(10);
/// Each connection attempt's limit (a reconnection runs in the background; requests wait for
/// it at most `store_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The start-up check's limit.
const START_TIMEOUT: Duration = Duration::from_secs(5);
/// Keys refused a moment ago, remembered before the expired ones are dropped.
const REFUSED_KEYS: usize = 10_000;

/// A limit in the script's terms: the emission interval T and the tolerance T × (burst − 1),
/// in microseconds. governor's are in nanoseconds: for a limit that divides 60,000,000 (600,
/// 1200, 60…) they are the same times; for another, T is shorter by under a microsecond, so
/// an answer can differ only for a request within microseconds of the time its key conforms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Rate {
    t_us: u64,
    tau_us: u64,
}

impl Rate {
    /// The limit of `per_minute` requests with `burst` (`None` for 0: no limit).
    pub(super) fn new(per_minute: u32, burst: u32) -> Option<Rate> {
        let per_minute = NonZeroU32::new(per_minute)?;
        // At least a microsecond: the configuration refuses limits above 60,000,000 a minute.
        let t_us = (60_000_000 / u64::from(per_minute.get())).max(1);
        Some(Rate {
            t_us,
            tau_us: t_us * u64::from(burst.max(1) - 1),
        })
    }
}

/// A key of one request, in the script's order.
struct Key<'a> {
    scope: Scope,
    name: String,
    rate: &'a Rate,
}

/// The store's answer: 0 when every key admitted the request, else the 1-based index of the
/// first that refused it and the microseconds it asks to wait.
type Answer = (i64, i64);

/// The shared store.
pub(super) struct Shared {
    settings: RedisStoreSettings,
    ip: Option<Rate>,
    caller: Option<Rate>,
    script: redis::Script,
    connection: tokio::sync::OnceCell<ConnectionManager>,
    refused: RefusedKeys,
    health: Health,
    metrics: StoreMetrics,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the settings' password (its Debug is redacted anyway) nor the connection.
        f.debug_struct("Shared")
            .field("url", &self.settings.url)
            .field("key_prefix", &self.settings.key_prefix)
            .field("ip", &self.ip)
            .field("caller", &self.caller)
            .finish_non_exhaustive()
    }
}

/// How the shared store is, for `/readyz`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoreStatus {
    /// Whether it answered just now.
    pub(crate) answering: bool,
    /// What requests meet while it does not.
    pub(crate) on_error: OnStoreError,
}

impl Shared {
    pub(super) fn new(
        settings: &RedisStoreSettings,
        ip: Option<Rate>,
        caller: Option<Rate>,
        metrics: StoreMetrics,
    ) -> Self {
        Shared {
            settings: settings.clone(),
            ip,
            caller,
            script: redis::Script::new(SCRIPT),
            connection: tokio::sync::OnceCell::new(),
            refused: RefusedKeys::default(),
            health: Health::new(settings),
            metrics,
        }
    }

    /// [`Limits::check`] with this store.
    pub(super) async fn check(
        &self,
        limits: &Limits,
        ip: Option<IpAddr>,
        caller: Option<String>,
    ) -> Result<(), ApiError> {
        let prefix = &self.settings.key_prefix;
        let mut keys = Vec::with_capacity(2);
        if let (Some(ip), Some(rate)) = (ip, &self.ip) {
            let name = format!("{prefix}ip:{ip}");
            keys.push(Key {
                scope: Scope::Ip,
                name,
                rate,
            });
        }
        if let (Some(caller), Some(rate)) = (&caller, &self.caller) {
            let name = format!("{prefix}caller:{caller}");
            keys.push(Key {
                scope: Scope::Caller,
                name,
                rate,
            });
        }
        if keys.is_empty() {
            return Ok(());
        }
        let now = Instant::now();
        // A key still refused: the keys before it are counted, it and those after are not.
        let mut refused_later = None;
        let known = keys
            .iter()
            .enumerate()
            .find_map(|(i, k)| self.refused.until(&k.name, now).map(|until| (i, until)));
        if let Some((i, until)) = known {
            if i == 0 {
                return Err(rate_limited(keys[0].scope, until - now));
            }
            refused_later = Some((keys[i].scope, until));
            keys.truncate(i);
        }
        let Some(_permit) = self.health.may_call() else {
            return self.fallback(limits, ip, caller.as_ref());
        };
        let sent = Instant::now();
        let result = self.run(&keys).await;
        self.metrics.duration.observe(sent.elapsed().as_secs_f64());
        let (index, wait_us) = match result {
            Ok(answer) => answer,
            Err(failure) => {
                self.health.failed(&failure, &self.metrics);
                return self.fallback(limits, ip, caller.as_ref());
            }
        };
        self.health.answered(&self.metrics);
        let refusing = usize::try_from(index)
            .ok()
            .and_then(|i| i.checked_sub(1))
            .and_then(|i| keys.get(i));
        match (index, refusing) {
            (0, _) => match refused_later {
                Some((scope, until)) => Err(rate_limited(
                    scope,
                    until.saturating_duration_since(Instant::now()),
                )),
                None => Ok(()),
            },
            (_, Some(key)) => {
                let wait = Duration::from_micros(u64::try_from(wait_us).unwrap_or(0));
                // From when the call was sent: the store decided after that, so this is never
                // later than the time it gave.
                self.refused.insert(&key.name, sent + wait);
                Err(rate_limited(key.scope, wait))
            }
            (_, None) => {
                let failure = Failure::Answer(index);
                self.health.failed(&failure, &self.metrics);
                self.fallback(limits, ip, caller.as_ref())
            }
        }
    }

    /// A request the store could not decide: `on_store_error`.
    fn fallback(
        &self,
        limits: &Limits,
        ip: Option<IpAddr>,
        caller: Option<&String>,
    ) -> Result<(), ApiError> {
        self.metrics.fallbacks.inc();
        match self.settings.on_error {
            OnStoreError::Allow => limits.check_in_memory(ip, caller),
            OnStoreError::Deny => Err(ApiError::LimitsUnavailable),
        }
    }

    /// Runs the script for `keys`, within `store_timeout`.
    async fn run(&self, keys: &[Key<'_>]) -> Result<Answer, Failure> {
        let call = async {
            let mut connection = self.connection().await?.clone();
            let mut evalsha = redis::cmd("EVALSHA");
            evalsha.arg(self.script.get_hash());
            script_args(&mut evalsha, keys);
            match evalsha.query_async::<Answer>(&mut connection).await {
                // Redis restarted without the script, or its scripts were flushed: EVAL runs
                // it and keeps it for the next EVALSHA.
                Err(e) if e.kind() == redis::ErrorKind::NoScriptError => {
                    let mut eval = redis::cmd("EVAL");
                    eval.arg(SCRIPT);
                    script_args(&mut eval, keys);
                    eval.query_async::<Answer>(&mut connection).await
                }
                answer => answer,
            }
        };
        match tokio::time::timeout(self.settings.timeout, call).await {
            Ok(Ok(answer)) => Ok(answer),
            Ok(Err(e)) => Err(Failure::Redis(e)),
            Err(_) => Err(Failure::Timeout(self.settings.timeout)),
        }
    }

    /// The connection, opened by the first call that needs it.
    async fn connection(&self) -> redis::RedisResult<&ConnectionManager> {
        self.connection.get_or_try_init(|| self.open()).await
    }

    async fn open(&self) -> redis::RedisResult<ConnectionManager> {
        let mut info = self.settings.url.as_str().into_connection_info()?;
        if let Some(password) = &self.settings.password {
            info.redis.password = Some(password.expose().to_owned());
        }
        let client = redis::Client::open(info)?;
        // One retry, soon: a request waits for a reconnection at most `store_timeout`, and
        // the breaker sends the next attempt.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_number_of_retries(1)
            .set_max_delay(200);
        let connection = ConnectionManager::new_with_config(client, config).await?;
        self.metrics.up.set(1);
        Ok(connection)
    }

    /// See [`Limits::connect`].
    pub(super) async fn connect_at_start(&self) -> Result<(), String> {
        let url = &self.settings.url;
        let failed = |what: String| {
            format!(
                "cannot use the shared rate-limit store ([rate_limit] redis_url = {url:?}): {what}"
            )
        };
        let connection = tokio::time::timeout(START_TIMEOUT, self.connection())
            .await
            .map_err(|_| {
                failed(format!(
                    "no connection within {} s; are the host and port right, and does nothing \
                     between here and there drop the packets?",
                    START_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| failed(explain(&e)))?;
        // Loads the script, so that the first requests need no EVAL, and proves that this
        // user may run it.
        let mut connection = connection.clone();
        let loaded = tokio::time::timeout(
            START_TIMEOUT,
            redis::cmd("SCRIPT")
                .arg("LOAD")
                .arg(SCRIPT)
                .query_async::<String>(&mut connection),
        )
        .await
        .map_err(|_| {
            failed(format!(
                "no answer to SCRIPT LOAD within {} s",
                START_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|e| failed(explain(&e)))?;
        if loaded != self.script.get_hash() {
            return Err(failed(format!(
                "SCRIPT LOAD answered {loaded:?}, not the script's SHA-1 {}",
                self.script.get_hash()
            )));
        }
        self.metrics.up.set(1);
        tracing::info!(
            store = url.as_str(),
            key_prefix = self.settings.key_prefix.as_str(),
            on_store_error = self.settings.on_error.as_str(),
            "rate limits are shared through Redis"
        );
        Ok(())
    }

    /// A `PING` within `store_timeout` (unless the breaker keeps requests off the store), for
    /// `/readyz`; it counts like any call, so a probe that answers closes the breaker.
    pub(super) async fn status(&self) -> StoreStatus {
        let answering = match self.health.may_call() {
            None => false,
            Some(_permit) => {
                let ping = async {
                    let mut connection = self.connection().await?.clone();
                    redis::cmd("PING")
                        .query_async::<String>(&mut connection)
                        .await
                };
                let result = match tokio::time::timeout(self.settings.timeout, ping).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(Failure::Redis(e)),
                    Err(_) => Err(Failure::Timeout(self.settings.timeout)),
                };
                match result {
                    Ok(()) => {
                        self.health.answered(&self.metrics);
                        true
                    }
                    Err(failure) => {
                        self.health.failed(&failure, &self.metrics);
                        false
                    }
                }
            }
        };
        StoreStatus {
            answering,
            on_error: self.settings.on_error,
        }
    }
}

/// EVALSHA's or EVAL's arguments after the script: the keys, then "" (the store's clock),
/// then T and tau of each key.
fn script_args(cmd: &mut redis::Cmd, keys: &[Key<'_>]) {
    cmd.arg(keys.len());
    for key in keys {
        cmd.arg(&key.name);
    }
    cmd.arg("");
    for key in keys {
        cmd.arg(key.rate.t_us).arg(key.rate.tau_us);
    }
}

/// A Redis error, with what to check when that can be told.
fn explain(e: &redis::RedisError) -> String {
    let auth = e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS"));
    let hint = if auth {
        "; check the password (redis_password_file or ROOMKEY_REDIS_PASSWORD) and the user \
         name in redis_url"
    } else if e.is_connection_refusal() {
        "; is Redis running there, and is the URL right?"
    } else {
        ""
    };
    format!("{e}{hint}")
}

/// Why a call to the store failed.
#[derive(Debug)]
enum Failure {
    /// No answer within `store_timeout`.
    Timeout(Duration),
    /// Redis, or the connection to it, failed.
    Redis(redis::RedisError),
    /// An answer the script cannot give (another script under its SHA-1?).
    Answer(i64),
}

impl Failure {
    /// The metric's `reason`.
    fn reason(&self) -> &'static str {
        match self {
            Failure::Timeout(_) => "timeout",
            Failure::Redis(e)
                if e.is_io_error() || e.is_connection_refusal() || e.is_connection_dropped() =>
            {
                "unreachable"
            }
            Failure::Redis(_) | Failure::Answer(_) => "error",
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Timeout(after) => write!(f, "no answer within {} ms", after.as_millis()),
            Failure::Redis(e) => write!(f, "{}", explain(e)),
            Failure::Answer(index) => {
                write!(f, "the script answered key {index}, which it was not given")
            }
        }
    }
}

/// Keys the store refused, until the time it gave.
#[derive(Debug, Default)]
struct RefusedKeys(Mutex<HashMap<String, Instant>>);

impl RefusedKeys {
    fn until(&self, key: &str, now: Instant) -> Option<Instant> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key).copied().filter(|until| *until > now)
    }

    fn insert(&self, key: &str, until: Instant) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= REFUSED_KEYS {
            let now = Instant::now();
            map.retain(|_, u| *u > now);
            if map.len() >= REFUSED_KEYS {
                // Only a cost saved is lost: the store still refuses them.
                map.clear();
            }
        }
        map.insert(key.to_owned(), until);
    }
}

// The integration tests' Redis server, for the tests below.
#[cfg(test)]
#[path = "../../tests/integration/redis_server.rs"]
#[allow(dead_code, unreachable_pub)]
mod redis_server;

#[cfg(test)]
mod tests;
