//! A client for LiveKit's RoomService (create, list and delete rooms, list participants) and
//! AgentDispatchService (dispatch agents into a room, list and delete the dispatches).
//!
//! Both are Twirp over HTTP: `POST /twirp/livekit.RoomService/<Method>` with a JSON body and a
//! bearer token. [`RoomClient`] mints that token itself for every call, with only the grant the
//! method needs, from a [`roomkey_token::KeyPair`].
//!
//! # Example
//! ```no_run
//! use roomkey_rooms::{CreateRoomRequest, RoomClient};
//! use roomkey_token::{ApiSecret, KeyPair};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let key = KeyPair::new("devkey", &ApiSecret::new("secret"))?;
//! let client = RoomClient::new("ws://localhost:7880", key)?;
//! let mut request = CreateRoomRequest::new("standup");
//! request.empty_timeout = 600;
//! let room = client.create_room(&request).await?;
//! println!("{} {}", room.sid, room.name);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod client;
mod dispatch;
mod error;
mod types;
mod validate;

pub use client::{ClientOptions, RoomClient, is_local_host, normalize_url};
pub use dispatch::{AgentDispatch, CreateDispatchRequest, EnsuredDispatch, Job};
pub use error::{AuthFailure, CredentialSources, RoomError};
pub use types::{CreateRoomRequest, ParticipantInfo, Room};
pub use validate::{ValidateAnswer, validate_token};
