//! `roomkey`: mint, verify and serve LiveKit access tokens.

mod credentials;
mod dispatch;
mod output;
mod rooms;
mod serve;
mod token;
mod webhook;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Mint, verify and serve LiveKit access tokens.
///
/// Credentials come from --api-key and --api-secret-file, or LIVEKIT_API_KEY and
/// LIVEKIT_API_SECRET. With none, roomkey uses the development pair devkey/secret that
/// `livekit-server --dev` accepts.
#[derive(Debug, Parser)]
#[command(name = "roomkey", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Mint and verify access tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create, list and delete rooms through LiveKit's RoomService API
    #[command(subcommand)]
    Room(rooms::RoomCommand),
    /// Dispatch agents into rooms, list and delete dispatches (LiveKit's AgentDispatchService)
    #[command(subcommand)]
    Dispatch(dispatch::DispatchCommand),
    /// Verify, receive and send LiveKit webhooks
    #[command(subcommand)]
    Webhook(webhook::WebhookCommand),
    /// Run the token server (LiveKit's standard token endpoint, with auth and policy)
    Serve(serve::ServeArgs),
    /// Print the SHA-256 of an API key for the server's [[caller]] entries (or --generate one)
    KeyHash(serve::KeyHashArgs),
    /// Print a shell completion script: bash, zsh, fish, powershell or elvish
    ///
    /// For example: `roomkey completions bash > ~/.local/share/bash-completion/completions/roomkey`,
    /// or `roomkey completions zsh > "${fpath[1]}/_roomkey"`.
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): `roomkey man | man -l -`
    Man,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Mint a participant access token (the token on stdout)
    Create(Box<token::CreateArgs>),
    /// Mint many tokens from a CSV or JSON Lines file, on every core
    Batch(Box<token::BatchArgs>),
    /// Check a token's signature and times, and explain what it grants
    Verify(token::VerifyArgs),
    /// Explain any token, find the known mistakes in it, and ask the server for its verdict
    Inspect(token::InspectArgs),
}

/// The narrowest help is wrapped to. clap wraps help to the terminal, breaking lines at spaces,
/// and an example command broken across lines no longer pastes; so the examples' lines are at
/// most 39 columns, and a terminal narrower than this wraps the lines itself (a copy of a line
/// the terminal wrapped is still one line).
const MIN_HELP_WIDTH: usize = 40;
/// The widest: longer lines are hard to read.
const MAX_HELP_WIDTH: usize = 100;

/// The width to wrap help to: `COLUMNS` or the terminal's, as clap would find it, within
/// [`MIN_HELP_WIDTH`] and [`MAX_HELP_WIDTH`].
fn help_width() -> usize {
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    let terminal = || terminal_size::terminal_size().map(|(width, _)| usize::from(width.0));
    columns
        .or_else(terminal)
        .unwrap_or(MAX_HELP_WIDTH)
        .clamp(MIN_HELP_WIDTH, MAX_HELP_WIDTH)
}

/// Exit codes: 0 success, 1 a negative answer (the token is invalid, or has error findings), 2 usage, configuration
/// or I/O errors (clap uses 2 for usage errors too).
fn main() -> ExitCode {
    let parsed = Cli::command()
        .term_width(help_width())
        .try_get_matches()
        .and_then(|matches| {
            // (`Parser::try_parse` formats these errors with the command; so must this.)
            Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut Cli::command()))
        });
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let tip = separated_switch_value(&e);
            let _ = e.print();
            if let Some(tip) = tip {
                eprintln!("\n  tip: {tip}");
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2));
        }
    };
    let result = match &cli.command {
        Command::Token(TokenCommand::Create(args)) => token::create(args),
        Command::Token(TokenCommand::Batch(args)) => token::batch(args),
        Command::Token(TokenCommand::Verify(args)) => token::verify(args),
        Command::Token(TokenCommand::Inspect(args)) => token::inspect(args),
        Command::Room(command) => rooms::run(command),
        Command::Dispatch(command) => dispatch::run(command),
        Command::Webhook(command) => webhook::run(command),
        Command::Serve(args) => serve::run(args),
        Command::KeyHash(args) => serve::key_hash(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "roomkey", &mut script);
            output::out_bytes(&script);
            Ok(())
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map(|()| output::out_bytes(&page))
                .map_err(anyhow::Error::from)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e)
            if e.is::<token::InvalidToken>()
                || e.is::<token::Unhealthy>()
                || e.is::<token::InvalidRows>()
                || e.is::<webhook::InvalidWebhook>()
                || e.is::<webhook::Refused>()
                || e.is::<rooms::NotFound>() =>
        {
            eprintln!("roomkey: {e:#}");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("roomkey: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// For `--can-publish true` (a switch and its value given apart, which clap reads as a stray
/// argument): how to write it.
fn separated_switch_value(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(stray)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    if !matches!(stray.as_str(), "true" | "false") {
        return None;
    }
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == stray)?;
    let switch = args.get(i.checked_sub(1)?)?;
    switch
        .starts_with("--")
        .then(|| format!("a switch takes its value after =: write {switch}={stray}"))
}
