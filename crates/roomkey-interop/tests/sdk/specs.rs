//! The token specs of `interop/specs.json`.

use super::*;

#[derive(Debug, Clone)]
pub(crate) struct Spec {
    pub(crate) id: String,
    pub(crate) ttl: u64,
    /// The claims as roomkey serializes them (equal to the file's, which the loader checks).
    pub(crate) json: Value,
}

impl Spec {
    pub(crate) fn claims(&self) -> Claims {
        serde_json::from_value(self.json.clone()).expect("spec claims parse")
    }

    pub(crate) fn has(&self, path: &str) -> bool {
        get_path(&self.json, path).is_some()
    }

    pub(crate) fn with_ttl(&self, ttl: u64) -> Spec {
        Spec {
            ttl,
            ..self.clone()
        }
    }

    /// The spec as the mint scripts take it.
    pub(crate) fn to_input(&self) -> Value {
        json!({"id": self.id, "ttl": self.ttl, "claims": self.json})
    }

    /// The token roomkey mints for this spec.
    pub(crate) fn roomkey_token(&self, now: i64, key: &KeyPair) -> String {
        self.roomkey_builder()
            .sign_at(key, now)
            .unwrap_or_else(|e| panic!("roomkey cannot mint spec {}: {e}", self.id))
    }

    pub(crate) fn roomkey_builder(&self) -> AccessToken {
        AccessToken::from_claims(self.claims()).with_ttl(Duration::from_secs(self.ttl))
    }
}

/// The specs of `interop/specs.json`, each checked to be exactly what roomkey writes back.
pub(crate) fn load_specs() -> Vec<Spec> {
    roomkey_interop::specs::load()
        .into_iter()
        .map(|SpecEntry { id, ttl, claims }| {
            for reserved in ["iss", "exp", "nbf", "iat", "identity"] {
                assert!(
                    claims.get(reserved).is_none(),
                    "spec {id}: {reserved} is set at signing time"
                );
            }
            let parsed: Claims = serde_json::from_value(claims.clone())
                .unwrap_or_else(|e| panic!("spec {id}: not valid claims: {e}"));
            let json = serde_json::to_value(&parsed).expect("claims serialize");
            // roomkey ignores unknown claims on read, so a misspelled spec field would silently
            // vanish: insist that the spec is exactly what roomkey writes back.
            assert_eq!(
                json, claims,
                "spec {id}: claims do not round-trip through roomkey's Claims (misspelled field, or a default value written out?)"
            );
            Spec { id, ttl, json }
        })
        .collect()
}

pub(crate) fn key() -> KeyPair {
    KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).expect("key pair")
}

pub(crate) fn verifier() -> Verifier {
    Verifier::new(KeySet::single(key()))
}

pub(crate) fn now_unix() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("time fits i64")
}
