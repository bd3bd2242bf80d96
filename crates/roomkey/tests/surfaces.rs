//! One meaning per input: the same table of inputs through every surface that takes them, the
//! CLI (`roomkey token create`), the action endpoint and the standard endpoint (of
//! `roomkey serve --dev`, as a process), with the same outcome on each. The web page sends its
//! form to the action endpoint as typed (its own checks are in
//! `crates/roomkey-interop/tests/web_page.rs`).

mod common;

use common::*;
use serde_json::{Value, json};

/// What a surface makes of an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A token valid for this many seconds.
    Issued(i64),
    /// A token, whatever its TTL (the default of that surface).
    IssuedDefault,
    /// Refused, with a message containing this.
    Refused(&'static str),
}
use Outcome::{Issued, IssuedDefault, Refused};

struct Row {
    what: &'static str,
    cli: Option<Vec<String>>,
    action: Option<Value>,
    standard: Option<Value>,
    want: Outcome,
}

fn row(what: &'static str, want: Outcome) -> Row {
    Row {
        what,
        cli: None,
        action: None,
        standard: None,
        want,
    }
}

impl Row {
    fn cli(mut self, args: &[&str]) -> Row {
        self.cli = Some(args.iter().map(|s| (*s).to_owned()).collect());
        self
    }
    fn action(mut self, body: Value) -> Row {
        self.action = Some(body);
        self
    }
    fn standard(mut self, body: Value) -> Row {
        self.standard = Some(body);
        self
    }
}

fn rows() -> Vec<Row> {
    // (Attributes over their 64 KiB limit cannot reach the standard endpoint's policy: the
    // body limit, 64 KiB by default, refuses them first with a 413.)
    let long = "x".repeat(257);
    let mut rows = vec![
        row("a plain identity and room", IssuedDefault)
            .cli(&["--identity", "alice", "--room", "r"])
            .action(json!({"identity": "alice", "room": "r"}))
            .standard(json!({"participant_identity": "alice", "room_name": "r"})),
        row("an identity over 256 bytes", Refused("256"))
            .cli(&["--identity", &long, "--room", "r"])
            .action(json!({"identity": long, "room": "r"}))
            .standard(json!({"participant_identity": long, "room_name": "r"})),
        row("a room name over 256 bytes", Refused("256"))
            .cli(&["--identity", "a", "--room", &long])
            .action(json!({"identity": "a", "room": long}))
            .standard(json!({"participant_identity": "a", "room_name": long})),
        row("a participant name over 256 bytes", Refused("256"))
            .cli(&["--identity", "a", "--room", "r", "--name", &long])
            .action(json!({"identity": "a", "room": "r", "name": long}))
            .standard(
                json!({"participant_identity": "a", "room_name": "r", "participant_name": long}),
            ),
    ];
    for (ttl, want) in [
        ("90", Issued(90)),
        ("1h", Issued(3600)),
        ("1h30m", Issued(5400)),
        ("0", Refused("TTL must be positive")),
        ("0s", Refused("TTL must be positive")),
        ("-5", Refused("negative")),
        ("1.5h", Issued(5400)),
        ("soon", Refused("not a duration")),
    ] {
        // JSON takes the number as a number, and the other forms as strings.
        let json_ttl = ttl.parse::<i64>().map_or_else(|_| json!(ttl), |n| json!(n));
        rows.push(
            row(Box::leak(format!("ttl {ttl}").into_boxed_str()), want)
                .cli(&["--identity", "a", "--room", "r", &format!("--ttl={ttl}")])
                .action(json!({"identity": "a", "room": "r", "ttl": json_ttl})),
        );
    }
    rows.push(
        // A fraction: the same guidance on both surfaces.
        row("ttl 1.5", Refused("give whole seconds (3600)"))
            .cli(&["--identity", "a", "--room", "r", "--ttl=1.5"])
            .action(json!({"identity": "a", "room": "r", "ttl": 1.5})),
    );
    rows
}

/// The outcome of `roomkey token create ARGS --json` with the development pair.
fn through_cli(args: &[String]) -> (Outcome, String) {
    let out = roomkey()
        .args(["token", "create", "--json"])
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() != Some(0) {
        assert_eq!(out.status.code(), Some(2), "a usage error: {stderr}");
        return (Refused(""), stderr);
    }
    let j: Value = serde_json::from_slice(&out.stdout).unwrap();
    let ttl = j["expires_at"].as_i64().unwrap() - j["issued_at"].as_i64().unwrap();
    (Issued(ttl), stderr)
}

/// The outcome of a POST to the development server.
fn through_http(addr: std::net::SocketAddr, path: &str, body: &Value) -> (Outcome, String) {
    let (status, _, text) = post_json(addr, path, &body.to_string());
    if status >= 400 {
        assert_eq!(status, 400, "{path}: {text}");
        return (Refused(""), text);
    }
    let j: Value = serde_json::from_str(&text).unwrap();
    let token = j["token"]
        .as_str()
        .or(j["participant_token"].as_str())
        .unwrap();
    let (_, payload) = roomkey_token::dangerous::decode_unverified(token).unwrap();
    let claims: Value = serde_json::from_str(&payload).unwrap();
    let ttl = claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap();
    (Issued(ttl), text)
}

fn matches(want: Outcome, got: Outcome, message: &str) -> bool {
    match (want, got) {
        (Issued(a), Issued(b)) => a == b,
        (IssuedDefault, Issued(_)) => true,
        (Refused(needle), Refused(_)) => message.contains(needle),
        _ => false,
    }
}

#[test]
fn every_surface_gives_an_input_the_same_meaning() {
    // Stopped when dropped, also when an assertion below fails.
    let (_server, _lines, _, addr) = start_dev_server();
    let mut failures = Vec::new();
    let mut checked = 0;
    for row in rows() {
        let mut surfaces = Vec::new();
        if let Some(args) = &row.cli {
            surfaces.push(("CLI", through_cli(args)));
        }
        if let Some(body) = &row.action {
            surfaces.push((
                "action endpoint",
                through_http(addr, "/api/v1/generate-access-token", body),
            ));
        }
        if let Some(body) = &row.standard {
            surfaces.push(("standard endpoint", through_http(addr, "/api/token", body)));
        }
        assert!(
            surfaces.len() >= 2,
            "{}: a row is for two surfaces or more",
            row.what
        );
        for (surface, (got, message)) in surfaces {
            checked += 1;
            if !matches(row.want, got, &message) {
                let shown: String = message.chars().take(300).collect();
                failures.push(format!(
                    "{}: {surface} gave {got:?}, want {:?}: {shown}",
                    row.what, row.want
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{checked} checked:\n{}",
        failures.join("\n")
    );
}

/// Every row of the grant table (`roomkey_token::grants::GRANTS`) has its flag on
/// `roomkey token create`, reaches the token, and is named by `roomkey token verify`'s
/// explanation. (The server's surfaces: `crates/roomkey-server/tests/integration/grant_table.rs`.)
#[test]
fn every_grant_in_the_table_has_a_flag_and_an_explanation() {
    use roomkey_token::grants::{GRANTS, Kind, Setting};
    let mut args: Vec<String> = vec!["--identity".into(), "a".into(), "--room".into(), "r".into()];
    let mut want = Vec::new();
    for g in GRANTS {
        let (Some(flag), setting) = (
            g.flag(),
            match g.kind {
                Kind::Flag | Kind::Tri => Setting::Bool(true),
                Kind::Text => Setting::Text(format!("{}-value", g.key)),
                Kind::Sources => Setting::Sources(vec![roomkey_token::TrackSource::Microphone]),
                _ => Setting::Texts(vec!["t1".into(), "t2".into()]),
            },
        ) else {
            assert_eq!(
                g.path(),
                "video.room",
                "only the room is not a flag (it is --room)"
            );
            continue;
        };
        args.push(match &setting {
            Setting::Bool(_) => format!("--{flag}=true"),
            Setting::Text(text) => format!("--{flag}={text}"),
            Setting::Sources(_) => format!("--{flag}=microphone"),
            _ => format!("--{flag}=t1,t2"),
        });
        want.push((g, setting));
    }
    let out = roomkey()
        .args(["token", "create"])
        .args(&args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let jwt = String::from_utf8(out.stdout).unwrap();
    let (_, payload) = roomkey_token::dangerous::decode_unverified(jwt.trim()).unwrap();
    let claims: roomkey_token::Claims = serde_json::from_str(&payload).unwrap();
    for (g, setting) in &want {
        let mut expected = claims.clone();
        g.set(&mut expected, setting.clone()).unwrap();
        assert_eq!(
            expected,
            claims,
            "--{} did not reach {}",
            g.flag().unwrap(),
            g.path()
        );
    }
    let out = roomkey()
        .args(["token", "verify", jwt.trim()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let explained = String::from_utf8(out.stdout).unwrap();
    // The explanation comes before the claims it explains.
    let explained = &explained[..explained.find("claims:").unwrap()];
    for (g, _) in &want {
        let label = g
            .key
            .rfind(|c: char| c.is_ascii_uppercase())
            .map_or(g.key.to_owned(), |i| g.key[i..].to_lowercase());
        assert!(
            explained.contains(g.key) || explained.contains(&format!("\n  {label}")),
            "the explanation does not name {}:\n{explained}",
            g.path()
        );
    }
}
