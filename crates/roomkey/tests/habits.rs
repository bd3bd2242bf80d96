//! The everyday CLI: join links, big inputs from files, completions and the manual, quiet and
//! token-only output, the summary and the doctor's warnings, `lk`'s spellings.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

fn roomkey(args: &[&str], env: &[(&str, &str)], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_roomkey"))
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(input) = stdin {
        pipe.write_all(input).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn create(args: &[&str]) -> Output {
    let mut all = vec!["token", "create", "--dev"];
    all.extend_from_slice(args);
    roomkey(&all, &[], None)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stderr)))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("roomkey-habits-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn join_links_default_to_livekit_meet_and_take_a_template() {
    let out = create(&[
        "--identity",
        "alice",
        "--room",
        "standup",
        "--url",
        "ws://localhost:7880",
        "--join-url",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "the token, then the link");
    assert_eq!(
        lines[1],
        format!(
            "https://meet.livekit.io/custom?liveKitUrl=ws%3A%2F%2Flocalhost%3A7880&token={}",
            lines[0]
        )
    );
    let out = create(&[
        "--identity",
        "bob smith",
        "--room",
        "r&d",
        "--url",
        "ws://localhost:7880",
        "--json",
        "--join-url=https://app.example/join/{room}?who={identity}#{token}",
    ]);
    let j = json(&out);
    let token = j["token"].as_str().unwrap();
    assert_eq!(
        j["join_url"],
        format!("https://app.example/join/r%26d?who=bob+smith#{token}")
    );
    assert_eq!(j["server_url"], "ws://localhost:7880");
    // Without --url there is no link to make.
    let out = create(&["--identity", "a", "--room", "r", "--join-url"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--join-url needs the LiveKit server URL"));
}

#[test]
fn open_hands_the_link_to_the_browser() {
    let dir = scratch("open");
    let opened = dir.join("opened.txt");
    let browser = dir.join("browser.sh");
    std::fs::write(
        &browser,
        format!("#!/bin/sh\nprintf '%s' \"$1\" > {}\n", opened.display()),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let out = roomkey(
        &[
            "token",
            "create",
            "--dev",
            "--identity",
            "a",
            "--room",
            "r",
            "--url",
            "ws://localhost:7880",
            "--open",
        ],
        &[("BROWSER", browser.to_str().unwrap())],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let link = std::fs::read_to_string(&opened).unwrap();
    assert!(
        link.starts_with("https://meet.livekit.io/custom?liveKitUrl="),
        "{link}"
    );
    assert!(
        link.ends_with(text(&out.stdout).lines().next().unwrap()),
        "{link}"
    );
}

#[test]
fn json_output_says_null_for_what_is_absent_and_gives_the_size() {
    let j = json(&create(&["--join=false", "--room-list", "--json"]));
    assert_eq!(j["identity"], Value::Null);
    assert_eq!(j["name"], Value::Null);
    assert_eq!(j["room"], Value::Null);
    assert_eq!(j["server_url"], Value::Null);
    assert_eq!(j["join_url"], Value::Null);
    assert_eq!(j["size"], j["token"].as_str().unwrap().len());
}

#[test]
fn big_metadata_attributes_and_room_config_come_from_files() {
    let dir = scratch("files");
    let metadata = "x".repeat(200 * 1024);
    let meta_file = dir.join("meta.txt");
    std::fs::write(&meta_file, &metadata).unwrap();
    std::fs::write(dir.join("attrs.json"), r#"{"seat":"A1","role":"host"}"#).unwrap();
    std::fs::write(dir.join("room.json"), r#"{"emptyTimeout":120}"#).unwrap();
    std::fs::write(dir.join("room-meta.txt"), "{\"topic\":\"physics\"}").unwrap();
    let attrs = format!("@{}", dir.join("attrs.json").display());
    let room = format!("@{}", dir.join("room.json").display());
    let out = create(&[
        "--identity",
        "a",
        "--room",
        "r",
        "--json",
        "--metadata-file",
        meta_file.to_str().unwrap(),
        "--attributes",
        &attrs,
        "--attribute",
        "role=guest",
        "--room-config",
        &room,
        "--room-metadata-file",
        dir.join("room-meta.txt").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let j = json(&out);
    let claims = &j["claims"];
    assert_eq!(claims["metadata"].as_str().unwrap().len(), 200 * 1024);
    assert_eq!(claims["attributes"]["seat"], "A1");
    assert_eq!(claims["attributes"]["role"], "guest", "--attribute wins");
    assert_eq!(claims["roomConfig"]["emptyTimeout"], 120);
    assert_eq!(claims["roomConfig"]["metadata"], "{\"topic\":\"physics\"}");
    // Far too long for a connect URL: said on stderr, by the doctor's finding.
    assert!(
        text(&out.stderr).contains("connect URL"),
        "{}",
        text(&out.stderr)
    );
    // Metadata from standard input.
    let out = roomkey(
        &[
            "token",
            "create",
            "--dev",
            "--identity",
            "a",
            "--room",
            "r",
            "--json",
            "--metadata-file",
            "-",
        ],
        &[],
        Some(b"{\"from\":\"stdin\"}"),
    );
    assert_eq!(json(&out)["claims"]["metadata"], "{\"from\":\"stdin\"}");
}

#[test]
fn completions_and_the_manual() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = roomkey(&["completions", shell], &[], None);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = text(&out.stdout);
        assert!(
            script.contains("roomkey") && script.contains("batch"),
            "{shell}"
        );
    }
    let out = roomkey(&["completions", "tcsh"], &[], None);
    assert_eq!(out.status.code(), Some(2));
    let man = text(&roomkey(&["man"], &[], None).stdout);
    assert!(
        man.starts_with(".ie") && man.contains(".TH roomkey 1"),
        "{}",
        &man[..200]
    );
}

#[test]
fn quiet_token_only_and_a_summary_that_says_what_was_minted() {
    let out = create(&["--identity", "a", "--room", "r"]);
    assert!(
        text(&out.stderr)
            .contains("Successfully generated access token for participant to join the call.")
    );
    let out = create(&["--identity", "a", "--room", "r", "-q"]);
    assert!(
        !text(&out.stderr).contains("Successfully"),
        "{}",
        text(&out.stderr)
    );
    let out = create(&[
        "--join=false",
        "--room-create",
        "--room-list",
        "--ttl",
        "10m",
    ]);
    assert!(
        text(&out.stderr).contains(
            "Successfully generated an API access token (roomCreate, roomList); it joins no room."
        ),
        "{}",
        text(&out.stderr)
    );
    let out = create(&["--identity", "a", "--room", "r", "--token-only"]);
    assert_eq!(text(&out.stdout).lines().count(), 1);
    assert!(!text(&out.stderr).contains("Successfully"));
}

#[test]
fn the_doctor_warns_about_a_long_life_and_a_token_that_grants_nothing() {
    let out = create(&["--identity", "a", "--room", "r", "--ttl", "48h"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out.stderr).contains("the token lives 2 d, over a day"),
        "{}",
        text(&out.stderr)
    );
    let out = create(&["--join=false"]);
    assert!(
        text(&out.stderr).contains("joins nothing (no video.roomJoin) and grants nothing"),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("joins no room and grants nothing"));
    let out = create(&["--identity", "a", "--room", "r", "--ttl", "1h"]);
    assert!(
        !text(&out.stderr).contains("warning"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn lk_spellings_and_hints() {
    // --valid-for is --ttl.
    let j = json(&create(&[
        "--identity",
        "a",
        "--room",
        "r",
        "--valid-for",
        "10m",
        "--json",
        "--now",
        "1800000000",
    ]));
    assert_eq!(j["expires_at"], 1_800_000_600);
    // --grant merges into the video grant; the flags win.
    let j = json(&create(&[
        "--identity",
        "a",
        "--room",
        "r",
        "--json",
        "--grant",
        r#"{"canPublish":false,"hidden":true}"#,
        "--can-publish=true",
    ]));
    assert_eq!(j["claims"]["video"]["canPublish"], true);
    assert_eq!(j["claims"]["video"]["hidden"], true);
    let out = create(&[
        "--identity",
        "a",
        "--room",
        "r",
        "--grant",
        r#"{"canPublsh":false}"#,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("did you mean \"canPublish\"?"),
        "{}",
        text(&out.stderr)
    );
    // A switch's value given apart.
    let out = create(&["--identity", "a", "--room", "r", "--can-publish", "true"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("write --can-publish=true"),
        "{}",
        text(&out.stderr)
    );
    // Sources as people write lists, a repeated one once.
    let j = json(&create(&[
        "--identity",
        "a",
        "--room",
        "r",
        "--json",
        "--allow-source",
        "camera, microphone,camera",
    ]));
    assert_eq!(
        j["claims"]["video"]["canPublishSources"],
        serde_json::json!(["camera", "microphone"])
    );
}

#[test]
fn room_names_and_timeouts_are_checked_before_any_request() {
    // Nothing listens on port 1: a request would fail differently.
    let env = [("LIVEKIT_URL", "http://127.0.0.1:1")];
    let long = "r".repeat(257);
    for (args, says) in [
        (
            vec!["room", "create", "", "--dev"],
            "the room name is empty",
        ),
        (
            vec!["room", "delete", &long, "--dev"],
            "over the server's default limit of 256",
        ),
        (
            vec!["dispatch", "create", "", "--agent", "a", "--dev"],
            "the room name is empty",
        ),
        (
            vec!["room", "create", "r", "--empty-timeout", "soon", "--dev"],
            "--empty-timeout",
        ),
        (
            vec![
                "room",
                "create",
                "r",
                "--departure-timeout",
                "1.5s",
                "--dev",
            ],
            "not whole seconds",
        ),
    ] {
        let out = roomkey(&args, &env, None);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(!err.contains("cannot reach"), "{args:?}: {err}");
    }
}

/// The example block at the end of a command's help, as printed `COLUMNS` wide.
fn examples_at(command: &[&str], columns: usize) -> String {
    let mut args = command.to_vec();
    args.push("--help");
    let out = roomkey(&args, &[("COLUMNS", &columns.to_string())], None);
    assert!(
        out.status.success(),
        "{command:?} --help: {}",
        text(&out.stderr)
    );
    let help = text(&out.stdout);
    let start = help
        .find("\nExample")
        .unwrap_or_else(|| panic!("{command:?}: no examples in\n{help}"));
    help[start + 1..].to_owned()
}

/// The words of one shell command line: blanks separate, quotes group (no escapes, and
/// `$VAR` stays as written, which is all the examples use).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut quote = None;
    for c in line.chars() {
        match (quote, c) {
            (None, ' ') => words.extend(word.take()),
            (None, '\'' | '"') => {
                quote = Some(c);
                word.get_or_insert_with(String::new);
            }
            (Some(q), c) if c == q => quote = None,
            (_, c) => word.get_or_insert_with(String::new).push(c),
        }
    }
    assert!(quote.is_none(), "an unclosed quote in {line}");
    words.extend(word);
    words
}

/// The commands of an example block, continuation lines (after `\` or `|`) joined.
fn example_commands(block: &str) -> Vec<String> {
    let mut commands: Vec<String> = Vec::new();
    let mut continued = false;
    for line in block.lines().skip(1) {
        let line = line.trim();
        if continued {
            let last = commands.last_mut().expect("a command to continue");
            last.push(' ');
            last.push_str(line.trim_end_matches('\\').trim_end());
        } else if line.starts_with("roomkey ") || line.starts_with("printf ") {
            commands.push(line.trim_end_matches('\\').trim_end().to_owned());
        } else {
            // A caption; a flag here would be a command line that lost its continuation.
            assert!(!line.starts_with('-'), "a flag outside a command: {line:?}");
        }
        continued = line.ends_with('\\') || line.ends_with('|');
    }
    assert!(!continued, "the last example ends with a continuation");
    commands
}

#[test]
fn help_examples_are_printed_as_written_at_any_width_and_parse() {
    let with_examples: [&[&str]; 7] = [
        &["token", "create"],
        &["token", "batch"],
        &["token", "inspect"],
        &["dispatch", "create"],
        &["webhook", "listen"],
        &["webhook", "send"],
        &["webhook", "verify"],
    ];
    for command in with_examples {
        // Captions may wrap; the commands must not.
        let wide = examples_at(command, 300);
        let commands = example_commands(&wide);
        assert!(
            !commands.is_empty(),
            "{command:?}: no example commands in\n{wide}"
        );
        for columns in [10, 39, 40, 41, 57, 80, 100] {
            assert_eq!(
                example_commands(&examples_at(command, columns)),
                commands,
                "{command:?}: the example commands change at {columns} columns"
            );
        }
        for example in commands {
            for part in example.split(" | ") {
                let mut words = shell_words(part);
                if words.first().map(String::as_str) != Some("roomkey") {
                    continue;
                }
                if let Some(redirect) = words.iter().position(|w| w == ">") {
                    words.truncate(redirect);
                }
                // clap parses every word before it acts on --help, so a misspelt flag or a
                // value of the wrong kind fails here.
                words.push("--help".into());
                let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
                let out = roomkey(&args, &[], None);
                assert!(
                    out.status.success(),
                    "the example {example:?} does not parse: {}",
                    text(&out.stderr)
                );
            }
        }
    }
}
