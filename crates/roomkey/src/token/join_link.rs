//! Join links: a URL that opens the room with the token, LiveKit Meet's custom-server link by
//! default, or a template of the user's.

use anyhow::{Result, bail};

/// LiveKit Meet's page that joins any LiveKit server with a token.
pub(crate) const MEET_TEMPLATE: &str =
    "https://meet.livekit.io/custom?liveKitUrl={url}&token={token}";

/// The placeholders a template may use.
const PLACEHOLDERS: [&str; 4] = ["{url}", "{token}", "{room}", "{identity}"];

/// `--join-url[=TEMPLATE]`.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct JoinLinkArgs {
    /// Also print a link that opens the room with the token: LiveKit Meet's custom-server link
    /// by default, or TEMPLATE with {url}, {token}, {room} and {identity} (URL-encoded); needs
    /// the server URL (--url or LIVEKIT_URL)
    #[arg(long = "join-url", value_name = "TEMPLATE", num_args = 0..=1, require_equals = true,
          default_missing_value = MEET_TEMPLATE, help_heading = "Output")]
    template: Option<String>,
}

/// A checked template with the server URL it links to.
#[derive(Debug, Clone)]
pub(crate) struct JoinLink {
    template: String,
    server_url: String,
}

impl JoinLinkArgs {
    /// LiveKit Meet's link, as a bare `--join-url` asks.
    pub(crate) fn meet() -> JoinLinkArgs {
        JoinLinkArgs {
            template: Some(MEET_TEMPLATE.to_owned()),
        }
    }

    /// The template given, if any.
    pub(crate) fn template(&self) -> Option<&str> {
        self.template.as_deref()
    }

    /// The link to make, when one is asked for; `server_url` is the LiveKit URL the clients
    /// connect to.
    pub(crate) fn resolve(&self, server_url: Option<String>) -> Result<Option<JoinLink>> {
        let Some(template) = &self.template else {
            return Ok(None);
        };
        if !template.contains("{token}") {
            bail!("--join-url={template} has no {{token}}; a join link carries the token");
        }
        // Anything in braces that is not a placeholder is a typo ({tokne}).
        let mut rest = template.as_str();
        while let Some(start) = rest.find('{') {
            let end = rest[start..]
                .find('}')
                .map_or(rest.len(), |e| start + e + 1);
            let part = &rest[start..end];
            if !PLACEHOLDERS.contains(&part) {
                bail!(
                    "--join-url has {part:?}, which is not a placeholder; use {}",
                    PLACEHOLDERS.join(", ")
                );
            }
            rest = &rest[end..];
        }
        let Some(server_url) = server_url.filter(|u| !u.is_empty()) else {
            bail!(
                "--join-url needs the LiveKit server URL the link connects to: pass --url or \
                 set LIVEKIT_URL (e.g. wss://myproject.livekit.cloud)"
            );
        };
        roomkey_rooms::normalize_url(&server_url)?;
        Ok(Some(JoinLink {
            template: template.clone(),
            server_url,
        }))
    }
}

impl JoinLink {
    /// The server URL the link connects to.
    pub(crate) fn server_url(&self) -> &str {
        &self.server_url
    }

    /// The link for one token.
    pub(crate) fn url_for(&self, token: &str, room: &str, identity: &str) -> String {
        let encode =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        self.template
            .replace("{url}", &encode(&self.server_url))
            .replace("{room}", &encode(room))
            .replace("{identity}", &encode(identity))
            .replace("{token}", &encode(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(template: Option<&str>, url: Option<&str>) -> Result<Option<JoinLink>> {
        JoinLinkArgs {
            template: template.map(str::to_owned),
        }
        .resolve(url.map(str::to_owned))
    }

    #[test]
    fn the_default_is_livekit_meets_custom_link_with_everything_encoded() {
        let l = link(Some(MEET_TEMPLATE), Some("wss://demo.livekit.cloud"))
            .unwrap()
            .unwrap();
        assert_eq!(
            l.url_for("a.b.c", "r", "i"),
            "https://meet.livekit.io/custom?liveKitUrl=wss%3A%2F%2Fdemo.livekit.cloud&token=a.b.c"
        );
        let l = link(
            Some("https://app.example/{room}?u={identity}&t={token}"),
            Some("ws://localhost:7880"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            l.url_for("t", "a b&c", "é"),
            "https://app.example/a+b%26c?u=%C3%A9&t=t"
        );
        assert!(link(None, None).unwrap().is_none());
    }

    #[test]
    fn templates_and_urls_are_checked() {
        let e = |t: &str, u: Option<&str>| link(Some(t), u).unwrap_err().to_string();
        assert!(e("https://x/{room}", Some("ws://h")).contains("has no {token}"));
        assert!(e("https://x/{tokne}{token}", Some("ws://h")).contains("\"{tokne}\""));
        assert!(e(MEET_TEMPLATE, None).contains("needs the LiveKit server URL"));
        assert!(e(MEET_TEMPLATE, Some("localhost:7880")).contains("no scheme"));
    }
}
