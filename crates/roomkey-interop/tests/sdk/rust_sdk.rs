//! The Rust SDK, in-process.

use super::*;

/// Deserializes a grant object into the SDK's type and checks that nothing was dropped on the
/// way (the SDK's serde ignores unknown keys): its own serialization must give the object back.
pub(crate) fn sdk_grant<T: serde::de::DeserializeOwned + serde::Serialize>(
    spec: &str,
    key: &str,
    v: &Value,
) -> T {
    let grant: T = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("spec {spec}: {key} does not fit the Rust SDK's type: {e}"));
    assert_eq!(
        &serde_json::to_value(&grant).expect("grant serializes"),
        v,
        "spec {spec}: the Rust SDK's {key} type cannot hold the whole grant"
    );
    grant
}

/// Mints the spec with the Rust SDK's `AccessToken` builder (real clock, as it only has).
/// Returns the token and the claim paths it could not express.
pub(crate) fn rust_sdk_mint(spec: &Spec) -> (String, Vec<String>) {
    let id = spec.id.as_str();
    let mut unsupported = Vec::new();
    let mut token =
        lk::AccessToken::with_api_key(API_KEY, API_SECRET).with_ttl(Duration::from_secs(spec.ttl));
    let str_of = |v: &Value| v.as_str().expect("a string claim").to_owned();
    for (k, v) in spec.json.as_object().expect("claims object") {
        token = match k.as_str() {
            "sub" => token.with_identity(&str_of(v)),
            "name" => token.with_name(&str_of(v)),
            "kind" => token.with_kind(&str_of(v)),
            "metadata" => token.with_metadata(&str_of(v)),
            "sha256" => token.with_sha256(&str_of(v)),
            "attributes" => token.with_attributes(
                v.as_object()
                    .expect("attributes object")
                    .iter()
                    .map(|(k, v)| (k.clone(), str_of(v))),
            ),
            "video" => {
                let mut v = v.clone();
                for field in ["canSubscribeMetrics", "canManageAgentSession"] {
                    if remove_path(&mut v, field) {
                        unsupported.push(format!("video.{field}"));
                    }
                }
                token.with_grants(sdk_grant::<lk::VideoGrants>(id, k, &v))
            }
            "sip" => token.with_sip_grants(sdk_grant::<lk::SIPGrants>(id, k, v)),
            "agent" => token.with_agent_grants(sdk_grant::<lk::AgentGrants>(id, k, v)),
            "agentEndpoint" => {
                token.with_agent_endpoint_grants(sdk_grant::<lk::AgentEndpointGrants>(id, k, v))
            }
            "agentThread" => {
                token.with_agent_thread_grants(sdk_grant::<lk::AgentThreadGrants>(id, k, v))
            }
            "inference" => token.with_inference_grants(sdk_grant::<lk::InferenceGrants>(id, k, v)),
            "observability" => {
                token.with_observability_grants(sdk_grant::<lk::ObservabilityGrants>(id, k, v))
            }
            "roomConfig" => token.with_room_config(
                serde_json::from_value::<livekit_protocol::RoomConfiguration>(v.clone())
                    .unwrap_or_else(|e| panic!("spec {id}: roomConfig: {e}")),
            ),
            "kindDetails" | "roomPreset" => {
                unsupported.push(k.clone());
                token
            }
            other => panic!("spec {id}: claim {other} is not known to this test"),
        };
    }
    let jwt = token
        .to_jwt()
        .unwrap_or_else(|e| panic!("the Rust SDK cannot mint spec {id}: {e}"));
    unsupported.sort();
    (jwt, unsupported)
}

/// The Rust SDK's token for the spec with fixed `nbf` and `exp`. The SDK has no clock
/// injection, so this mints with its builder, decodes the claims with the SDK's own
/// `Claims::from_unverified`, sets the times and signs them exactly as `AccessToken::to_jwt`
/// does (`jsonwebtoken::encode` with `Header::new(HS256)` and the secret's bytes).
pub(crate) fn rust_sdk_mint_at(spec: &Spec, nbf: i64, exp: i64) -> (String, Vec<String>) {
    let (live, unsupported) = rust_sdk_mint(spec);
    let mut claims = lk::Claims::from_unverified(&live).expect("the SDK reads its own token");
    let sign = |claims: &lk::Claims| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            claims,
            &jsonwebtoken::EncodingKey::from_secret(API_SECRET.as_bytes()),
        )
        .expect("jsonwebtoken signs")
    };
    // The re-signing path is faithful: at the original times it gives the same payload.
    assert_eq!(
        payload_json(&sign(&claims)),
        payload_json(&live),
        "spec {}: the Rust SDK's claims do not round-trip",
        spec.id
    );
    claims.nbf = usize::try_from(nbf).expect("nbf fits");
    claims.exp = usize::try_from(exp).expect("exp fits");
    (sign(&claims), unsupported)
}
