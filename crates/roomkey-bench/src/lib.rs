//! Shared fixtures for the `token` benchmark and the `roomkey-profile` binary: one "typical join
//! token", minted and verified three ways.
//!
//! - [`roomkey`]: `roomkey-token`, the crate under test. Its `KeyPair` holds the HMAC key
//!   schedule, computed once and reused.
//! - [`livekit`]: the Rust `livekit-api` 0.10 crate (`livekit-token` 0.4 and `jsonwebtoken` 10
//!   underneath). Its API takes the secret as a string, so every call builds its HMAC key anew.
//! - [`floor`]: a hand-written serde_json + base64 + HMAC-SHA256 with the keyed state reused
//!   (cloned per operation): a lower bound for what roomkey does, emitting the same bytes.
//!
//! Each mint goes from the inputs (identity, name, room, the key) to a signed token string,
//! reading the system clock once; each verify goes from a token string to owned claims, with the
//! signature, `exp`, `nbf` and issuer checked against the system clock.
#![allow(clippy::missing_panics_doc, clippy::missing_errors_doc)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The API key (issuer).
pub const API_KEY: &str = "APIbench7f3a";
/// A 40-byte API secret.
pub const API_SECRET: &str = "b3nchS3cret-0123456789abcdefghijklmnopqr";
/// Participant identity.
pub const IDENTITY: &str = "alice-7f3a";
/// Display name.
pub const NAME: &str = "Alice";
/// Room.
pub const ROOM: &str = "standup-42";
/// Token lifetime: 6 hours.
pub const TTL: Duration = Duration::from_secs(6 * 60 * 60);
/// Clock leeway used by the roomkey and floor verifiers (jsonwebtoken's default is the same).
pub const LEEWAY_SECS: i64 = 60;

/// Unix seconds from the system clock.
pub fn unix_now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs();
    i64::try_from(secs).expect("clock before 2262")
}

/// The roomkey side.
pub mod roomkey {
    use roomkey_token::{
        AccessToken, ApiSecret, KeyPair, KeySet, VerifiedToken, Verifier, VerifyError, VideoGrant,
    };

    use super::{API_KEY, API_SECRET, IDENTITY, NAME, ROOM, TTL};

    /// The key pair (HMAC key schedule computed here, once).
    pub fn key() -> KeyPair {
        KeyPair::new(API_KEY, &ApiSecret::new(API_SECRET)).expect("valid key")
    }

    /// A verifier for [`key`].
    pub fn verifier() -> Verifier {
        Verifier::new(KeySet::single(key()))
    }

    /// The builder for the typical join token.
    pub fn builder() -> AccessToken {
        let mut grant = VideoGrant::join(ROOM);
        grant.can_publish = Some(true);
        grant.can_subscribe = Some(true);
        grant.can_publish_data = Some(true);
        AccessToken::new()
            .with_identity(IDENTITY)
            .with_name(NAME)
            .with_video(grant)
            .with_ttl(TTL)
    }

    /// One mint: build the token and sign it at `now`.
    pub fn mint_at(key: &KeyPair, now: i64) -> String {
        builder().sign_at(key, now).expect("valid token")
    }

    /// One mint against the system clock.
    pub fn mint(key: &KeyPair) -> String {
        mint_at(key, super::unix_now())
    }

    /// One verify against the system clock.
    pub fn verify(verifier: &Verifier, token: &str) -> Result<VerifiedToken, VerifyError> {
        verifier.verify(token)
    }
}

/// The `livekit-api` 0.10 side.
pub mod livekit {
    use livekit_api::access_token::{
        AccessToken, AccessTokenError, Claims, TokenVerifier, VideoGrants,
    };

    use super::{API_KEY, API_SECRET, IDENTITY, NAME, ROOM};

    /// One mint. `with_api_key` reads the clock and sets a 6 h TTL (livekit-api's default, so no
    /// `with_ttl`, which would read the clock again); `to_jwt` consumes the builder and builds an
    /// HMAC key from the secret string.
    pub fn mint() -> String {
        AccessToken::with_api_key(API_KEY, API_SECRET)
            .with_identity(IDENTITY)
            .with_name(NAME)
            .with_grants(VideoGrants {
                room_join: true,
                room: ROOM.to_owned(),
                can_publish: Some(true),
                can_subscribe: Some(true),
                can_publish_data: Some(true),
                ..VideoGrants::default()
            })
            .to_jwt()
            .expect("valid token")
    }

    /// The verifier (holds the key and secret as strings).
    pub fn verifier() -> TokenVerifier {
        TokenVerifier::with_api_key(API_KEY, API_SECRET)
    }

    /// One verify: signature, `exp`, `nbf` and `iss` checked against the system clock.
    pub fn verify(verifier: &TokenVerifier, token: &str) -> Result<Claims, AccessTokenError> {
        verifier.verify(token)
    }
}

/// The hand-written floor: serde_json + base64 + HMAC-SHA256, keyed state reused.
pub mod floor {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use hmac::{Hmac, Mac};
    use serde::{Deserialize, Serialize};
    use sha2::Sha256;

    use super::{API_KEY, API_SECRET, IDENTITY, LEEWAY_SECS, NAME, ROOM, TTL};

    /// `{"alg":"HS256","typ":"JWT"}`.
    const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

    /// The HMAC-SHA256 keyed state: computed once, cloned per operation.
    pub type Key = Hmac<Sha256>;

    /// The keyed state for [`API_SECRET`].
    pub fn key() -> Key {
        Key::new_from_slice(API_SECRET.as_bytes()).expect("HMAC takes any key length")
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct MintClaims<'a> {
        iss: &'a str,
        exp: i64,
        nbf: i64,
        iat: i64,
        sub: &'a str,
        identity: &'a str,
        name: &'a str,
        video: MintVideo<'a>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct MintVideo<'a> {
        room_join: bool,
        room: &'a str,
        can_publish: bool,
        can_subscribe: bool,
        can_publish_data: bool,
    }

    /// One mint at `now`: the same bytes roomkey signs (checked by the benchmark at startup).
    pub fn mint_at(key: &Key, now: i64) -> String {
        #[allow(clippy::cast_possible_wrap)]
        let ttl = TTL.as_secs() as i64;
        let claims = MintClaims {
            iss: API_KEY,
            exp: now + ttl,
            nbf: now,
            iat: now,
            sub: IDENTITY,
            identity: IDENTITY,
            name: NAME,
            video: MintVideo {
                room_join: true,
                room: ROOM,
                can_publish: true,
                can_subscribe: true,
                can_publish_data: true,
            },
        };
        let mut json = Vec::with_capacity(256);
        serde_json::to_writer(&mut json, &claims).expect("serializes");
        let mut out = String::with_capacity(HEADER_B64.len() + 1 + json.len().div_ceil(3) * 4 + 44);
        out.push_str(HEADER_B64);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&json, &mut out);
        let mut mac = key.clone();
        mac.update(out.as_bytes());
        let tag = mac.finalize().into_bytes();
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut out);
        out
    }

    /// One mint against the system clock.
    pub fn mint(key: &Key) -> String {
        mint_at(key, super::unix_now())
    }

    /// The claims the floor verifier returns (owned, as roomkey's and livekit-api's are).
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Claims {
        /// Issuer.
        #[serde(default)]
        pub iss: String,
        /// Identity.
        #[serde(default)]
        pub sub: String,
        /// Expiry.
        pub exp: i64,
        /// Not before.
        #[serde(default)]
        pub nbf: Option<i64>,
        /// Issued at.
        #[serde(default)]
        pub iat: Option<i64>,
        /// Identity copy.
        #[serde(default)]
        pub identity: String,
        /// Name.
        #[serde(default)]
        pub name: String,
        /// Video grant.
        #[serde(default)]
        pub video: Option<Video>,
    }

    /// The video grant fields of a join token.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(clippy::struct_excessive_bools)]
    pub struct Video {
        /// May join.
        #[serde(default)]
        pub room_join: bool,
        /// Room.
        #[serde(default)]
        pub room: String,
        /// May publish.
        #[serde(default)]
        pub can_publish: Option<bool>,
        /// May subscribe.
        #[serde(default)]
        pub can_subscribe: Option<bool>,
        /// May publish data.
        #[serde(default)]
        pub can_publish_data: Option<bool>,
    }

    /// Why the floor rejected a token.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Error {
        /// Not three segments, or an unexpected header.
        Shape,
        /// Bad base64.
        Base64,
        /// MAC mismatch.
        Signature,
        /// Bad claims JSON.
        Json,
        /// Wrong issuer.
        Issuer,
        /// Expired or not yet valid.
        Time,
    }

    /// One verify at `now`: header compared to the known bytes, payload and tag decoded, MAC
    /// checked in constant time, claims parsed into owned fields, issuer and times checked.
    pub fn verify_at(key: &Key, token: &str, now: i64) -> Result<Claims, Error> {
        let (signing_input, signature) = token.rsplit_once('.').ok_or(Error::Shape)?;
        let (header, payload) = signing_input.split_once('.').ok_or(Error::Shape)?;
        if header != HEADER_B64 || payload.contains('.') {
            return Err(Error::Shape);
        }
        let mut tag = [0u8; 35];
        let n = URL_SAFE_NO_PAD
            .decode_slice(signature, &mut tag)
            .map_err(|_| Error::Base64)?;
        let mut mac = key.clone();
        mac.update(signing_input.as_bytes());
        mac.verify_slice(&tag[..n]).map_err(|_| Error::Signature)?;
        let json = URL_SAFE_NO_PAD.decode(payload).map_err(|_| Error::Base64)?;
        let claims: Claims = serde_json::from_slice(&json).map_err(|_| Error::Json)?;
        if claims.iss != API_KEY {
            return Err(Error::Issuer);
        }
        if now >= claims.exp + LEEWAY_SECS || claims.nbf.is_some_and(|nbf| now < nbf - LEEWAY_SECS)
        {
            return Err(Error::Time);
        }
        Ok(claims)
    }

    /// One verify against the system clock.
    pub fn verify(key: &Key, token: &str) -> Result<Claims, Error> {
        verify_at(key, token, super::unix_now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_emits_roomkeys_bytes() {
        let now = 1_700_000_000;
        assert_eq!(
            floor::mint_at(&floor::key(), now),
            roomkey::mint_at(&roomkey::key(), now)
        );
    }

    #[test]
    fn verifiers_accept_each_others_tokens() {
        let tokens = [
            roomkey::mint(&roomkey::key()),
            livekit::mint(),
            floor::mint(&floor::key()),
        ];
        let (rk, lk, fl) = (roomkey::verifier(), livekit::verifier(), floor::key());
        for token in &tokens {
            let c = roomkey::verify(&rk, token).expect("roomkey verifies");
            assert_eq!((c.claims.identity(), c.claims.room()), (IDENTITY, ROOM));
            let c = livekit::verify(&lk, token).expect("livekit-api verifies");
            assert_eq!((c.sub.as_str(), c.video.room.as_str()), (IDENTITY, ROOM));
        }
        // The floor knows only roomkey's header (livekit-api writes `{"typ":"JWT","alg":"HS256"}`).
        for token in &[&tokens[0], &tokens[2]] {
            let c = floor::verify(&fl, token).expect("floor verifies");
            assert_eq!(c.sub, IDENTITY);
        }
    }

    #[test]
    fn floor_rejects_tampering() {
        let key = floor::key();
        let token = floor::mint(&key);
        let mut bad = token.clone();
        bad.replace_range(40..41, if &token[40..41] == "A" { "B" } else { "A" });
        assert!(floor::verify(&key, &bad).is_err());
        assert_eq!(
            floor::verify_at(&key, &token, unix_now() + 7 * 3600).unwrap_err(),
            floor::Error::Time
        );
    }
}
