//! Where the API key and secret come from: flags, files, the LiveKit environment variables, or
//! the development pair.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use roomkey_token::{ApiSecret, KeyPair, KeySet};

use crate::output::warn;

/// The pair `livekit-server --dev` accepts.
pub(crate) const DEV_API_KEY: &str = "devkey";
/// The secret of the development pair.
pub(crate) const DEV_API_SECRET: &str = "secret";

/// Flags that name one API key and its secret.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Credentials")]
pub(crate) struct KeyArgs {
    /// API key: the token's issuer [env: LIVEKIT_API_KEY]
    #[arg(long, value_name = "KEY")]
    api_key: Option<String>,

    /// Read the API secret from FILE ("-" for standard input); one trailing newline is dropped
    #[arg(long, value_name = "FILE", conflicts_with = "api_secret")]
    api_secret_file: Option<PathBuf>,

    /// API secret. Visible to other users in the process list: prefer --api-secret-file or
    /// LIVEKIT_API_SECRET [env: LIVEKIT_API_SECRET]
    #[arg(long, value_name = "SECRET")]
    api_secret: Option<String>,

    /// Use the development pair devkey/secret of `livekit-server --dev`. Without credentials
    /// it is also used when no LiveKit URL is set or the URL is on this machine (loopback);
    /// for any other URL missing credentials are an error
    #[arg(long, conflicts_with_all = ["api_key", "api_secret", "api_secret_file"])]
    dev: bool,
}

/// Flags that name the keys a token may be signed with.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct KeySetArgs {
    /// Keys file in the LiveKit server's format: one `key: secret` per line [env: LIVEKIT_KEYS
    /// holds the same text inline]
    #[arg(long, value_name = "FILE", conflicts_with_all = ["api_key", "api_secret", "api_secret_file"])]
    keys_file: Option<PathBuf>,

    #[command(flatten)]
    pair: KeyArgs,
}

/// Reads an environment variable, treating an empty value as unset.
pub(crate) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl KeyArgs {
    /// Resolves the key pair for a LiveKit server at `url` (`None`: no URL configured): flags
    /// first, then `LIVEKIT_API_KEY`/`LIVEKIT_API_SECRET`, then the development pair, which
    /// only `livekit-server --dev` accepts, so it is used only for a local server: with
    /// `--dev`, without a URL, or with a loopback URL (with a notice). Anywhere else a token
    /// signed with it would be refused later, far from the cause.
    pub(crate) fn resolve(&self, url: Option<&str>) -> Result<KeyPair> {
        if self.dev {
            return Ok(KeyPair::new(DEV_API_KEY, &ApiSecret::new(DEV_API_SECRET))?);
        }
        let key_source = if self.api_key.is_some() {
            "--api-key"
        } else {
            "LIVEKIT_API_KEY"
        };
        let key = self.api_key.clone().or_else(|| env_var("LIVEKIT_API_KEY"));
        let secret_source = match (&self.api_secret_file, &self.api_secret) {
            (Some(_), _) => "--api-secret-file",
            (None, Some(_)) => "--api-secret",
            (None, None) => "LIVEKIT_API_SECRET",
        };
        let secret = if let Some(path) = &self.api_secret_file {
            Some(read_secret_file(path)?)
        } else if let Some(secret) = &self.api_secret {
            warn(
                "--api-secret is visible to other users in the process list; \
                 prefer --api-secret-file or LIVEKIT_API_SECRET",
            );
            Some(secret.clone())
        } else {
            env_var("LIVEKIT_API_SECRET")
        };
        let (key, secret) = match (key, secret) {
            (None, None) => {
                if let Some(url) = url {
                    // A URL without a scheme is a mistake of its own; say that one first.
                    roomkey_rooms::normalize_url(url)?;
                }
                if let Some(url) = url.filter(|u| !is_local(u)) {
                    bail!(
                        "no API key and secret for the LiveKit server at {url}: set \
                         LIVEKIT_API_KEY and LIVEKIT_API_SECRET, or pass --api-key with \
                         --api-secret-file (the development pair devkey/secret is used only \
                         for a server on this machine, or with --dev)"
                    );
                }
                eprintln!(
                    "roomkey: notice: no credentials given; using the development pair \
                     {DEV_API_KEY}/{DEV_API_SECRET} that `livekit-server --dev` accepts. \
                     Set LIVEKIT_API_KEY and LIVEKIT_API_SECRET for a real project."
                );
                return Ok(KeyPair::new(DEV_API_KEY, &ApiSecret::new(DEV_API_SECRET))?);
            }
            (Some(_), None) => bail!(
                "an API key is set (from {key_source}) but no secret; set LIVEKIT_API_SECRET \
                 or pass --api-secret-file"
            ),
            (None, Some(_)) => bail!(
                "an API secret is set (from {secret_source}) but no key; set LIVEKIT_API_KEY or \
                 pass --api-key"
            ),
            (Some(k), Some(s)) => (k, ApiSecret::new(s)),
        };
        let pair = KeyPair::new(key, &secret)?;
        if pair.secret_is_short() {
            warn(&format!(
                "the API secret is {} bytes long; LiveKit recommends at least {} \
                 (generate one with `livekit-server generate-keys`)",
                secret.len(),
                roomkey_token::RECOMMENDED_SECRET_LEN
            ));
        }
        Ok(pair)
    }
}

impl KeyArgs {
    /// Whether any credential is given: a flag, `LIVEKIT_API_KEY` or `LIVEKIT_API_SECRET`, or
    /// `--dev`.
    fn any_given(&self) -> bool {
        self.dev
            || self.api_key.is_some()
            || self.api_secret.is_some()
            || self.api_secret_file.is_some()
            || env_var("LIVEKIT_API_KEY").is_some()
            || env_var("LIVEKIT_API_SECRET").is_some()
    }
}

impl KeySetArgs {
    /// The keys, when any are given (as [`KeySetArgs::resolve`] finds them, without falling
    /// back to the development pair); `None` when none are.
    pub(crate) fn resolve_given(&self) -> Result<Option<KeySet>> {
        if self.keys_file.is_some() || env_var("LIVEKIT_KEYS").is_some() || self.pair.any_given() {
            return self.resolve(None).map(Some);
        }
        Ok(None)
    }

    /// Resolves the verification keys: `--keys-file`, then `LIVEKIT_KEYS`, then one pair as
    /// [`KeyArgs::resolve`] finds it.
    pub(crate) fn resolve(&self, url: Option<&str>) -> Result<KeySet> {
        if let Some(path) = &self.keys_file {
            let text = fs::read_to_string(path)
                .with_context(|| format!("cannot read the keys file {}", path.display()))?;
            warn_if_world_readable(path, "keys file");
            return KeySet::parse(&text)
                .with_context(|| format!("the keys file {} is not valid", path.display()));
        }
        if let Some(text) = env_var("LIVEKIT_KEYS") {
            return KeySet::parse(&text).context("LIVEKIT_KEYS is not valid");
        }
        Ok(KeySet::single(self.pair.resolve(url)?))
    }
}

/// Whether a LiveKit URL names this machine: `localhost` (or a name under `.localhost`) or a
/// loopback address. A URL that does not parse is not local.
pub(crate) fn is_local(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|u| roomkey_rooms::is_local_host(&u))
}

fn read_secret_file(path: &Path) -> Result<String> {
    let mut text = String::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read the API secret from standard input")?;
    } else {
        text = fs::read_to_string(path)
            .with_context(|| format!("cannot read the API secret file {}", path.display()))?;
        warn_if_world_readable(path, "API secret file");
    }
    let secret = text
        .strip_suffix('\n')
        .map_or(text.as_str(), |s| s.strip_suffix('\r').unwrap_or(s));
    if secret.is_empty() {
        bail!("the API secret file {} is empty", path.display());
    }
    Ok(secret.to_owned())
}

/// Warns when a file holding secrets can be read by every user (the LiveKit server refuses to
/// start with such a key file).
#[cfg(unix)]
fn warn_if_world_readable(path: &Path, what: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o004 != 0 {
            warn(&format!(
                "the {what} {} is readable by every user; run `chmod 600` on it",
                path.display()
            ));
        }
    }
}

#[cfg(not(unix))]
fn warn_if_world_readable(_: &Path, _: &str) {}

#[cfg(test)]
mod tests {
    use super::is_local;

    #[test]
    fn local_urls_are_loopback_or_localhost() {
        for url in [
            "ws://localhost:7880",
            "http://LOCALHOST.:7880/livekit",
            "wss://app.localhost",
            "http://127.0.0.1:7880",
            "ws://127.8.0.1",
            "http://[::1]:7880",
        ] {
            assert!(is_local(url), "{url}");
        }
        for url in [
            "wss://myproj.livekit.cloud",
            "http://192.168.1.10:7880",
            "http://localhost.example.com",
            "http://[::2]",
            "not a url",
        ] {
            assert!(!is_local(url), "{url}");
        }
    }
}
