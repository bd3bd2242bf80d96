//! Running the Node and Python scripts and the Go helper.

use super::*;

/// Longest one helper run may take (all the specs at once take a few seconds).
pub(crate) const HELPER_WITHIN: Duration = Duration::from_secs(300);

/// A helper program and its arguments: `node interop/node/mint.mjs`,
/// `python interop/python/verify.py`, `roomkey-go-ref decode`, ….
pub(crate) struct Helper {
    pub(crate) program: PathBuf,
    pub(crate) args: Vec<OsString>,
}

impl Helper {
    /// The helper that does `action` (`mint`, `verify`; Go also `decode`) for `sdk`. A missing
    /// SDK or Go helper panics here with the setup hint.
    pub(crate) fn new(sdk: Sdk, action: &str) -> Helper {
        let script =
            |dir: &str, ext: &str| vec![interop_dir().join(format!("{dir}/{action}.{ext}")).into()];
        match sdk {
            Sdk::Node => Helper {
                program: node_program(),
                args: script("node", "mjs"),
            },
            Sdk::Python => Helper {
                program: python_program(),
                args: script("python", "py"),
            },
            // Panics with `bash interop/setup.sh` as the fix when the helper is not built.
            Sdk::Go => Helper {
                program: roomkey_interop::paths::go_helper_binary(),
                args: vec![action.into()],
            },
            Sdk::Rust => unreachable!("the Rust SDK runs in-process"),
        }
    }

    pub(crate) fn describe(&self) -> String {
        let args: Vec<_> = self.args.iter().map(|a| a.to_string_lossy()).collect();
        format!("{} {}", self.program.display(), args.join(" "))
    }

    pub(crate) fn run(&self, input: &Value) -> Value {
        self.run_text(serde_json::to_string(input).expect("input serializes"))
    }

    /// Like [`Helper::run`], with the input as text (to control its key order).
    pub(crate) fn run_text(&self, input: String) -> Value {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args).current_dir(interop_dir());
        run_json(cmd, input.as_bytes(), HELPER_WITHIN, &self.describe())
    }
}

/// One token from a mint helper, for the spec at the same place (the order is checked).
#[derive(Debug)]
pub(crate) struct Minted {
    pub(crate) token: String,
    pub(crate) unsupported: Vec<String>,
}

/// Runs `sdk`'s helper for `action` on `input`, with the interop key added, in one process, and
/// checks that it answered once for each entry of the list `input[entries]`, in order (by `id`).
pub(crate) fn run_per_entry(sdk: Sdk, action: &str, mut input: Value, entries: &str) -> Vec<Value> {
    input["apiKey"] = json!(API_KEY);
    input["apiSecret"] = json!(API_SECRET);
    let out = Helper::new(sdk, action).run(&input);
    let out = out.as_array().expect("helper output is an array");
    let sent = input[entries].as_array().expect("a list of entries");
    let what = format!("{} {action}", sdk.name());
    assert_eq!(out.len(), sent.len(), "{what}: one answer per entry");
    for (answer, entry) in out.iter().zip(sent) {
        assert_eq!(answer["id"], entry["id"], "{what}: order kept");
    }
    out.clone()
}

/// Mints every spec with the Node or Python SDK or Go, in one process; `now` pins its clock.
pub(crate) fn script_mint(sdk: Sdk, specs: &[Spec], now: Option<i64>) -> Vec<Minted> {
    let specs: Vec<Value> = specs.iter().map(Spec::to_input).collect();
    run_per_entry(sdk, "mint", json!({"now": now, "specs": specs}), "specs")
        .iter()
        .map(|m| Minted {
            token: m["token"].as_str().expect("token").to_owned(),
            unsupported: m["unsupported"]
                .as_array()
                .expect("unsupported list")
                .iter()
                .map(|p| p.as_str().expect("path").to_owned())
                .collect(),
        })
        .collect()
}

/// One helper's answer on one token: what it decoded, or its error message.
pub(crate) type Answer = Result<Value, String>;

/// Runs a helper's `verify` (or Go's `decode`) over named tokens, in one process. Returns, per
/// token, the whole success record, or the error message.
pub(crate) fn script_records<S: AsRef<str>>(
    sdk: Sdk,
    action: &str,
    tokens: &[(S, String)],
) -> Vec<Answer> {
    let tokens: Vec<Value> = tokens
        .iter()
        .map(|(id, token)| json!({"id": id.as_ref(), "token": token}))
        .collect();
    run_per_entry(sdk, action, json!({ "tokens": tokens }), "tokens")
        .into_iter()
        .map(|r| {
            if r["ok"] == true {
                Ok(r)
            } else {
                Err(r["error"].as_str().unwrap_or("(no message)").to_owned())
            }
        })
        .collect()
}

/// Verifies tokens with the Node or Python SDK's TokenVerifier or Go's `ParseAPIToken` +
/// `Verify`, in one process. Returns, per token, the SDK's claims or its error message (for Go:
/// the `ClaimGrants`, as protocol's JSON).
pub(crate) fn script_verify<S: AsRef<str>>(sdk: Sdk, tokens: &[(S, String)]) -> Vec<Answer> {
    script_records(sdk, "verify", tokens)
        .into_iter()
        .map(|r| r.map(|r| r["claims"].clone()))
        .collect()
}

/// What the Node, Python and Go verifiers make of the same named tokens, each run once over all
/// of them: Node's and Python's decoded claims, Go's whole verify record (its `ClaimGrants`,
/// the registered claims and the effective permissions, see [`go_meaning`]), or each one's
/// error message; one entry per token, in order.
pub(crate) struct ScriptVerdicts {
    pub(crate) node: Vec<Answer>,
    pub(crate) python: Vec<Answer>,
    pub(crate) go: Vec<Answer>,
}

impl ScriptVerdicts {
    pub(crate) fn of<S: AsRef<str>>(tokens: &[(S, String)]) -> ScriptVerdicts {
        ScriptVerdicts {
            node: script_verify(Sdk::Node, tokens),
            python: script_verify(Sdk::Python, tokens),
            go: script_records(Sdk::Go, "verify", tokens),
        }
    }

    /// Per token: Node's, Python's and Go's verdicts.
    pub(crate) fn per_token(self) -> impl Iterator<Item = (Answer, Answer, Answer)> {
        self.node
            .into_iter()
            .zip(self.python)
            .zip(self.go)
            .map(|((node, python), go)| (node, python, go))
    }
}
