//! The audit trail: one line per issued token.

use std::time::{Duration, SystemTime};

use roomkey_token::Claims;
use sha2::{Digest as _, Sha256};
use tracing::Level;

use crate::logging;
use crate::policy::Caller;

/// The target of audit events (for `RUST_LOG` filters, and the `target` of each line).
pub const TARGET: &str = "roomkey::audit";

pub use crate::logging::AuditLog;

/// One audit line per issued token: who asked, for whom, where, what, how long. Never the token
/// or a secret. What the token allows is `grants`: the first 16 hex digits of the SHA-256 of
/// the token's grants object ([`roomkey_token::Claims::write_grants_json`]), so equal grants
/// give equal digests and a digest can be checked against a token.
pub(crate) fn issued(
    log: &AuditLog,
    now: SystemTime,
    caller: &Caller,
    profile: &str,
    claims: &Claims,
    ttl: Duration,
    agents: AgentDispatch,
) {
    // The event's own callsite shape (kind, target, level and field names), so that a
    // `RUST_LOG` directive on fields decides for the direct line as it would for the event.
    if !tracing::event_enabled!(
        target: TARGET,
        Level::INFO,
        message,
        caller,
        profile,
        identity,
        room,
        grants,
        ttl_s,
        agents
    ) {
        return;
    }
    let hex = grants_digest(claims);
    let grants = std::str::from_utf8(&hex).unwrap_or_default();
    match log {
        AuditLog::Json(sink) => {
            logging::write_line(sink, now, Level::INFO, TARGET, MESSAGE, |fields| {
                fields.str("caller", &caller.name);
                fields.str("profile", profile);
                fields.str("identity", &claims.sub);
                fields.str("room", claims.room());
                fields.str("grants", grants);
                fields.u64("ttl_s", ttl.as_secs());
                if let Some(agents) = agents.label() {
                    fields.str("agents", agents);
                }
            });
        }
        AuditLog::Events => tracing::info!(
            target: TARGET,
            caller = caller.name.as_str(),
            profile,
            identity = claims.sub.as_str(),
            room = claims.room(),
            grants,
            ttl_s = ttl.as_secs(),
            agents = agents.label(),
            "{MESSAGE}"
        ),
    }
}

/// What became of the agents a token asks for, for the audit line's `agents` field (absent for
/// a token without agents). LiveKit dispatches a token's `roomConfig.agents` only when that
/// participant's join creates the room, so the line says which case this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AgentDispatch {
    /// The token asks for no agents.
    NoAgents,
    /// roomkey created or found the room, and it has a dispatch of every agent: from its
    /// creation, or an earlier one.
    InRoom,
    /// The room existed without some of the agents; roomkey dispatched them into it.
    Dispatched,
    /// roomkey did not create the room: the agents come only if this join creates it.
    OnlyIfJoinCreatesRoom,
}

impl AgentDispatch {
    fn label(self) -> Option<&'static str> {
        match self {
            AgentDispatch::NoAgents => None,
            AgentDispatch::InRoom => Some("in_room"),
            AgentDispatch::Dispatched => Some("dispatched"),
            AgentDispatch::OnlyIfJoinCreatesRoom => Some("only_if_join_creates_room"),
        }
    }
}

/// The audit line's message.
const MESSAGE: &str = "token issued";

/// The first 16 hex digits of the SHA-256 of the grants exactly as the token carries them, so
/// the digest can be recomputed from the token.
fn grants_digest(claims: &Claims) -> [u8; 16] {
    thread_local! {
        /// The grants of the token being audited, written out to be hashed.
        static GRANTS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    let digest = GRANTS.with(|cell| {
        let mut grants = cell.borrow_mut();
        grants.clear();
        claims.write_grants_json(&mut grants);
        Sha256::digest(grants.as_slice())
    });
    let mut hex = [0u8; 16];
    // 8 digest bytes fill the 16 digits exactly, so this cannot fail.
    let _ = hex::encode_to_slice(&digest[..8], &mut hex);
    hex
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;
    use crate::logging::{LogSink, json_layer};

    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl Write for Capture {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn caller(name: &str) -> Caller {
        Caller {
            name: name.into(),
            subject: None,
            display_name: None,
            profile: 0,
            admin: false,
            ttl_cap: None,
            session_expires_at: None,
        }
    }

    fn claims(identity: &str, room: &str) -> Claims {
        serde_json::from_value(serde_json::json!({
            "sub": identity,
            "video": {"roomJoin": true, "room": room, "canPublish": true},
        }))
        .unwrap()
    }

    /// What each way of logging writes for one token, under a JSON layer with `filter`.
    fn written(filter: &str, caller: &Caller, claims: &Claims) -> [String; 2] {
        written_with(filter, caller, claims, AgentDispatch::NoAgents)
    }

    fn written_with(
        filter: &str,
        caller: &Caller,
        claims: &Claims,
        agents: AgentDispatch,
    ) -> [String; 2] {
        let capture = Capture::default();
        let (sink, guard) = LogSink::spawn(Box::new(capture.clone()));
        let subscriber = tracing_subscriber::registry()
            .with(tracing_subscriber::EnvFilter::new(filter))
            .with(json_layer(sink.clone()));
        let ttl = Duration::from_secs(600);
        let out = tracing::subscriber::with_default(subscriber, || {
            [AuditLog::Events, AuditLog::Json(sink.clone())].map(|log| {
                issued(
                    &log,
                    SystemTime::now(),
                    caller,
                    "member",
                    claims,
                    ttl,
                    agents,
                );
                sink.flush();
                let text = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
                capture.0.lock().unwrap().clear();
                text
            })
        });
        drop(guard);
        out
    }

    /// `line` without the value of its timestamp.
    fn untimed(line: &str) -> String {
        let start = line.find("\"timestamp\":\"").expect("a timestamp") + 13;
        let end = start + line[start..].find('"').unwrap();
        format!("{}{}", &line[..start], &line[end..])
    }

    #[test]
    fn the_direct_line_is_the_line_the_json_layer_writes_for_the_event() {
        for (caller, claims) in [
            (caller("backend"), claims("u-7", "support-1")),
            // Values that need escaping, and a token without a room.
            (caller("oidc:\"x\"\\"), claims("line\nbreak \u{1}é", "")),
        ] {
            let [event, direct] = written("info", &caller, &claims);
            assert_eq!(event.lines().count(), 1, "{event}");
            assert_eq!(untimed(&direct), untimed(&event));
            let line: serde_json::Value = serde_json::from_str(&direct).unwrap();
            assert_eq!(line["target"], TARGET);
            assert_eq!(line["level"], "INFO");
            let fields = &line["fields"];
            assert_eq!(fields["message"], "token issued");
            assert_eq!(fields["caller"], caller.name.as_str());
            assert_eq!(fields["profile"], "member");
            assert_eq!(fields["identity"], claims.sub.as_str());
            assert_eq!(fields["room"], claims.room());
            assert_eq!(fields["ttl_s"], 600);
            let grants = std::str::from_utf8(&grants_digest(&claims))
                .unwrap()
                .to_owned();
            assert_eq!(fields["grants"], grants.as_str());
        }
    }

    #[test]
    fn the_agents_field_is_written_alike_and_only_for_tokens_with_agents() {
        let (caller, claims) = (caller("backend"), claims("u-7", "support-1"));
        let [event, direct] = written("info", &caller, &claims);
        assert!(
            !direct.contains("agents") && !event.contains("agents"),
            "{direct}"
        );
        for (agents, label) in [
            (AgentDispatch::InRoom, "in_room"),
            (AgentDispatch::Dispatched, "dispatched"),
            (
                AgentDispatch::OnlyIfJoinCreatesRoom,
                "only_if_join_creates_room",
            ),
        ] {
            let [event, direct] = written_with("info", &caller, &claims, agents);
            assert_eq!(untimed(&direct), untimed(&event));
            let line: serde_json::Value = serde_json::from_str(&direct).unwrap();
            assert_eq!(line["fields"]["agents"], label);
        }
    }

    #[test]
    fn the_filter_decides_for_the_direct_line_too() {
        let (caller, claims) = (caller("backend"), claims("u-7", "support-1"));
        for filter in ["warn", "info,roomkey::audit=off"] {
            assert_eq!(
                written(filter, &caller, &claims),
                [String::new(), String::new()]
            );
        }
        let [event, direct] = written("warn,roomkey::audit=info", &caller, &claims);
        assert_eq!(untimed(&direct), untimed(&event));
        assert!(direct.contains("\"token issued\""), "{direct}");
    }

    #[test]
    fn the_digest_is_the_sha256_of_the_grants_the_token_carries() {
        let claims = claims("u-7", "support-1");
        let mut grants = Vec::new();
        claims.write_grants_json(&mut grants);
        let full: String = Sha256::digest(&grants)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(grants_digest(&claims), full.as_bytes()[..16]);
        assert_ne!(
            grants_digest(&claims),
            grants_digest(&self::claims("u-7", "support-2"))
        );
    }
}
