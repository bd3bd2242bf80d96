//! roomkey-server's fuzz targets' bodies, shared by the cargo-fuzz binaries
//! (`fuzz/fuzz_targets/*.rs`; `fuzz/src/lib.rs` includes this file) and by the stable smoke run
//! (`tests/integration/fuzz_smoke.rs`). Only crates that `roomkey-server` depends on (or its
//! tests do) are used here. Each target's properties are at the top of its module:
//! - `config`: the configuration file;
//! - `token_endpoint`: the JSON body of both token endpoints;
//! - `headers`: the `Authorization`, `X-Forwarded-For` and `Content-Type` headers;
//! - `oidc`: a session JWT from an identity provider;
//! - `jwks`: the identity provider's key set.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderName, HeaderValue, Request, StatusCode};
use roomkey_server::{App, AuditLog, Config, EnvOverrides};
use roomkey_token::{ApiSecret, Claims, KeyPair, KeySet, Verifier};
use tower::ServiceExt as _;

mod config;
mod headers;
mod jwks;
mod oidc;
mod token_endpoint;

pub use config::config;
pub use headers::headers;
pub use jwks::jwks;
pub use oidc::oidc;
#[allow(unused_imports)] // for the smoke test; the fuzz crate runs only the target
pub use oidc::{oidc_expired_within_leeway, oidc_seeds, oidc_tokens_issued};
pub use token_endpoint::{endpoint_config, token_endpoint};

/// The LiveKit key the server signs with.
pub const API_KEY: &str = "APIfuzz";
/// Its secret.
pub const API_SECRET: &str = "fuzz-secret-0123456789abcdefghijklmn";
/// The caller's key (its SHA-256 is in the configurations).
pub const CALLER_KEY: &str = "rk_fuzz_caller_Qw3Er5Ty7Ui9Op1A";

fn env() -> EnvOverrides {
    EnvOverrides {
        api_key: Some(API_KEY.into()),
        api_secret: Some(API_SECRET.into()),
        ..EnvOverrides::default()
    }
}

fn unix_now() -> i64 {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_secs()).expect("before the year 292 billion")
}

/// A router of one configuration, with a runtime to drive it and a verifier for its tokens.
struct Endpoint {
    runtime: tokio::runtime::Runtime,
    router: Router,
    verifier: Verifier,
}

impl Endpoint {
    fn new(config_text: &str) -> Endpoint {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let config = Config::parse("fuzz.toml", config_text, &env(), None)
            .expect("the target's configuration");
        let router = runtime.block_on(async {
            let app: Arc<App> = App::with_audit_log(config, AuditLog::Events).expect("app");
            roomkey_server::router(app)
        });
        let key = KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).expect("key");
        Endpoint {
            runtime,
            router,
            verifier: Verifier::new(KeySet::single(key)),
        }
    }

    /// POSTs `body` to `path` with `headers`, and returns the status and the body.
    fn post(
        &self,
        path: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: &[u8],
    ) -> (StatusCode, Bytes) {
        let mut req = Request::post(path);
        for (name, value) in headers {
            req = req.header(name, value);
        }
        let req = req.body(Body::from(body.to_vec())).expect("a request");
        self.runtime.block_on(async {
            let response = self.router.clone().oneshot(req).await.expect("infallible");
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .expect("body");
            (status, body)
        })
    }

    /// The claims of the token in a 2xx answer of `path`, which must verify.
    fn issued(&self, path: &str, body: &[u8]) -> Claims {
        let answer: serde_json::Value = serde_json::from_slice(body).expect("a JSON answer");
        let token = ["participant_token", "token"]
            .iter()
            .find_map(|k| answer.get(*k).and_then(serde_json::Value::as_str))
            .unwrap_or_else(|| panic!("{path}: no token in {answer}"));
        self.verifier
            .verify_at(token, unix_now())
            .unwrap_or_else(|err| panic!("{path}: the token does not verify: {err}"))
            .claims
    }
}
