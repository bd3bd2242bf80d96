//! `roomkey token create`: one token, and the room created first.

use anyhow::{Context as _, Result, bail};
use roomkey_token::{AccessToken, RoomAgentDispatch, dangerous};
use serde_json::json;

use crate::credentials::KeyArgs;
use crate::dispatch::{WorkerWait, ensure_agents};
use crate::output::{out, print_json, safe, warn};
use crate::rooms::{self, RoomSettings, ServerArgs, block_on};

use super::SUMMARY;
use super::flags::TokenFlags;
use super::join_link::JoinLinkArgs;
use roomkey_token::inspect::{Code, InspectOptions, inspect};

/// Mint a participant access token.
#[derive(Debug, clap::Args)]
#[command(after_long_help = CREATE_EXAMPLES)]
pub(crate) struct CreateArgs {
    #[command(flatten)]
    pub(crate) token: TokenFlags,

    /// Whether to create the room if it doesn't exist (through RoomService, before minting;
    /// needs --room and --url). The create request carries the token's room configuration; if
    /// the room existed, roomkey dispatches the token's agents the room does not have yet
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true", action = clap::ArgAction::Set,
          help_heading = "Room")]
    pub(crate) create_room_if_not_exists: bool,

    #[command(flatten)]
    pub(crate) wait: WorkerWait,

    #[command(flatten)]
    pub(crate) server: ServerArgs,

    #[command(flatten)]
    pub(crate) keys: KeyArgs,

    /// Print one JSON object (token, identity, name, room, issued_at, expires_at, size,
    /// server_url, join_url, claims); what is absent is null
    #[arg(long, help_heading = "Output", conflicts_with = "token_only")]
    pub(crate) json: bool,

    /// Print the token and nothing else: no summary, no notices (as `lk token create
    /// --token-only`)
    #[arg(long, help_heading = "Output")]
    pub(crate) token_only: bool,

    /// No summary line on stderr (warnings still show)
    #[arg(long, short = 'q', help_heading = "Output")]
    pub(crate) quiet: bool,

    #[command(flatten)]
    pub(crate) link: JoinLinkArgs,

    /// Open the join link in the browser (the BROWSER environment variable's program, else
    /// the platform's opener); implies --join-url
    #[arg(long, help_heading = "Output")]
    pub(crate) open: bool,

    /// Sign as if the time were this (unix seconds); for tests
    #[arg(long, hide = true, value_name = "UNIX")]
    pub(crate) now: Option<i64>,
}

// Each line of an example is at most 39 columns: help is never wrapped narrower than 40 (see
// `help_width` in main.rs), so it always shows the commands as written, ready to paste.
const CREATE_EXAMPLES: &str = "\
Examples:
  Join a room (with the keys that
  `livekit-server --dev` accepts):
    roomkey token create \\
      --identity alice --room standup
  Viewer that can only watch:
    roomkey token create \\
      --identity viewer-1 \\
      --room town-hall \\
      --can-publish=false \\
      --can-publish-data=false
  Hidden recorder:
    roomkey token create \\
      --identity recorder \\
      --room standup --hidden \\
      --recorder --can-publish=false
  Dispatch an agent when the room is
  created:
    roomkey token create \\
      --identity alice \\
      --room support-42 \\
      --dispatch-agent triage \\
      --job-metadata '{\"lang\":\"de\"}'
  Admin API token (no join):
    roomkey token create \\
      --join=false --room-create \\
      --room-list --ttl 10m
  A link that opens the room in
  LiveKit Meet:
    roomkey token create \\
      --identity alice --room standup \\
      --url wss://acme.livekit.cloud \\
      --join-url
  Metadata too large for the command
  line:
    roomkey token create \\
      --identity alice --room standup \\
      --metadata-file profile.json
  Machine-readable output:
    roomkey token create \\
      --identity alice --room standup \\
      --json";

/// Runs `roomkey token create`.
pub(crate) fn create(args: &CreateArgs) -> Result<()> {
    let token = args.token.build()?;
    // Check the token before anything happens on the server.
    token.validate().context("cannot mint the token")?;
    let key = args.keys.resolve(args.server.target_url().as_deref())?;
    if args.create_room_if_not_exists {
        create_room_first(args, &token, &key)?;
    } else {
        if args.token.grants.joins() && args.token.room.as_deref().unwrap_or("").is_empty() {
            warn("no --room given: this token lets the participant join any room");
        }
        let agents = token
            .claims()
            .room_config
            .as_deref()
            .map_or(&[][..], |c| c.agents.as_slice());
        if !agents.is_empty() {
            warn(&format!(
                "the token's agents ({}) come only if this participant's join creates the room: LiveKit ignores roomConfig for a room that exists. Add --create-room-if-not-exists to have roomkey create the room or dispatch them into it",
                agent_names(agents)
            ));
        }
    }
    let now = args.now.unwrap_or_else(roomkey_token::unix_now);
    let jwt = token.sign_at(&key, now).context("cannot mint the token")?;
    let server_url = args.server.target_url();
    let link_args = if args.open && args.link.template().is_none() {
        JoinLinkArgs::meet()
    } else {
        args.link.clone()
    };
    let link = link_args
        .resolve(server_url.clone())?
        .map(|l| l.url_for(&jwt, token.claims().room(), &token.claims().sub));
    if !args.token_only {
        warn_about(&jwt, now);
    }
    if args.json {
        let claims = token.claims_at(key.api_key(), now);
        let (_, payload) = dangerous::decode_unverified(&jwt)
            .context("the token just minted does not decode (please report this bug)")?;
        let payload: serde_json::Value = serde_json::from_str(&payload)?;
        let present = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        print_json(&json!({
            "token": jwt,
            "identity": present(&claims.sub),
            "name": present(&claims.name),
            "room": present(claims.room()),
            "issued_at": now,
            "expires_at": claims.exp,
            "size": jwt.len(),
            "server_url": server_url,
            "join_url": link,
            "claims": payload,
        }));
    } else {
        out(&jwt);
        if let Some(link) = &link {
            if !args.token_only {
                out(link);
            }
        }
    }
    if args.open {
        if let Some(link) = &link {
            open_in_browser(link)?;
        }
    }
    if !args.quiet && !args.token_only {
        eprintln!("{}", summary(&token));
    }
    Ok(())
}

/// The findings of the token doctor worth a warning at minting time: what the server will
/// refuse or the clients will struggle with, a lifetime over a day, a token that grants nothing.
const MINT_WARNINGS: &[Code] = &[
    Code::TtlVeryLong,
    Code::NoJoin,
    Code::OversizedForUrl,
    Code::MetadataNearLimit,
    Code::AttributesNearLimit,
    Code::SourcesWithoutPublish,
    Code::AdminGrantInJoinToken,
];

fn warn_about(jwt: &str, now: i64) {
    let inspection = inspect(jwt, None, InspectOptions::at(now));
    for f in inspection
        .findings
        .iter()
        .filter(|f| MINT_WARNINGS.contains(&f.code))
    {
        warn(&format!("{} ({})", f.message, f.hint));
    }
}

/// The summary line: the action's own for a participant's join token; for any other, what it
/// grants instead of "to join the call".
fn summary(token: &AccessToken) -> String {
    let claims = token.claims();
    if claims.can_join() {
        return SUMMARY.to_owned();
    }
    let granted: Vec<String> = roomkey_token::grants::GRANTS
        .iter()
        .filter(|g| g.kind == roomkey_token::grants::Kind::Flag)
        .filter(|g| g.effective(claims) == Some(true))
        .map(|g| {
            if g.claim == "video" {
                g.key.to_owned()
            } else {
                g.path()
            }
        })
        .collect();
    if granted.is_empty() {
        "Generated an access token that joins no room and grants nothing.".to_owned()
    } else {
        format!(
            "Successfully generated an API access token ({}); it joins no room.",
            granted.join(", ")
        )
    }
}

/// Opens `url` with `$BROWSER`, else the platform's opener.
fn open_in_browser(url: &str) -> Result<()> {
    let opener = crate::credentials::env_var("BROWSER").unwrap_or_else(|| {
        if cfg!(target_os = "macos") {
            "open".to_owned()
        } else {
            "xdg-open".to_owned()
        }
    });
    let status = std::process::Command::new(&opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .with_context(|| format!("cannot run {opener} to open the join link (set BROWSER)"))?;
    if !status.success() {
        bail!("{opener} could not open the join link ({status})");
    }
    Ok(())
}

/// Creates the token's room through RoomService, with the token's room configuration.
fn create_room_first(
    args: &CreateArgs,
    token: &AccessToken,
    key: &roomkey_token::KeyPair,
) -> Result<()> {
    let Some(room) = args.token.room.as_deref().filter(|r| !r.is_empty()) else {
        bail!("--create-room-if-not-exists needs the room's name: pass --room");
    };
    let client = args
        .server
        .client(key.clone(), "--create-room-if-not-exists")?;
    let claims = token.claims();
    let request = rooms::create_request(
        room,
        &RoomSettings::default(),
        claims.room_config.as_deref(),
        &claims.room_preset,
    );
    let names = [room.to_owned()];
    block_on(async {
        let (existed, created) = async {
            let existed = !client.list_rooms(&names).await?.is_empty();
            let created = client.create_room(&request).await?;
            Ok::<_, roomkey_rooms::RoomError>((existed, created))
        }
        .await
        .with_context(|| format!("cannot create the room {}; no token was minted", safe(room)))?;
        rooms::report_creation(existed, &created, &request);
        // Also for a room created just now: it has the agents of its CreateRoom request, unless
        // someone else created it in between.
        ensure_agents(&client, room, &request.agents, args.wait.wait_for_worker)
            .await
            .context("no token was minted")
    })?
}

/// `triage, billing` for a message.
fn agent_names(agents: &[RoomAgentDispatch]) -> String {
    agents
        .iter()
        .map(|a| {
            if a.agent_name.is_empty() {
                "the unnamed agent".to_owned()
            } else {
                safe(&a.agent_name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
