//! The grant flags of `roomkey token create`, one per row of the grant table
//! (`roomkey_token::grants::GRANTS`): `--can-publish[=BOOL]`, `--sip-admin`, `--allow-source`, …

use clap::{Arg, ArgAction, ArgMatches, Command, value_parser};
use roomkey_token::grants::{GRANTS, Grant, Kind, Setting, Unset, grant};
use roomkey_token::{Claims, TrackSource};

/// The grant settings given on the command line (and `--join`'s default).
#[derive(Debug, Clone, Default)]
pub(crate) struct GrantFlags {
    settings: Vec<(&'static Grant, Setting)>,
}

/// The rows that have a flag: all but `video.room`, which is `--room`.
fn flagged() -> impl Iterator<Item = (&'static Grant, &'static str)> {
    GRANTS.iter().filter_map(|g| Some((g, g.name?)))
}

impl GrantFlags {
    /// Whether the token joins a room.
    pub(crate) fn joins(&self) -> bool {
        self.settings
            .iter()
            .any(|(g, s)| (g.claim, g.key) == ("video", "roomJoin") && *s == Setting::Bool(true))
    }

    /// Gives `claims` every grant setting of the command line.
    pub(crate) fn apply(
        &self,
        claims: &mut Claims,
    ) -> Result<(), roomkey_token::grants::WrongKind> {
        for (g, setting) in &self.settings {
            g.set(claims, setting.clone())?;
        }
        Ok(())
    }
}

/// The help of a grant's flag: its description, then what leaving it out means.
fn help(g: &Grant) -> String {
    let about = g.about();
    match g.kind {
        Kind::Tri => match g.unset {
            Unset::On => format!("{about} [unset: yes]"),
            Unset::Follows(key) => {
                let flag = grant(g.claim, key)
                    .and_then(Grant::flag)
                    .unwrap_or_default();
                format!("{about} [unset: same as --{flag}]")
            }
            _ => format!("{about} [unset: no]"),
        },
        Kind::Flag if g.roomkey_default => format!(
            "{about}. On by default; --{}=false mints a token without it (for example an admin \
             API token)",
            g.flag().unwrap_or_default()
        ),
        Kind::Sources => {
            let names: Vec<&str> = TrackSource::ALL.iter().map(TrackSource::as_str).collect();
            format!(
                "{about}, comma-separated: {} (repeatable; default: all)",
                names.join(", ")
            )
        }
        Kind::Texts => format!("{about}, comma-separated (repeatable)"),
        _ => about.to_owned(),
    }
}

/// The value's name in `--help`: `BOOL`, or the last word of the grant's name (`ROOM`).
fn value_name(g: &Grant, name: &str) -> String {
    if g.kind.is_bool() {
        return "BOOL".into();
    }
    name.rsplit('_').next().unwrap_or(name).to_uppercase()
}

impl clap::Args for GrantFlags {
    fn augment_args(mut cmd: Command) -> Command {
        for (g, name) in flagged() {
            let mut arg = Arg::new(name)
                .long(g.flag().unwrap_or_default().into_owned())
                .value_name(value_name(g, name))
                .help(help(g))
                .help_heading(g.heading);
            arg = match g.kind {
                Kind::Flag | Kind::Tri => {
                    let arg = arg
                        .num_args(0..=1)
                        .require_equals(true)
                        .default_missing_value("true")
                        .value_parser(value_parser!(bool))
                        .action(ArgAction::Set);
                    if g.roomkey_default {
                        arg.default_value("true")
                    } else {
                        arg
                    }
                }
                // "camera, microphone" (as people write lists) is two sources, not an error.
                Kind::Sources => arg
                    .value_delimiter(',')
                    .action(ArgAction::Append)
                    .value_parser(|s: &str| s.trim().parse::<TrackSource>()),
                Kind::Texts => arg.value_delimiter(',').action(ArgAction::Append),
                _ => arg.action(ArgAction::Set),
            };
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        Self::augment_args(cmd)
    }
}

impl clap::FromArgMatches for GrantFlags {
    fn from_arg_matches(m: &ArgMatches) -> Result<Self, clap::Error> {
        let mut settings = Vec::new();
        for (g, name) in flagged() {
            let setting = match g.kind {
                Kind::Flag | Kind::Tri => m.get_one::<bool>(name).copied().map(Setting::Bool),
                Kind::Sources => m.get_many::<TrackSource>(name).map(|v| {
                    // A source given twice is granted once.
                    let mut sources: Vec<TrackSource> = Vec::new();
                    for s in v {
                        if !sources.contains(s) {
                            sources.push(s.clone());
                        }
                    }
                    Setting::Sources(sources)
                }),
                Kind::Texts => m
                    .get_many::<String>(name)
                    .map(|v| Setting::Texts(v.cloned().collect())),
                _ => m.get_one::<String>(name).cloned().map(Setting::Text),
            };
            settings.extend(setting.map(|s| (g, s)));
        }
        Ok(GrantFlags { settings })
    }

    fn update_from_arg_matches(&mut self, m: &ArgMatches) -> Result<(), clap::Error> {
        *self = GrantFlags::from_arg_matches(m)?;
        Ok(())
    }
}
