//! The API-key auth middleware of `livekit/livekit pkg/service/auth.go`, on top of roomkey's
//! verifier.
//!
//! Steps, in the server's order: the `Authorization` header must start with `Bearer `; without
//! a header the `access_token` form or query value is used; an empty token is an anonymous
//! request; the token is parsed *without* verification to read `iss`; the secret is looked up
//! by `iss`; then the token is verified (HS256, `exp` required, 60 s leeway). Every failure is a
//! 401 with a text/plain body.
//!
//! The grants are then read from the verified payload the way Go's `encoding/json` reads them:
//! keys match case-insensitively (`RoomCreate` works, `room_create` does not), the last
//! duplicate wins, and `null` leaves a value unchanged.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use roomkey_token::{Claims, KeySet, Verifier, VerifyError};

use crate::pjson::{self, Json};

/// The part of the video grant that RoomService looks at, as the server reads it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoomGrants {
    /// `video.roomCreate`.
    pub room_create: bool,
    /// `video.roomList`.
    pub room_list: bool,
    /// `video.roomAdmin`.
    pub room_admin: bool,
    /// `video.room`.
    pub room: String,
    /// `video.destinationRoom`.
    pub destination_room: String,
}

/// The outcome of the auth middleware for one request.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AuthOutcome {
    /// No token (no header, empty `Bearer `, no `access_token`): the request goes on with no
    /// grants.
    Anonymous,
    /// The token verified.
    Verified {
        /// The API key (`iss`) whose secret verified it.
        api_key: String,
        /// The claims as roomkey models them.
        claims: Box<Claims>,
        /// The payload JSON exactly as signed.
        payload: String,
        /// The decoded JOSE header JSON.
        header: String,
        /// The video grant as the server reads it; `None` when there is no `video` object.
        video: Option<RoomGrants>,
    },
    /// The middleware answered 401 text/plain with this body.
    Rejected(String),
}

impl AuthOutcome {
    /// The video grant, if the request carried a verified token with one.
    pub fn video(&self) -> Option<&RoomGrants> {
        match self {
            AuthOutcome::Verified { video, .. } => video.as_ref(),
            _ => None,
        }
    }
}

pub(crate) const ERR_MISSING_AUTHORIZATION: &str =
    "invalid authorization header. Must start with Bearer ";
pub(crate) const ERR_INVALID_TOKEN: &str = "invalid authorization token";
pub(crate) const ERR_INVALID_API_KEY: &str = "invalid API key";

/// What a request offers for authentication.
#[derive(Debug, Default)]
pub(crate) struct Credentials<'a> {
    /// The first `Authorization` header value (`None` if absent or empty, as Go's
    /// `Header.Get` cannot tell those apart).
    pub(crate) authorization: Option<&'a str>,
    /// The raw query string.
    pub(crate) query: Option<&'a str>,
    /// The body, when it is a url-encoded form of a POST/PUT/PATCH.
    pub(crate) form_body: Option<&'a [u8]>,
}

/// The token a request presents, without checking it (for the request log of requests that
/// never reach the middleware).
pub(crate) fn presented_token(authorization: Option<&str>, query: Option<&str>) -> Option<String> {
    match authorization {
        Some(h) => h.strip_prefix("Bearer ").map(str::to_owned),
        None => query.and_then(|q| lookup_form(q, "access_token")),
    }
    .filter(|t| !t.is_empty())
}

/// Runs the middleware. Returns the outcome (a rejection is answered 401 text/plain with its
/// text) and the token that was presented, if any.
pub(crate) fn authenticate(
    creds: &Credentials<'_>,
    keys: &KeySet,
    verifier: &Verifier,
    now: i64,
) -> (AuthOutcome, Option<String>) {
    let token = match creds.authorization {
        Some(h) => match h.strip_prefix("Bearer ") {
            Some(t) => t.to_owned(),
            None => {
                return (
                    AuthOutcome::Rejected(ERR_MISSING_AUTHORIZATION.into()),
                    None,
                );
            }
        },
        None => form_value(creds.form_body, creds.query, "access_token").unwrap_or_default(),
    };
    if token.is_empty() {
        return (AuthOutcome::Anonymous, None);
    }
    let outcome = verify(&token, keys, verifier, now);
    (outcome, Some(token))
}

fn verify(token: &str, keys: &KeySet, verifier: &Verifier, now: i64) -> AuthOutcome {
    let Some(unverified) = parse_unverified(token) else {
        return AuthOutcome::Rejected(ERR_INVALID_TOKEN.into());
    };
    if keys.get(&unverified.iss).is_none() {
        return AuthOutcome::Rejected(ERR_INVALID_API_KEY.into());
    }
    let verified = match verifier.verify_at(token, now) {
        Ok(v) => v,
        Err(e) => {
            return AuthOutcome::Rejected(match go_jwt_error(&e) {
                Some(text) => format!("{ERR_INVALID_TOKEN}: {text}"),
                None => ERR_INVALID_API_KEY.to_owned(),
            });
        }
    };
    let payload_json = pjson::parse_document(verified.payload().as_bytes()).unwrap_or(Json::Null);
    let video = match read_video_grant(&payload_json) {
        Ok(v) => v,
        Err(detail) => {
            return AuthOutcome::Rejected(format!(
                "{ERR_INVALID_TOKEN}: token is malformed: could not JSON decode claim: {detail}"
            ));
        }
    };
    AuthOutcome::Verified {
        api_key: unverified.iss,
        claims: Box::new(verified.claims.clone()),
        payload: verified.payload().to_owned(),
        header: unverified.header,
        video,
    }
}

/// The golang-jwt v5 text for a verification failure (`None`: a key problem).
fn go_jwt_error(e: &VerifyError) -> Option<String> {
    Some(match e {
        VerifyError::BadSignature => "token signature is invalid: signature is invalid".into(),
        VerifyError::UnsupportedAlgorithm { found } => {
            format!("token signature is invalid: signing method {found} is invalid")
        }
        VerifyError::MissingExpiry => {
            "token has invalid claims: token is missing required claim: exp claim is required"
                .into()
        }
        VerifyError::Expired { .. } => "token has invalid claims: token is expired".into(),
        VerifyError::NotYetValid { .. } => {
            "token has invalid claims: token is not valid yet".into()
        }
        VerifyError::ClaimsJson { detail } => {
            format!("token is malformed: could not JSON decode claim: {detail}")
        }
        VerifyError::UnknownKey { .. } | VerifyError::MissingIssuer => return None,
        other => format!("token is malformed: {other}"),
    })
}

struct Unverified {
    iss: String,
    header: String,
}

/// golang-jwt's `ParseUnverified` into `RegisteredClaims`: three segments, a JSON header whose
/// `alg` names a known method, and a JSON payload whose registered claims have the right types.
fn parse_unverified(token: &str) -> Option<Unverified> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(_s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    let lenient = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_encode_padding(false)
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
            .with_decode_allow_trailing_bits(true),
    );
    let header_bytes = lenient.decode(h).ok()?;
    let header = pjson::parse_document(&header_bytes)?;
    let Json::Obj(members) = &header else {
        return None;
    };
    // Go reads the header into map[string]interface{}: the last duplicate wins, exact key.
    let alg = members
        .iter()
        .rev()
        .find(|(k, _)| k == "alg")
        .map(|(_, v)| v);
    let Some(Json::Str(alg)) = alg else {
        return None;
    };
    const KNOWN: &[&str] = &[
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256",
        "PS384", "PS512", "EdDSA", "none",
    ];
    if !KNOWN.contains(&alg.as_str()) {
        return None;
    }
    let payload_bytes = lenient.decode(p).ok()?;
    let payload = pjson::parse_document(&payload_bytes)?;
    let iss = match &payload {
        Json::Null => String::new(),
        Json::Obj(members) => registered_claims_iss(members)?,
        _ => return None,
    };
    Some(Unverified {
        iss,
        header: String::from_utf8_lossy(&header_bytes).into_owned(),
    })
}

/// Type-checks the registered claims as Go's `encoding/json` would decode them into
/// `jwt.RegisteredClaims` (case-insensitive keys, last one wins) and returns `iss`.
fn registered_claims_iss(members: &[(String, Json)]) -> Option<String> {
    let mut iss = String::new();
    for (k, v) in members {
        let k = k.to_ascii_lowercase();
        match k.as_str() {
            "iss" | "sub" | "jti" => match v {
                Json::Str(s) => {
                    if k == "iss" {
                        iss.clone_from(s);
                    }
                }
                Json::Null => {}
                _ => return None,
            },
            "exp" | "nbf" | "iat" => match v {
                Json::Num(_) | Json::Null => {}
                Json::Str(s) if s.parse::<f64>().is_ok() => {}
                _ => return None,
            },
            "aud" => match v {
                Json::Str(_) | Json::Null => {}
                Json::Arr(items) if items.iter().all(|i| matches!(i, Json::Str(_))) => {}
                _ => return None,
            },
            _ => {}
        }
    }
    Some(iss)
}

/// Reads `video` the way Go decodes it into `*VideoGrant`: case-insensitive keys, later keys
/// overwrite (and merge into) earlier ones, `null` resets the pointer or leaves a scalar alone.
fn read_video_grant(payload: &Json) -> Result<Option<RoomGrants>, String> {
    let Json::Obj(top) = payload else {
        return Ok(None);
    };
    let mut video: Option<RoomGrants> = None;
    for (k, v) in top {
        if !k.eq_ignore_ascii_case("video") {
            continue;
        }
        match v {
            Json::Null => video = None,
            Json::Obj(fields) => {
                let g = video.get_or_insert_with(RoomGrants::default);
                for (fk, fv) in fields {
                    let fk_lower = fk.to_ascii_lowercase();
                    let target_bool = match fk_lower.as_str() {
                        "roomcreate" => Some(&mut g.room_create),
                        "roomlist" => Some(&mut g.room_list),
                        "roomadmin" => Some(&mut g.room_admin),
                        _ => None,
                    };
                    if let Some(slot) = target_bool {
                        match fv {
                            Json::Bool(b) => *slot = *b,
                            Json::Null => {}
                            other => {
                                return Err(format!(
                                    "json: cannot unmarshal {} into Go struct field VideoGrant.video.{fk} of type bool",
                                    go_type(other)
                                ));
                            }
                        }
                        continue;
                    }
                    let target_str = match fk_lower.as_str() {
                        "room" => Some(&mut g.room),
                        "destinationroom" => Some(&mut g.destination_room),
                        _ => None,
                    };
                    if let Some(slot) = target_str {
                        match fv {
                            Json::Str(s) => slot.clone_from(s),
                            Json::Null => {}
                            other => {
                                return Err(format!(
                                    "json: cannot unmarshal {} into Go struct field VideoGrant.video.{fk} of type string",
                                    go_type(other)
                                ));
                            }
                        }
                    }
                }
            }
            other => {
                return Err(format!(
                    "json: cannot unmarshal {} into Go struct field ClaimGrants.video of type auth.VideoGrant",
                    go_type(other)
                ));
            }
        }
    }
    Ok(video)
}

fn go_type(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Num(_) => "number",
        Json::Str(_) => "string",
        Json::Arr(_) => "array",
        Json::Obj(_) => "object",
    }
}

/// Go's `Request.FormValue`: the url-encoded body's value first, then the query's.
fn form_value(body: Option<&[u8]>, query: Option<&str>, key: &str) -> Option<String> {
    if let Some(body) = body {
        if let Some(v) = lookup_form(&String::from_utf8_lossy(body), key) {
            return Some(v);
        }
    }
    query.and_then(|q| lookup_form(q, key))
}

fn lookup_form(encoded: &str, key: &str) -> Option<String> {
    encoded
        .split('&')
        .filter(|pair| !pair.is_empty())
        .find_map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (form_decode(k)? == key).then(|| form_decode(v))?
        })
}

/// Form decoding (`+` is a space). `None` on a bad escape (Go drops the pair) or invalid UTF-8.
fn form_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return None;
                }
                out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Decodes a JWT's header without checking anything (for the request log).
pub(crate) fn decode_segment(seg: &str) -> Option<String> {
    URL_SAFE_NO_PAD
        .decode(seg)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use roomkey_token::{ApiSecret, KeyPair};

    use super::*;

    const T1: &str = "eyJhbGciOiJIUzI1NiJ9.eyJ2aWRlbyI6eyJyb29tQ3JlYXRlIjp0cnVlfSwiaXNzIjoiZGV2a2V5IiwiZXhwIjo0MTAyNDQ0ODAwLCJuYmYiOjE3MDAwMDAwMDB9.LIlIPiiyBx8SnsEqELOVr2WO7asksZ58oM269C5DVyY";

    fn dev() -> (KeySet, Verifier) {
        let keys = KeySet::single(KeyPair::new("devkey", &ApiSecret::new("secret")).unwrap());
        (keys.clone(), Verifier::new(keys))
    }

    fn run(auth: Option<&str>, query: Option<&str>) -> AuthOutcome {
        let (keys, verifier) = dev();
        let creds = Credentials {
            authorization: auth,
            query,
            form_body: None,
        };
        authenticate(&creds, &keys, &verifier, 1_767_225_600).0
    }

    #[test]
    fn header_query_and_anonymous() {
        assert_eq!(run(None, None), AuthOutcome::Anonymous);
        assert_eq!(run(Some("Bearer "), None), AuthOutcome::Anonymous);
        assert_eq!(
            run(Some("bearer x"), None),
            AuthOutcome::Rejected(ERR_MISSING_AUTHORIZATION.into())
        );
        let q = format!("a=b&access_token={T1}");
        let out = run(None, Some(&q));
        assert!(out.video().unwrap().room_create, "{out:?}");
        assert_eq!(
            run(Some("Bearer a.b"), None),
            AuthOutcome::Rejected(ERR_INVALID_TOKEN.into())
        );
    }

    #[test]
    fn grants_are_read_case_insensitively() {
        let g = read_video_grant(
            &pjson::parse_document(
                br#"{"video":{"RoomCreate":true,"room":"a"},"VIDEO":{"roomList":true,"room":null}}"#,
            )
            .unwrap(),
        )
        .unwrap()
        .unwrap();
        assert!(g.room_create && g.room_list);
        assert_eq!(g.room, "a");
        assert!(
            read_video_grant(&pjson::parse_document(br#"{"video":{"room_create":true}}"#).unwrap())
                .unwrap()
                .is_some_and(|g| !g.room_create)
        );
        assert!(
            read_video_grant(&pjson::parse_document(br#"{"Video":{"roomAdmin":1}}"#).unwrap())
                .is_err()
        );
    }
}
