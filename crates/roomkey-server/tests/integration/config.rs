//! Start-up checks of the configuration file: each broken file names the line at fault; the
//! example configuration in the repository loads.

use std::path::{Path, PathBuf};

use roomkey_server::{Config, EnvOverrides};

use crate::common::*;

const HASH: &str = "8d969eef6ecad3c29a3a629280e686cf0c3f5d5a86aff3ca12020c923adc6c92";

/// A valid file: every case below breaks one line of it (or adds one).
fn good() -> String {
    format!(
        r#"listen = "127.0.0.1:8080"
livekit_url = "wss://lk.test.invalid"
request_timeout = "5s"
cors_origins = ["https://app.example.com"]

[[caller]]
name = "backend"
key_sha256 = "{HASH}"
profile = "service"

[profile.service]
rooms = ["lobby", "support-*"]
identity = "request"
fields = ["participant_identity", "room_config.agents"]
agents = ["triage"]
ttl = "15m"
max_ttl = "1h"

[profile.service.grants]
can_publish_sources = ["camera", "microphone"]
"#
    )
}

/// (what is broken, the file, the line expected, a piece of the message expected)
fn cases() -> Vec<(&'static str, String, usize, &'static str)> {
    let g = good();
    vec![
        (
            "unknown top-level key",
            g.replace("request_timeout = \"5s\"", "request_timeout = \"5s\"\nlisten_port = 8080"),
            4,
            "unknown field `listen_port`",
        ),
        (
            "misspelled top-level key",
            g.replace("request_timeout = \"5s\"", "request_timeout = \"5s\"\nrequest_timout = \"6s\""),
            4,
            "(did you mean `request_timeout`?)",
        ),
        (
            "misspelled grant",
            g.replace("[profile.service.grants]", "[profile.service.grants]\ncan_publsh = false"),
            20,
            "(did you mean `can_publish`?)",
        ),
        (
            "unknown key in a profile",
            g.replace("identity = \"request\"", "identity = \"request\"\nroom = \"lobby\""),
            14,
            "unknown field `room`",
        ),
        (
            "unknown key in grants",
            g.replace(
                "can_publish_sources = [\"camera\", \"microphone\"]",
                "can_publish_sources = [\"camera\", \"microphone\"]\ncan_publsh = true",
            ),
            21,
            "unknown field `can_publsh`",
        ),
        (
            "unknown key in a caller",
            g.replace("profile = \"service\"\n", "profile = \"service\"\nadmn = true\n"),
            10,
            "unknown field `admn`",
        ),
        (
            "empty glob",
            g.replace("rooms = [\"lobby\", \"support-*\"]", "rooms = [\"lobby\",\n  \"\"]"),
            13,
            "empty pattern",
        ),
        (
            "glob with a character class",
            g.replace("\"support-*\"", "\"support-[0-9]\""),
            12,
            "only * ",
        ),
        (
            "bad agent glob",
            g.replace("agents = [\"triage\"]", "agents = [\"{a,b}\"]"),
            15,
            "wildcards",
        ),
        (
            "unknown profile reference",
            g.replace("profile = \"service\"", "profile = \"servic\""),
            9,
            "no profile named \"servic\"",
        ),
        (
            "bad key_sha256",
            g.replace(HASH, "not-a-hash"),
            8,
            "64 hex digits",
        ),
        (
            "short key_sha256",
            g.replace(HASH, &HASH[..63]),
            8,
            "64 hex digits",
        ),
        (
            "ttl over max_ttl",
            g.replace("ttl = \"15m\"", "ttl = \"2h\""),
            16,
            "at most max_ttl (3600s)",
        ),
        (
            "max_ttl below the default ttl",
            g.replace("ttl = \"15m\"\n", "").replace("max_ttl = \"1h\"", "max_ttl = \"5m\""),
            16,
            "at most max_ttl (300s)",
        ),
        (
            "zero ttl",
            g.replace("ttl = \"15m\"", "ttl = \"0s\""),
            16,
            "positive",
        ),
        (
            "bad duration",
            g.replace("max_ttl = \"1h\"", "max_ttl = \"an hour\""),
            17,
            "not a duration",
        ),
        (
            "bad listen address",
            g.replace("127.0.0.1:8080", "localhost"),
            1,
            "has no port",
        ),
        (
            "unresolvable listen host",
            g.replace("127.0.0.1:8080", "no-such-host.invalid:8080"),
            1,
            "cannot resolve",
        ),
        (
            "bad livekit_url",
            g.replace("wss://lk.test.invalid", "lk.test.invalid"),
            2,
            "must start with wss://",
        ),
        (
            "bad profile livekit_url",
            g.replace(
                "max_ttl = \"1h\"",
                "max_ttl = \"1h\"\nlivekit_url = \"lk2.test.invalid\"",
            ),
            18,
            "must start with wss://",
        ),
        (
            "zero request_timeout",
            g.replace("\"5s\"", "\"0s\""),
            3,
            "positive",
        ),
        (
            "request_timeout over an hour",
            g.replace("\"5s\"", "\"2h\""),
            3,
            "at most 1h",
        ),
        (
            "wildcard cors origin",
            g.replace("\"https://app.example.com\"", "\"*\""),
            4,
            "exact origin",
        ),
        (
            "unknown request field",
            g.replace("\"room_config.agents\"", "\"room_config.egress\""),
            14,
            "unknown field \"room_config.egress\"",
        ),
        (
            "participant_identity without identity = request",
            g.replace("identity = \"request\"", "identity = \"generated\""),
            14,
            "identity = \"request\"",
        ),
        (
            "agents allowed but none listed",
            g.replace("agents = [\"triage\"]\n", ""),
            14,
            "no agents are listed",
        ),
        (
            "bad identity strategy",
            g.replace("identity = \"request\"", "identity = \"sub\""),
            13,
            "not \"subject\"",
        ),
        (
            "unknown track source",
            g.replace("\"microphone\"", "\"Microphone\""),
            20,
            "Microphone",
        ),
        (
            "duplicate caller key",
            g.replace(
                "\n[profile.service]",
                &format!(
                    "\n[[caller]]\nname = \"again\"\nkey_sha256 = \"{HASH}\"\nprofile = \"service\"\n\n[profile.service]"
                ),
            ),
            13,
            "repeats another caller's key",
        ),
        (
            "duplicate caller name",
            g.replace(
                "\n[profile.service]",
                "\n[[caller]]\nname = \"backend\"\nkey_sha256 = \"2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae\"\nprofile = \"service\"\n\n[profile.service]",
            ),
            11,
            "repeats another caller's name",
        ),
        (
            "static caller with a subject profile",
            g.replace("identity = \"request\"", "identity = \"subject\"")
                .replace("\"participant_identity\", ", ""),
            9,
            "API-key caller",
        ),
        (
            "oidc issuer with a request profile",
            format!(
                "{g}\n[[oidc]]\nissuer = \"https://idp\"\njwks_url = \"https://idp/jwks\"\naudience = \"a\"\nprofile = \"service\"\n"
            ),
            26,
            "identity = \"subject\"",
        ),
        (
            "oidc jwks over plain http",
            format!(
                "{g}\n[[oidc]]\nissuer = \"https://idp\"\njwks_url = \"http://idp.example.com/jwks\"\naudience = \"a\"\nprofile = \"nobody\"\n"
            ),
            24,
            "https://",
        ),
        (
            "oidc jwks on a host that only starts like localhost",
            format!(
                "{g}\n[[oidc]]\nissuer = \"https://idp\"\njwks_url = \"http://localhost.evil.example/jwks\"\naudience = \"a\"\nprofile = \"nobody\"\n"
            ),
            24,
            "https://",
        ),
        (
            "oidc unknown profile",
            format!(
                "{g}\n[[oidc]]\nissuer = \"https://idp\"\njwks_url = \"http://127.0.0.1:9/jwks\"\naudience = \"a\"\nprofile = \"nobody\"\n"
            ),
            26,
            "no profile named \"nobody\"",
        ),
        (
            "oidc missing audience",
            format!(
                "{g}\n[[oidc]]\nissuer = \"https://idp\"\njwks_url = \"https://idp/jwks\"\nprofile = \"service\"\n"
            ),
            22,
            "missing field `audience`",
        ),
        (
            "log format",
            g.replace("request_timeout", "log_format = \"xml\"\nrequest_timeout"),
            3,
            "\"xml\"",
        ),
        (
            "TOML syntax",
            g.replace("ttl = \"15m\"", "ttl = 15m"),
            16,
            "",
        ),
        (
            "wrong type",
            g.replace("\"127.0.0.1:8080\"", "8080"),
            1,
            "string",
        ),
    ]
}

#[test]
fn broken_files_name_the_line() {
    // The good file is good.
    Config::parse("roomkey.toml", &good(), &env(), None).unwrap();
    let mut failures = Vec::new();
    for (what, text, line, fragment) in cases() {
        match Config::parse("roomkey.toml", &text, &env(), None) {
            Ok(_) => failures.push(format!("{what}: accepted")),
            Err(e) => {
                let shown = e.to_string();
                if e.line != line
                    || !e.message.contains(fragment)
                    || !shown.starts_with(&format!("roomkey.toml:{line}: "))
                {
                    let at = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
                    failures.push(format!(
                        "{what}: got line {} {:?}, want line {line} ({at:?}) with {fragment:?}",
                        e.line, e.message
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

#[test]
fn missing_credentials() {
    let g = good();
    let none = EnvOverrides::default();
    let e = Config::parse("roomkey.toml", &g, &none, None).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.message.contains("no LiveKit credentials"), "{e}");
    assert!(e.message.contains("LIVEKIT_API_SECRET"), "{e}");
    // Without a line, none is shown.
    assert!(e.to_string().starts_with("roomkey.toml: no LiveKit"), "{e}");

    // A key without a secret points at the key.
    let text = g.replace("request_timeout", "api_key = \"APIx\"\nrequest_timeout");
    let e = Config::parse("roomkey.toml", &text, &none, None).unwrap_err();
    assert_eq!(
        (e.line, e.message.contains("api_secret_file")),
        (3, true),
        "{e}"
    );
    // A secret file that cannot be read points at its line.
    let text = g.replace(
        "request_timeout",
        "api_key = \"APIx\"\napi_secret_file = \"does-not-exist\"\nrequest_timeout",
    );
    let e = Config::parse(
        "roomkey.toml",
        &text,
        &none,
        Some(Path::new("/nonexistent")),
    )
    .unwrap_err();
    assert_eq!(e.line, 4, "{e}");
    assert!(e.message.contains("/nonexistent/does-not-exist"), "{e}");
    // The environment supplies what the file lacks.
    let env = EnvOverrides {
        api_secret: Some(API_SECRET.into()),
        ..EnvOverrides::default()
    };
    let text = g.replace("request_timeout", "api_key = \"APIx\"\nrequest_timeout");
    let c = Config::parse("roomkey.toml", &text, &env, None).unwrap();
    assert_eq!(c.key.api_key(), "APIx");

    // No livekit_url at all.
    let text = g.replace("livekit_url = \"wss://lk.test.invalid\"\n", "");
    let e = Config::parse("roomkey.toml", &text, &crate::common::env(), None).unwrap_err();
    assert!(e.message.contains("livekit_url is required"), "{e}");
}

#[test]
fn environment_overrides_win_and_are_checked() {
    let g = good();
    let overrides = EnvOverrides {
        listen: Some("127.0.0.1:9999".into()),
        livekit_url: Some("wss://other.test.invalid".into()),
        log_format: Some("json".into()),
        ..env()
    };
    let c = Config::parse("roomkey.toml", &g, &overrides, None).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(c.livekit_url, "wss://other.test.invalid");
    assert_eq!(c.profiles[0].livekit_url, "wss://other.test.invalid");
    assert!(c.json_logs);
    assert_eq!(c.key.api_key(), API_KEY);

    let bad = EnvOverrides {
        listen: Some("nope".into()),
        ..env()
    };
    let e = Config::parse("roomkey.toml", &g, &bad, None).unwrap_err();
    assert_eq!(e.file, "ROOMKEY_LISTEN");
    // A host name in the file is resolved, not refused.
    let named = g.replace("127.0.0.1:8080", "localhost:8080");
    let c = Config::parse("roomkey.toml", &named, &env(), None).unwrap();
    assert!(
        c.listen.ip().is_loopback() && c.listen.port() == 8080,
        "{}",
        c.listen
    );
    let bad = EnvOverrides {
        livekit_url: Some("lk.example".into()),
        ..env()
    };
    let e = Config::parse("roomkey.toml", &g, &bad, None).unwrap_err();
    assert_eq!(e.file, "LIVEKIT_URL");
}

fn example_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../roomkey.example.toml")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("roomkey-server-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_example_configuration_loads() {
    // With the secret from the environment, as LIVEKIT_API_SECRET would give it.
    let env = EnvOverrides {
        api_secret: Some(API_SECRET.into()),
        ..EnvOverrides::default()
    };
    let c = Config::load(&example_path(), &env).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.listen.to_string(), "0.0.0.0:8080");
    assert_eq!(c.key.api_key(), "APIexample");
    assert_eq!(c.callers.len(), 2);
    assert_eq!(c.oidc.len(), 1);
    assert!(c.json_logs);
    assert_eq!(c.per_caller_per_minute, 120);
    let names: Vec<&str> = c.profiles.iter().map(|p| p.name.as_str()).collect();
    for name in ["member", "service", "admin"] {
        assert!(names.contains(&name), "{names:?}");
    }
    roomkey_server::App::new(c).unwrap();

    // With api_secret_file pointing at a real file (relative to the configuration's folder).
    let dir = temp_dir("example");
    std::fs::write(dir.join("secret.txt"), format!("{API_SECRET}\n")).unwrap();
    let text = std::fs::read_to_string(example_path())
        .unwrap()
        .replace("/run/secrets/livekit_api_secret", "secret.txt");
    let path = dir.join("roomkey.toml");
    std::fs::write(&path, text).unwrap();
    let c = Config::load(&path, &EnvOverrides::default()).unwrap_or_else(|e| panic!("{e}"));
    // The secret was read (newline trimmed): a token signed with it verifies with ours.
    let jwt = roomkey_token::AccessToken::new()
        .with_identity("x")
        .sign(&c.key)
        .unwrap();
    let verifier = roomkey_token::Verifier::new(roomkey_token::KeySet::single(
        roomkey_token::KeyPair::new("APIexample", &roomkey_token::ApiSecret::new(API_SECRET))
            .unwrap(),
    ));
    verifier.verify(&jwt).unwrap();
    std::fs::remove_dir_all(&dir).ok();

    // Without any secret it says which.
    let e = Config::load(&example_path(), &EnvOverrides::default()).unwrap_err();
    assert!(e.message.contains("api_secret_file"), "{e}");
    assert_eq!(e.line, 18, "{e}");
    // A missing file is named.
    let e = Config::load(Path::new("/nonexistent/roomkey.toml"), &env).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("/nonexistent/roomkey.toml: cannot read"),
        "{e}"
    );
}
