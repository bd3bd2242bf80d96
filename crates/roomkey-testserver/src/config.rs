//! [`TestServerConfig`]: keys, address, limits and room defaults.

use std::net::SocketAddr;
use std::time::Duration;

use roomkey_token::{ApiSecret, KeyError, KeyPair, KeySet};

use crate::proto::{Codec, default_enabled_codecs};

/// The dev key pair of `livekit-server --dev`.
pub const DEV_API_KEY: &str = "devkey";
/// The dev secret of `livekit-server --dev`.
pub const DEV_API_SECRET: &str = "secret";

/// How to run a [`TestServer`](crate::TestServer). The defaults are those of
/// `livekit-server --dev` (keys `devkey: secret`, LiveKit's default limits and room settings)
/// on an ephemeral loopback port.
///
/// ```
/// use roomkey_testserver::TestServerConfig;
/// let config = TestServerConfig::default()
///     .with_keys_text("APIkey: a-secret-of-at-least-32-characters-long")?
///     .with_empty_timeout(60);
/// # Ok::<(), roomkey_token::KeyError>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TestServerConfig {
    /// The keys tokens are verified against, looked up by `iss`.
    pub keys: KeySet,
    /// Where to listen (default `127.0.0.1:0`: a free loopback port).
    pub listen: SocketAddr,
    /// `limit.max_api_request_body_size` (10 MiB); 0 turns the limit off.
    pub max_request_body: usize,
    /// `limit.max_room_name_length` (256 bytes); 0 turns the check off.
    pub max_room_name_length: usize,
    /// `limit.max_metadata_size` (512 KiB); 0 turns the check off.
    pub max_metadata_size: usize,
    /// `limit.max_attributes_size` (64 KiB); 0 turns the check off.
    pub max_attributes_size: usize,
    /// `limit.max_participant_name_length` (256 bytes); 0 turns the check off.
    pub max_participant_name_length: usize,
    /// `room.empty_timeout` for new rooms (300 s).
    pub empty_timeout: u32,
    /// `room.departure_timeout` for new rooms (20 s).
    pub departure_timeout: u32,
    /// `room.max_participants` for new rooms (0: unlimited).
    pub max_participants: u32,
    /// `room.enabled_codecs` (the server's 10 defaults).
    pub enabled_codecs: Vec<Codec>,
    /// `room.enable_remote_unmute` (false): whether MutePublishedTrack may unmute.
    pub enable_remote_unmute: bool,
    /// Clock leeway for token `exp`/`nbf` (60 s, fixed on the real server).
    pub token_leeway: Duration,
    /// How long PerformRpc waits for a seeded participant's ack before failing (2 s).
    pub rpc_ack_timeout: Duration,
    /// If set, `/settings/regions` answers `{"regions":[{"region":…,"url":…,"distance":…}]}`
    /// with `Cache-Control: max-age=0`, listing these URLs (a LiveKit Cloud feature, for
    /// failover tests). Unset (the default), it is a 404 like on a self-hosted server.
    pub regions: Option<Vec<String>>,
    /// How long a stopping server waits for requests in flight (1 s) before cutting them.
    pub shutdown_grace: Duration,
}

impl Default for TestServerConfig {
    fn default() -> Self {
        TestServerConfig {
            keys: dev_keys(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            max_request_body: 10 << 20,
            max_room_name_length: 256,
            max_metadata_size: 512 * 1024,
            max_attributes_size: 64 * 1024,
            max_participant_name_length: 256,
            empty_timeout: 300,
            departure_timeout: 20,
            max_participants: 0,
            enabled_codecs: default_enabled_codecs(),
            enable_remote_unmute: false,
            token_leeway: Duration::from_secs(60),
            rpc_ack_timeout: Duration::from_secs(2),
            regions: None,
            shutdown_grace: Duration::from_secs(1),
        }
    }
}

/// The key set of `livekit-server --dev`: `devkey` → `secret`.
pub fn dev_keys() -> KeySet {
    // Neither part is empty, so this cannot fail.
    KeyPair::new(DEV_API_KEY, &ApiSecret::new(DEV_API_SECRET))
        .map(KeySet::single)
        .unwrap_or_default()
}

impl TestServerConfig {
    /// The defaults (dev keys).
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces the keys.
    #[must_use]
    pub fn with_keys(mut self, keys: KeySet) -> Self {
        self.keys = keys;
        self
    }

    /// Replaces the keys with the LiveKit `--keys` / `LIVEKIT_KEYS` format (`"key: secret"`,
    /// one pair a line).
    ///
    /// # Errors
    /// The [`KeyError`] of [`KeySet::parse`].
    pub fn with_keys_text(mut self, text: &str) -> Result<Self, KeyError> {
        self.keys = KeySet::parse(text)?;
        Ok(self)
    }

    /// Sets the listen address.
    #[must_use]
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Sets the request body limit.
    #[must_use]
    pub fn with_max_request_body(mut self, bytes: usize) -> Self {
        self.max_request_body = bytes;
        self
    }

    /// Sets the default `empty_timeout` of new rooms.
    #[must_use]
    pub fn with_empty_timeout(mut self, seconds: u32) -> Self {
        self.empty_timeout = seconds;
        self
    }

    /// Sets the default `departure_timeout` of new rooms.
    #[must_use]
    pub fn with_departure_timeout(mut self, seconds: u32) -> Self {
        self.departure_timeout = seconds;
        self
    }

    /// Allows MutePublishedTrack to unmute.
    #[must_use]
    pub fn with_remote_unmute(mut self, enabled: bool) -> Self {
        self.enable_remote_unmute = enabled;
        self
    }

    /// Serves `/settings/regions` with these region URLs.
    #[must_use]
    pub fn with_regions(mut self, urls: Vec<String>) -> Self {
        self.regions = Some(urls);
        self
    }

    /// Sets how long PerformRpc waits before timing out.
    #[must_use]
    pub fn with_rpc_ack_timeout(mut self, timeout: Duration) -> Self {
        self.rpc_ack_timeout = timeout;
        self
    }

    /// Sets how long a stopping server waits for requests in flight.
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}
