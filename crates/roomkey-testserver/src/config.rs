//! [`TestServerConfig`]: the keys and the address.

use std::net::SocketAddr;
use std::time::Duration;

/// The key of `livekit-server --dev`.
pub const DEV_API_KEY: &str = "devkey";
/// Its secret.
pub const DEV_API_SECRET: &str = "secret";

/// How to run a [`TestServer`](crate::TestServer): by default the pair of `livekit-server --dev`
/// (`devkey: secret`) on a free loopback port.
///
/// ```
/// use roomkey_testserver::TestServerConfig;
/// let config = TestServerConfig::default().with_keys_text("APIkey: a-secret\nAPIother: s2")?;
/// assert_eq!(config.keys.len(), 2);
/// # Ok::<(), String>(())
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TestServerConfig {
    /// API key → secret; a token's secret is looked up by its `iss`.
    pub keys: Vec<(String, String)>,
    /// Where to listen (default `127.0.0.1:0`).
    pub listen: SocketAddr,
    /// How long a stopping server waits for requests in flight (1 s).
    pub shutdown_grace: Duration,
}

impl Default for TestServerConfig {
    fn default() -> Self {
        TestServerConfig {
            keys: vec![(DEV_API_KEY.to_owned(), DEV_API_SECRET.to_owned())],
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            shutdown_grace: Duration::from_secs(1),
        }
    }
}

impl TestServerConfig {
    /// Replaces the keys with LiveKit's `--keys` format: `key: secret`, one pair a line.
    ///
    /// # Errors
    /// A line without `:`, or with an empty key or secret.
    pub fn with_keys_text(mut self, text: &str) -> Result<Self, String> {
        let mut keys = Vec::new();
        for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let (key, secret) = line
                .split_once(':')
                .map(|(k, s)| (k.trim(), s.trim()))
                .filter(|(k, s)| !k.is_empty() && !s.is_empty())
                .ok_or_else(|| format!("not a `key: secret` line: {line:?}"))?;
            keys.push((key.to_owned(), secret.to_owned()));
        }
        self.keys = keys;
        Ok(self)
    }

    /// Sets the listen address.
    #[must_use]
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Sets how long a stopping server waits for requests in flight.
    #[must_use]
    pub fn with_shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }
}
