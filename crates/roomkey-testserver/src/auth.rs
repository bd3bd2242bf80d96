//! The token check, with the `jsonwebtoken` crate (deliberately not roomkey-token, whose tokens
//! are what is being checked).
//!
//! In the real server's order: the `Authorization` header must start with `Bearer `; no token
//! at all is an anonymous request (with no grants); the token is read without verification for
//! its `iss`; the secret is looked up by `iss`; then the token is verified: HS256, `exp` and
//! `nbf` checked when present (v1.13.5 accepts a token without `exp`), 60 s leeway. A failure is
//! a 401 `text/plain` answer with the text the real server (v1.13.5) gives for it. Grants are read
//! as Go reads them into its struct: the keys of `video` case-insensitively.

use std::collections::HashMap;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// What the check made of a request.
#[derive(Debug)]
pub(crate) enum Auth {
    /// No token: the request goes on, with no grants.
    Anonymous,
    /// A verified token's `video` grant (`Null` when it has none).
    Verified(Value),
    /// 401, with this text.
    Rejected(String),
}

impl Auth {
    /// Whether the verified token's video grant sets `grant` to `true`.
    pub(crate) fn allows(&self, grant: &str) -> bool {
        let Auth::Verified(Value::Object(video)) = self else {
            return false;
        };
        video
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(grant))
            .is_some_and(|(_, v)| *v == Value::Bool(true))
    }
}

/// Checks the token of a request with this `Authorization` header (`None` when absent or empty).
pub(crate) fn check(authorization: Option<&str>, keys: &HashMap<String, String>) -> Auth {
    let token = match authorization {
        None => return Auth::Anonymous,
        Some(header) => match header.strip_prefix("Bearer ") {
            Some("") => return Auth::Anonymous,
            Some(token) => token,
            None => {
                return Auth::Rejected(
                    "invalid authorization header. Must start with Bearer ".into(),
                );
            }
        },
    };
    let Ok(unverified) = jsonwebtoken::dangerous::insecure_decode::<Value>(token) else {
        return Auth::Rejected("invalid authorization token".into());
    };
    let iss = unverified.claims["iss"].as_str().unwrap_or_default();
    let Some(secret) = keys.get(iss) else {
        return Auth::Rejected(format!("invalid API key: {iss}"));
    };
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 60;
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    // Secrets are never empty (the configuration refuses them), so this cannot fail.
    let Ok(key) = DecodingKey::from_secret(secret.as_bytes()) else {
        return Auth::Rejected(format!("invalid API key: {iss}"));
    };
    match jsonwebtoken::decode::<Value>(token, &key, &validation) {
        Ok(data) => Auth::Verified(data.claims["video"].clone()),
        Err(e) => Auth::Rejected(format!(
            "invalid token: {token}, error: {}",
            reason(e.kind(), unverified.header.alg)
        )),
    }
}

/// golang-jwt's words for a verification failure, as the real server passes them on.
fn reason(kind: &ErrorKind, alg: Algorithm) -> String {
    match kind {
        ErrorKind::InvalidSignature => "token signature is invalid: signature is invalid".into(),
        ErrorKind::InvalidAlgorithm => {
            format!("token signature is invalid: signing method {alg:?} is invalid")
        }
        ErrorKind::ExpiredSignature => "token has invalid claims: token is expired".into(),
        ErrorKind::ImmatureSignature => "token has invalid claims: token is not valid yet".into(),
        ErrorKind::MissingRequiredClaim(claim) => format!(
            "token has invalid claims: token is missing required claim: {claim} claim is required"
        ),
        other => format!("token is malformed: {other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    fn keys() -> HashMap<String, String> {
        HashMap::from([("APIk".to_owned(), "the-secret".to_owned())])
    }

    fn now() -> i64 {
        i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap()
    }

    fn sign(claims: &Value, secret: &str) -> String {
        let key = EncodingKey::from_secret(secret.as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &key).unwrap()
    }

    fn bearer(token: &str) -> String {
        format!("Bearer {token}")
    }

    #[test]
    fn a_good_token_gives_its_video_grant() {
        let t = sign(
            &json!({"iss": "APIk", "exp": now() + 60, "nbf": now(), "video": {"roomList": true}}),
            "the-secret",
        );
        let auth = check(Some(&bearer(&t)), &keys());
        assert!(auth.allows("roomList"), "{auth:?}");
        assert!(!auth.allows("roomCreate"));
        // Go's reading: keys match in any case.
        let t = sign(
            &json!({"iss": "APIk", "exp": now() + 60, "video": {"RoomCreate": true, "ROOMLIST": false}}),
            "the-secret",
        );
        let auth = check(Some(&bearer(&t)), &keys());
        assert!(
            auth.allows("roomCreate") && !auth.allows("roomList"),
            "{auth:?}"
        );
    }

    #[test]
    fn failures_have_the_real_servers_texts() {
        let claims = json!({"iss": "APIk", "exp": now() + 60});
        let rejected = |header: &str| match check(Some(header), &keys()) {
            Auth::Rejected(text) => text,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            rejected("Basic x"),
            "invalid authorization header. Must start with Bearer "
        );
        assert_eq!(rejected("Bearer garbage"), "invalid authorization token");
        let unknown = sign(&json!({"iss": "APIx", "exp": now() + 60}), "the-secret");
        assert_eq!(rejected(&bearer(&unknown)), "invalid API key: APIx");
        let wrong = sign(&claims, "another-secret");
        assert_eq!(
            rejected(&bearer(&wrong)),
            format!(
                "invalid token: {wrong}, error: token signature is invalid: signature is invalid"
            )
        );
        let expired = sign(&json!({"iss": "APIk", "exp": now() - 120}), "the-secret");
        assert!(
            rejected(&bearer(&expired))
                .ends_with("error: token has invalid claims: token is expired")
        );
        let early = sign(
            &json!({"iss": "APIk", "exp": now() + 600, "nbf": now() + 300}),
            "the-secret",
        );
        assert!(rejected(&bearer(&early)).ends_with("token is not valid yet"));
        let hs384 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS384),
            &claims,
            &EncodingKey::from_secret(b"the-secret").unwrap(),
        )
        .unwrap();
        assert!(rejected(&bearer(&hs384)).ends_with("signing method HS384 is invalid"));
        // Without `exp`, or within the leeway: accepted.
        let no_exp = sign(&json!({"iss": "APIk"}), "the-secret");
        assert!(matches!(
            check(Some(&bearer(&no_exp)), &keys()),
            Auth::Verified(_)
        ));
        let late = sign(&json!({"iss": "APIk", "exp": now() - 30}), "the-secret");
        assert!(matches!(
            check(Some(&bearer(&late)), &keys()),
            Auth::Verified(_)
        ));
    }

    #[test]
    fn no_token_is_anonymous() {
        assert!(matches!(check(None, &keys()), Auth::Anonymous));
        assert!(matches!(check(Some("Bearer "), &keys()), Auth::Anonymous));
        assert!(!check(None, &keys()).allows("roomList"));
    }
}
