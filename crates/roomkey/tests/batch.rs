//! `roomkey token batch`: rows in, tokens out, in input order, checked token by token.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use roomkey_token::{ApiSecret, KeyPair, KeySet, Verifier};
use serde_json::Value;

const KEY: &str = "APIbatch";
const SECRET: &str = "batch-secret-0123456789abcdefghijklmnop";
const NOW: &str = "1800000000";

fn batch(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_roomkey"))
        .args(["token", "batch", "--now", NOW])
        .args(args)
        .env_clear()
        .env("LIVEKIT_API_KEY", KEY)
        .env("LIVEKIT_API_SECRET", SECRET)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn lines(out: &Output) -> Vec<Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn verifier() -> Verifier {
    Verifier::new(KeySet::single(
        KeyPair::new(KEY, &ApiSecret::new(SECRET)).unwrap(),
    ))
}

/// The claims of an output line's token, verified.
fn claims(line: &Value) -> Value {
    let token = line["token"].as_str().unwrap();
    let verified = verifier()
        .verify_at(token, 1_800_000_100)
        .unwrap_or_else(|e| panic!("{e}: {line}"));
    serde_json::from_str(verified.payload()).unwrap()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("roomkey-batch-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn csv_rows_with_per_row_grants_over_the_flags_defaults() {
    let out = batch(
        &["--room", "physics", "--ttl", "2h", "--can-publish=false"],
        "identity,name,can-publish,room\nada,Ada Lovelace,,\ngrace,\"Hopper, Grace\",true,\nalan,,,chemistry\n",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("minted 3 tokens"), "{}", stderr(&out));
    let lines = lines(&out);
    let identities: Vec<&str> = lines
        .iter()
        .map(|l| l["identity"].as_str().unwrap())
        .collect();
    assert_eq!(identities, ["ada", "grace", "alan"]);
    let [ada, grace, alan] = [0, 1, 2].map(|i| claims(&lines[i]));
    assert_eq!(ada["name"], "Ada Lovelace");
    assert_eq!(ada["video"]["canPublish"], false, "the flag's default");
    assert_eq!(grace["name"], "Hopper, Grace");
    assert_eq!(grace["video"]["canPublish"], true, "the row's override");
    assert_eq!(alan["video"]["room"], "chemistry");
    assert_eq!(lines[2]["room"], "chemistry");
    assert_eq!(lines[0]["room"], "physics");
    for (line, c) in lines.iter().zip([&ada, &grace, &alan]) {
        assert_eq!(c["exp"], 1_800_000_000 + 7200);
        assert_eq!(line["expires_at"], c["exp"]);
        assert_eq!(c["video"]["roomJoin"], true);
    }
}

#[test]
fn json_lines_rows_with_attributes_ttl_sources_and_join_links_as_csv() {
    let input = concat!(
        r#"{"identity":"v1","attributes":{"seat":"A1"},"ttl":"10m","allow-source":["camera","microphone","camera"]}"#,
        "\n\n",
        r#"{"identity":"v2","name":"Viewer Two","ttl":600,"metadata":"{\"vip\":true}"}"#,
        "\n"
    );
    let out = batch(
        &[
            "--room",
            "town-hall",
            "--output-format",
            "csv",
            "--join-url",
            "--url",
            "wss://demo.livekit.cloud",
        ],
        input,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    let mut csv = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        csv.headers().unwrap().iter().collect::<Vec<_>>(),
        ["token", "identity", "room", "expires_at", "join_url"]
    );
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    let v1 = claims(&serde_json::json!({"token": &rows[0][0]}));
    assert_eq!(v1["attributes"]["seat"], "A1");
    assert_eq!(v1["exp"], 1_800_000_600);
    assert_eq!(
        v1["video"]["canPublishSources"],
        serde_json::json!(["camera", "microphone"]),
        "a repeated source counts once"
    );
    let v2 = claims(&serde_json::json!({"token": &rows[1][0]}));
    assert_eq!(v2["metadata"], "{\"vip\":true}");
    assert_eq!(&rows[1][3], "1800000600");
    assert_eq!(
        &rows[1][4],
        format!(
            "https://meet.livekit.io/custom?liveKitUrl=wss%3A%2F%2Fdemo.livekit.cloud&token={}",
            &rows[1][0]
        )
    );
}

#[test]
fn a_bad_row_stops_with_its_number_and_leaves_no_file() {
    let dir = scratch("stop");
    let target = dir.join("tokens.jsonl");
    std::fs::write(&target, "the old file\n").unwrap();
    let input = "identity,can-publish\na,true\nb,maybe\nc,false\n";
    let out = batch(
        &["--room", "r", "--output", target.to_str().unwrap()],
        input,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("row 2: can-publish is true or false, not \"maybe\"; no output was written"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "the old file\n");
    assert_eq!(
        files_in(&dir),
        ["tokens.jsonl"],
        "no temporary file is left"
    );

    // A quoted newline is inside its row: the row numbers count records.
    let out = batch(
        &["--room", "r"],
        "identity,name\na,\"two\nlines\"\n,nobody\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("row 2: "), "{}", stderr(&out));
    // JSON Lines count lines, blank ones too.
    let out = batch(
        &["--room", "r"],
        "{\"identity\":\"a\"}\n\n{\"identity\": 7}\n",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("line 3: identity does not take 7"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn skip_invalid_reports_each_bad_row_and_writes_the_rest_in_order() {
    let dir = scratch("skip");
    let target = dir.join("out.jsonl");
    let input = "identity,ttl\na,1h\n,1h\nb,forever\nc,\n";
    let out = batch(
        &[
            "--room",
            "r",
            "--skip-invalid",
            "--output",
            target.to_str().unwrap(),
        ],
        input,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("skipped row 2: "), "{err}");
    assert!(err.contains("skipped row 3: ttl: "), "{err}");
    assert!(err.contains("2 invalid rows skipped"), "{err}");
    let text = std::fs::read_to_string(&target).unwrap();
    let written: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let identities: Vec<&str> = written
        .iter()
        .map(|l| l["identity"].as_str().unwrap())
        .collect();
    assert_eq!(identities, ["a", "c"]);
}

#[test]
fn many_rows_on_several_threads_keep_their_order_and_count() {
    let mut input = String::from("identity,name\n");
    for i in 0..20_000 {
        input.push_str(&format!("user-{i},User {i}\n"));
    }
    let out = batch(&["--room", "big", "--threads", "3", "-q"], &input);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "quiet: {}", stderr(&out));
    let lines = lines(&out);
    assert_eq!(lines.len(), 20_000);
    for (i, line) in lines.iter().enumerate() {
        assert_eq!(line["identity"], format!("user-{i}"));
    }
    // A sample, token by token.
    for line in lines.iter().step_by(997) {
        let c = claims(line);
        assert_eq!(c["sub"], line["identity"]);
        assert_eq!(
            c["name"],
            format!("User {}", &line["identity"].as_str().unwrap()[5..])
        );
        assert_eq!(c["video"]["room"], "big");
    }
}

#[test]
fn an_unknown_column_is_a_usage_error_with_a_suggestion() {
    let out = batch(&[], "identity,canpublsh\na,true\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown column \"canpublsh\"; did you mean \"can-publish\"?"),
        "{}",
        stderr(&out)
    );
    let out = batch(&[], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("starts with a header row"),
        "{}",
        stderr(&out)
    );
}
