//! LiveKit access tokens: the claims model, HS256 signing and verification.
//!
//! A LiveKit participant joins a room with an access token: an HS256 JWT signed with the
//! project's API secret, whose claims say who the participant is and what it may do. This crate
//! mints such tokens with every claim the LiveKit server understands, and verifies them with the
//! meaning the server gives them. It is synchronous and does no I/O: it reads no environment,
//! no files and no network. The system clock is read only by [`AccessToken::sign`] and
//! [`Verifier::verify`]; their `_at` twins take the time as an argument.
//!
//! # Example
//! ```
//! use roomkey_token::{AccessToken, ApiSecret, KeyPair, KeySet, Verifier, VideoGrant};
//!
//! let key = KeyPair::new("APIexample", &ApiSecret::new("example-secret-0123456789abcdefghij"))?;
//! let mut grant = VideoGrant::join("standup");
//! grant.can_publish = Some(false); // a viewer
//! let jwt = AccessToken::new().with_identity("alice").with_video(grant).sign(&key)?;
//!
//! let verified = Verifier::new(KeySet::single(key)).verify(&jwt)?;
//! let video = verified.claims.video.as_ref().unwrap();
//! assert!(!video.effective_can_publish());
//! assert!(!video.effective_can_publish_data()); // follows canPublish, as on the server
//! assert!(video.effective_can_subscribe()); // unset means yes
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]
#![warn(clippy::print_stdout, clippy::print_stderr, clippy::unwrap_used)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod claims;
mod de;
mod error;
pub mod grants;
pub mod input;
pub mod inspect;
mod jws;
mod keys;
mod payload;
mod room_config;
mod token;
mod verify;
pub mod webhook;

pub use claims::Claims;
pub use error::{KeyError, LimitedClaim, MintError, Part, VerifyError};
pub use grants::{
    AgentEndpointGrant, AgentGrant, AgentThreadGrant, InferenceGrant, KindDetail,
    ObservabilityGrant, ParticipantKind, SipGrant, TrackSource, VideoGrant,
};
pub use keys::{ApiSecret, KeyPair, KeySet, RECOMMENDED_SECRET_LEN};
pub use room_config::{JobRestartPolicy, RoomAgentDispatch, RoomConfiguration, agent_option_field};
pub use token::{AccessToken, DEFAULT_TTL, limits, unix_now, unix_seconds};
pub use verify::{
    DEFAULT_LEEWAY, DEFAULT_MAX_TOKEN_LEN, VerifiedToken, Verifier, VerifyOptions, dangerous,
};
