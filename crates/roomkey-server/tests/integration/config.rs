//! Start-up checks of the configuration file: each broken file names the line at fault; the
//! example configuration in the repository loads.

use std::path::{Path, PathBuf};

use roomkey_server::{Config, ConfigError, EnvOverrides};

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

/// Parses `text` as `roomkey.toml` with these credentials.
fn parse(text: &str, env: &EnvOverrides) -> Result<Config, ConfigError> {
    Config::parse("roomkey.toml", text, env, None)
}

/// The good file with `line` added after the line that holds `anchor`.
fn insert_after(good: &str, anchor: &str, line: &str) -> String {
    let at = good.find(anchor).expect("the anchor is in the good file");
    let end = at + good[at..].find('\n').expect("a whole line");
    format!("{}\n{line}{}", &good[..end], &good[end..])
}

/// The good file with an `[[oidc]]` table appended (without `audience` when it is `None`).
fn with_oidc(good: &str, jwks_url: &str, audience: Option<&str>, profile: &str) -> String {
    let audience = audience.map_or_else(String::new, |a| format!("audience = \"{a}\"\n"));
    format!(
        "{good}\n[[oidc]]\nissuer = \"https://idp\"\njwks_url = \"{jwks_url}\"\n{audience}profile = \"{profile}\"\n"
    )
}

/// The good file with a second caller, before the profile.
fn with_caller(good: &str, name: &str, key_sha256: &str) -> String {
    good.replace(
        "\n[profile.service]",
        &format!(
            "\n[[caller]]\nname = \"{name}\"\nkey_sha256 = \"{key_sha256}\"\nprofile = \"service\"\n\n[profile.service]"
        ),
    )
}

/// One broken file: what is broken, the line and a piece of the message expected, and how
/// the good file is broken.
struct Broken {
    what: &'static str,
    line: usize,
    fragment: &'static str,
    edit: fn(&str) -> String,
}

fn case(
    what: &'static str,
    line: usize,
    fragment: &'static str,
    edit: fn(&str) -> String,
) -> Broken {
    Broken {
        what,
        line,
        fragment,
        edit,
    }
}

const TIMEOUT: &str = "request_timeout = \"5s\"";
const OTHER_HASH: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

fn cases() -> Vec<Broken> {
    vec![
        case(
            "unknown top-level key",
            4,
            "unknown field `listen_port`",
            |g| insert_after(g, TIMEOUT, "listen_port = 8080"),
        ),
        case(
            "misspelled top-level key",
            4,
            "(did you mean `request_timeout`?)",
            |g| insert_after(g, TIMEOUT, "request_timout = \"6s\""),
        ),
        case(
            "misspelled grant",
            20,
            "(did you mean `can_publish`?)",
            |g| insert_after(g, "[profile.service.grants]", "can_publsh = false"),
        ),
        case(
            "unknown key in a profile",
            14,
            "unknown field `room`",
            |g| insert_after(g, "identity = \"request\"", "room = \"lobby\""),
        ),
        case(
            "unknown key in grants",
            21,
            "unknown field `can_publsh`",
            |g| insert_after(g, "can_publish_sources = ", "can_publsh = true"),
        ),
        case(
            "job metadata bound above the LiveKit server's",
            16,
            "max_job_metadata_bytes 600000 is more than the LiveKit server accepts",
            |g| {
                insert_after(
                    g,
                    "agents = [\"triage\"]",
                    "max_job_metadata_bytes = 600000",
                )
            },
        ),
        case("unknown key in a caller", 10, "unknown field `admn`", |g| {
            insert_after(g, "profile = \"service\"", "admn = true")
        }),
        case("empty glob", 13, "empty pattern", |g| {
            g.replace(
                "rooms = [\"lobby\", \"support-*\"]",
                "rooms = [\"lobby\",\n  \"\"]",
            )
        }),
        case("glob with a character class", 12, "only * ", |g| {
            g.replace("\"support-*\"", "\"support-[0-9]\"")
        }),
        case("bad agent glob", 15, "wildcards", |g| {
            g.replace("agents = [\"triage\"]", "agents = [\"{a,b}\"]")
        }),
        case(
            "unknown profile reference",
            9,
            "no profile named \"servic\"",
            |g| g.replace("profile = \"service\"", "profile = \"servic\""),
        ),
        case("bad key_sha256", 8, "64 hex digits", |g| {
            g.replace(HASH, "not-a-hash")
        }),
        case("short key_sha256", 8, "64 hex digits", |g| {
            g.replace(HASH, &HASH[..63])
        }),
        case("ttl over max_ttl", 16, "at most max_ttl (3600s)", |g| {
            g.replace("ttl = \"15m\"", "ttl = \"2h\"")
        }),
        case(
            "max_ttl below the default ttl",
            16,
            "at most max_ttl (300s)",
            |g| {
                g.replace("ttl = \"15m\"\n", "")
                    .replace("max_ttl = \"1h\"", "max_ttl = \"5m\"")
            },
        ),
        case("zero ttl", 16, "positive", |g| {
            g.replace("ttl = \"15m\"", "ttl = \"0s\"")
        }),
        case("bad duration", 17, "not a duration", |g| {
            g.replace("max_ttl = \"1h\"", "max_ttl = \"an hour\"")
        }),
        case("bad listen address", 1, "has no port", |g| {
            g.replace("127.0.0.1:8080", "localhost")
        }),
        case("unresolvable listen host", 1, "cannot resolve", |g| {
            g.replace("127.0.0.1:8080", "no-such-host.invalid:8080")
        }),
        case("bad livekit_url", 2, "must start with wss://", |g| {
            g.replace("wss://lk.test.invalid", "lk.test.invalid")
        }),
        case(
            "bad profile livekit_url",
            18,
            "must start with wss://",
            |g| insert_after(g, "max_ttl = \"1h\"", "livekit_url = \"lk2.test.invalid\""),
        ),
        case(
            "zero request_timeout",
            3,
            "outside its bounds: at least 1s",
            |g| g.replace("\"5s\"", "\"0s\""),
        ),
        case("request_timeout over an hour", 3, "at most 1h", |g| {
            g.replace("\"5s\"", "\"2h\"")
        }),
        case("wildcard cors origin", 4, "exact origin", |g| {
            g.replace("\"https://app.example.com\"", "\"*\"")
        }),
        case(
            "unknown request field",
            14,
            "unknown field \"room_config.egress\"",
            |g| g.replace("\"room_config.agents\"", "\"room_config.egress\""),
        ),
        case(
            "participant_identity without identity = request",
            14,
            "identity = \"request\"",
            |g| g.replace("identity = \"request\"", "identity = \"generated\""),
        ),
        case(
            "agents allowed but none listed",
            14,
            "no agents are listed",
            |g| g.replace("agents = [\"triage\"]\n", ""),
        ),
        case("bad identity strategy", 13, "not \"subject\"", |g| {
            g.replace("identity = \"request\"", "identity = \"sub\"")
        }),
        case("unknown track source", 20, "Microphone", |g| {
            g.replace("\"microphone\"", "\"Microphone\"")
        }),
        case(
            "duplicate caller key",
            13,
            "repeats another caller's key",
            |g| with_caller(g, "again", HASH),
        ),
        case(
            "duplicate caller name",
            11,
            "repeats another caller's name",
            |g| with_caller(g, "backend", OTHER_HASH),
        ),
        case(
            "static caller with a subject profile",
            9,
            "API-key caller",
            |g| {
                g.replace("identity = \"request\"", "identity = \"subject\"")
                    .replace("\"participant_identity\", ", "")
            },
        ),
        case(
            "oidc issuer with a request profile",
            26,
            "identity = \"subject\"",
            |g| with_oidc(g, "https://idp/jwks", Some("a"), "service"),
        ),
        case("oidc jwks over plain http", 24, "https://", |g| {
            with_oidc(g, "http://idp.example.com/jwks", Some("a"), "nobody")
        }),
        case(
            "oidc jwks on a host that only starts like localhost",
            24,
            "https://",
            |g| with_oidc(g, "http://localhost.evil.example/jwks", Some("a"), "nobody"),
        ),
        case(
            "oidc unknown profile",
            26,
            "no profile named \"nobody\"",
            |g| with_oidc(g, "http://127.0.0.1:9/jwks", Some("a"), "nobody"),
        ),
        case(
            "oidc missing audience",
            22,
            "missing field `audience`",
            |g| with_oidc(g, "https://idp/jwks", None, "service"),
        ),
        case("leeway of years", 27, "outside its bounds", |g| {
            with_oidc(g, "https://idp/jwks", Some("a"), "nobody") + "leeway = \"3650d\"\n"
        }),
        case("no floor under JWKS downloads", 27, "at least 1s", |g| {
            with_oidc(g, "https://idp/jwks", Some("a"), "nobody") + "jwks_min_refresh = \"0s\"\n"
        }),
        case("no header read timeout", 23, "at least 1s", |g| {
            format!("{g}\n[connections]\nheader_read_timeout = \"0s\"\n")
        }),
        case("idle timeout of a day", 23, "at most 1h", |g| {
            format!("{g}\n[connections]\nidle_timeout = \"1d\"\n")
        }),
        case("no connections at all", 23, "between 1 and", |g| {
            format!("{g}\n[connections]\nmax_connections = 0\n")
        }),
        case(
            "request heads too small for hyper",
            23,
            "between 8192",
            |g| format!("{g}\n[connections]\nmax_header_bytes = 1000\n"),
        ),
        case(
            "HTTP/2 streams without HTTP/2",
            23,
            "without http2 = true",
            |g| format!("{g}\n[connections]\nhttp2_max_streams = 10\n"),
        ),
        case("metrics both public and on a key", 24, "one of", |g| {
            format!("{g}\n[metrics]\npublic = true\nkey_sha256 = \"{HASH}\"\n")
        }),
        case(
            "IPv6 buckets wider than the internet",
            23,
            "ipv6_prefix",
            |g| format!("{g}\n[rate_limit]\nipv6_prefix = 8\n"),
        ),
        case(
            "an agent's deployment without agent dispatch",
            14,
            "needs room_config.agents",
            |g| {
                g.replace(
                    "\"room_config.agents\"]",
                    "\"room_config.agents.deployment\"]",
                )
            },
        ),
        case("log format", 3, "\"xml\"", |g| {
            g.replace("request_timeout", "log_format = \"xml\"\nrequest_timeout")
        }),
        case("TOML syntax", 16, "", |g| {
            g.replace("ttl = \"15m\"", "ttl = 15m")
        }),
        case("wrong type", 1, "string", |g| {
            g.replace("\"127.0.0.1:8080\"", "8080")
        }),
    ]
}

#[test]
fn broken_files_name_the_line() {
    let good = good();
    parse(&good, &env()).expect("the good file is good");
    let mut failures = Vec::new();
    for broken in cases() {
        let (what, line, fragment) = (broken.what, broken.line, broken.fragment);
        let text = (broken.edit)(&good);
        assert_ne!(text, good, "{what}: the edit changes nothing");
        match parse(&text, &env()) {
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
    let e = parse(&g, &none).unwrap_err();
    assert_eq!(e.line, 0);
    assert!(e.message.contains("no LiveKit credentials"), "{e}");
    assert!(e.message.contains("LIVEKIT_API_SECRET"), "{e}");
    // Without a line, none is shown.
    assert!(e.to_string().starts_with("roomkey.toml: no LiveKit"), "{e}");

    // A key without a secret points at the key.
    let text = g.replace("request_timeout", "api_key = \"APIx\"\nrequest_timeout");
    let e = parse(&text, &none).unwrap_err();
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
    let secret_only = EnvOverrides {
        api_secret: Some(API_SECRET.into()),
        ..EnvOverrides::default()
    };
    let text = g.replace("request_timeout", "api_key = \"APIx\"\nrequest_timeout");
    let c = parse(&text, &secret_only).unwrap();
    assert_eq!(c.key.api_key(), "APIx");

    // No livekit_url at all.
    let text = g.replace("livekit_url = \"wss://lk.test.invalid\"\n", "");
    let e = parse(&text, &env()).unwrap_err();
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
    let c = parse(&g, &overrides).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:9999");
    assert_eq!(c.livekit_url, "wss://other.test.invalid");
    assert_eq!(c.profiles[0].livekit_url, "wss://other.test.invalid");
    assert!(c.json_logs);
    assert_eq!(c.key.api_key(), API_KEY);

    let bad = EnvOverrides {
        listen: Some("nope".into()),
        ..env()
    };
    let e = parse(&g, &bad).unwrap_err();
    assert_eq!(e.file, "ROOMKEY_LISTEN");
    // A host name in the file is resolved, not refused.
    let named = g.replace("127.0.0.1:8080", "localhost:8080");
    let c = parse(&named, &env()).unwrap();
    assert!(
        c.listen.ip().is_loopback() && c.listen.port() == 8080,
        "{}",
        c.listen
    );
    let bad = EnvOverrides {
        livekit_url: Some("lk.example".into()),
        ..env()
    };
    let e = parse(&g, &bad).unwrap_err();
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
