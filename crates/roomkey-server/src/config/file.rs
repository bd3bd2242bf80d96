//! The configuration file as written: the TOML tables, read with their spans so that every
//! check can name the line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::policy::GrantsFile;

/// The configuration file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Address to listen on, e.g. "0.0.0.0:8080".
    pub listen: Option<Spanned<String>>,
    /// LiveKit URL handed to clients as `server_url` (ws:// or wss://); required here or in
    /// `LIVEKIT_URL`.
    pub livekit_url: Option<Spanned<String>>,
    /// URL of the LiveKit server's RoomService, when rooms are created first (default: livekit_url).
    pub room_service_url: Option<Spanned<String>>,
    /// LiveKit API key.
    pub api_key: Option<Spanned<String>>,
    /// File holding the LiveKit API secret.
    pub api_secret_file: Option<Spanned<String>>,
    /// Per-request timeout, e.g. "10s".
    pub request_timeout: Option<Spanned<String>>,
    /// Largest request body accepted, bytes.
    pub max_body_bytes: Option<usize>,
    /// Origins allowed to call from a browser (CORS); empty means none.
    #[serde(default)]
    pub cors_origins: Vec<Spanned<String>>,
    /// Log format: "text" or "json".
    pub log_format: Option<Spanned<String>>,
    /// Take the client address for per-IP limits from the last `X-Forwarded-For` entry (set
    /// this only behind a reverse proxy that appends it).
    #[serde(default)]
    pub trust_forwarded_for: bool,
    /// Rate limits.
    #[serde(default)]
    pub rate_limit: RateLimitFile,
    /// Connection limits and timeouts.
    #[serde(default)]
    pub connections: ConnectionsFile,
    /// Where `/metrics` is served.
    #[serde(default)]
    pub metrics: MetricsFile,
    /// Receiving the LiveKit server's webhooks (off unless `path` is set).
    #[serde(default)]
    pub webhooks: WebhooksFile,
    /// Static API-key callers.
    #[serde(default, rename = "caller")]
    pub callers: Vec<Spanned<CallerFile>>,
    /// OIDC issuers whose session JWTs are accepted.
    #[serde(default)]
    pub oidc: Vec<Spanned<OidcFile>>,
    /// Named policies.
    #[serde(default, rename = "profile")]
    pub profiles: BTreeMap<String, Spanned<ProfileFile>>,
}

/// `[rate_limit]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitFile {
    /// Requests per minute per authenticated caller (0 = unlimited).
    pub per_caller_per_minute: Option<u32>,
    /// Requests per minute per client IP (0 = unlimited).
    pub per_ip_per_minute: Option<u32>,
    /// Requests allowed in a burst.
    pub burst: Option<u32>,
    /// IPv6 clients share a per-IP limit per network of this prefix length (default 64: one
    /// end site's /64 is one client, since it holds 2^64 addresses).
    pub ipv6_prefix: Option<Spanned<u8>>,
    /// Where the limits are counted: "memory" (this process, the default) or "redis" (shared
    /// by every replica that uses the same Redis and key prefix).
    pub store: Option<Spanned<String>>,
    /// The Redis server: `redis://HOST[:PORT][/DB]`, `rediss://…` (TLS), or
    /// `redis+unix:///PATH` / `unix:///PATH` (a Unix socket); a user name may be given, a
    /// password may not (see `redis_password_file`).
    pub redis_url: Option<Spanned<String>>,
    /// File holding the Redis password (`ROOMKEY_REDIS_PASSWORD` wins over it).
    pub redis_password_file: Option<Spanned<String>>,
    /// Put before every key roomkey writes to Redis (default "roomkey:").
    pub key_prefix: Option<Spanned<String>>,
    /// Longest wait for one answer of the store, e.g. "100ms" (the default).
    pub store_timeout: Option<Spanned<String>>,
    /// What a request meets while the store cannot answer: "allow" (the default: this
    /// replica's own in-memory limits apply) or "deny" (503).
    pub on_store_error: Option<Spanned<String>>,
}

/// `[connections]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectionsFile {
    /// Time a client has to send a request head, e.g. "10s".
    pub header_read_timeout: Option<Spanned<String>>,
    /// A connection with no request in flight for this long is closed, e.g. "60s".
    pub idle_timeout: Option<Spanned<String>>,
    /// Connections open at once.
    pub max_connections: Option<Spanned<usize>>,
    /// Largest request head, bytes.
    pub max_header_bytes: Option<Spanned<usize>>,
    /// Speak HTTP/2 (h2c) too.
    #[serde(default)]
    pub http2: bool,
    /// Concurrent streams per HTTP/2 connection.
    pub http2_max_streams: Option<Spanned<u32>>,
}

/// `[metrics]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFile {
    /// Serve `/metrics` on a listener of its own, e.g. "127.0.0.1:9100".
    pub listen: Option<Spanned<String>>,
    /// Serve `/metrics` on the main listener to callers presenting this key (hex SHA-256).
    pub key_sha256: Option<Spanned<String>>,
    /// Serve `/metrics` on the main listener to anyone.
    #[serde(default)]
    pub public: bool,
}

/// `[webhooks]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksFile {
    /// Where the LiveKit server POSTs its webhooks (its `webhook.urls`), e.g. "/livekit/webhook".
    pub path: Option<Spanned<String>>,
    /// A keys file (`key: secret` per line, the LiveKit server's format) whose keys may sign
    /// webhooks; default: the key roomkey mints with.
    pub keys_file: Option<Spanned<String>>,
    /// How many event ids are remembered to recognise a retried delivery.
    pub remember_ids: Option<Spanned<usize>>,
    /// Clock leeway on the webhook token's exp and nbf, e.g. "60s".
    pub leeway: Option<Spanned<String>>,
}

/// `[[caller]]`: a static API key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerFile {
    /// Name used in logs and metrics.
    pub name: String,
    /// Hex SHA-256 of the key the caller presents as `Authorization: Bearer <key>`.
    pub key_sha256: Spanned<String>,
    /// The profile that applies.
    pub profile: Spanned<String>,
    /// May use the action endpoint and the web page.
    #[serde(default)]
    pub admin: bool,
}

/// `[[oidc]]`: an identity provider whose session JWTs authenticate callers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OidcFile {
    /// Expected `iss`.
    pub issuer: String,
    /// Where its JWKS is served.
    pub jwks_url: Spanned<String>,
    /// Expected `aud`.
    pub audience: String,
    /// Claim holding the participant identity (default `sub`).
    pub identity_claim: Option<String>,
    /// Claim holding the display name, if any.
    pub name_claim: Option<String>,
    /// The profile that applies.
    pub profile: Spanned<String>,
    /// Clock leeway, e.g. "60s".
    pub leeway: Option<Spanned<String>>,
    /// Least time between two JWKS downloads triggered by an unknown `kid` (default "10s").
    pub jwks_min_refresh: Option<Spanned<String>>,
    /// Put before each subject of this issuer to make the identity (e.g. "google:").
    pub identity_prefix: Option<String>,
    /// Cap the LiveKit token's expiry at the session JWT's `exp`.
    #[serde(default)]
    pub ttl_within_session: bool,
}

/// `[profile.NAME]`: what a caller may get.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileFile {
    /// Allowed room names and glob patterns (`*`, `?`).
    #[serde(default)]
    pub rooms: Vec<Spanned<String>>,
    /// Prefix of generated room names.
    pub room_prefix: Option<String>,
    /// "subject", "request" or "generated".
    pub identity: Option<Spanned<String>>,
    /// Request fields the caller may set.
    #[serde(default)]
    pub fields: Vec<Spanned<String>>,
    /// Agents the caller may dispatch (names or globs).
    #[serde(default)]
    pub agents: Vec<Spanned<String>>,
    /// Longest job metadata an agent dispatch may carry, in bytes.
    pub max_job_metadata_bytes: Option<Spanned<usize>>,
    /// Default TTL.
    pub ttl: Option<Spanned<String>>,
    /// Longest TTL a request may ask for.
    pub max_ttl: Option<Spanned<String>>,
    /// Create the room through RoomService before minting.
    #[serde(default)]
    pub create_room: bool,
    /// LiveKit URL returned for this profile (default: the top-level livekit_url).
    pub livekit_url: Option<Spanned<String>>,
    /// The grants issued.
    #[serde(default)]
    pub grants: GrantsFile,
}
