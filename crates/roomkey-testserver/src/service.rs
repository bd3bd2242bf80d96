//! The RoomService methods: grant checks, validation and the in-memory rooms, in the order of
//! `livekit/livekit pkg/service/roomservice.go` and the single-node room manager.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::Rng as _;

use crate::auth::RoomGrants;
use crate::config::TestServerConfig;
use crate::proto::{
    CreateRoomRequest, DeleteRoomRequest, Empty, ForwardParticipantRequest,
    ListParticipantsRequest, ListParticipantsResponse, ListRoomsRequest, ListRoomsResponse,
    MuteRoomTrackRequest, MuteRoomTrackResponse, ParticipantInfo, PerformRpcRequest,
    PerformRpcResponse, Room, RoomAgentDispatch, RoomParticipantIdentity, SendDataRequest,
    UpdateParticipantRequest, UpdateRoomMetadataRequest, UpdateSubscriptionsRequest,
    participant_state,
};
use crate::twirp::TwirpError;

/// A room as the imitation server holds it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RoomState {
    /// The room as `ListRooms` would return it now.
    pub room: Room,
    /// The `CreateRoomRequest` that created the room, exactly as decoded (agents, egress
    /// marker, playout delays, tags… included). For a room created by
    /// [`seed_participant`](crate::TestServer::seed_participant), only `name` is set.
    pub create_request: CreateRoomRequest,
    /// The participants, in join order.
    pub participants: Vec<ParticipantInfo>,
}

impl RoomState {
    /// The agent dispatches of the CreateRoom request.
    pub fn agents(&self) -> &[RoomAgentDispatch] {
        &self.create_request.agents
    }
}

#[derive(Debug)]
struct Entry {
    room: Room,
    request: CreateRoomRequest,
    participants: Vec<ParticipantInfo>,
    order: u64,
}

impl Entry {
    /// The room with its live counters, as the room manager's `ToProto` gives it.
    fn view(&self) -> Room {
        let mut room = self.room.clone();
        let visible = self
            .participants
            .iter()
            .filter(|p| !p.permission.as_ref().is_some_and(|perm| perm.hidden));
        room.num_participants = u32::try_from(visible.count()).unwrap_or(u32::MAX);
        room.num_publishers =
            u32::try_from(self.participants.iter().filter(|p| p.is_publisher).count())
                .unwrap_or(u32::MAX);
        room
    }

    fn participant_mut(&mut self, identity: &str) -> Option<&mut ParticipantInfo> {
        self.participants
            .iter_mut()
            .find(|p| p.identity == identity)
    }
}

#[derive(Debug, Default)]
struct Rooms {
    by_name: HashMap<String, Entry>,
    next_order: u64,
}

/// The service and its rooms.
#[derive(Debug)]
pub(crate) struct Service {
    config: TestServerConfig,
    rooms: Mutex<Rooms>,
}

type Result<T> = std::result::Result<T, TwirpError>;

fn require(ok: bool) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(TwirpError::permission_denied())
    }
}

fn can_create(g: Option<&RoomGrants>) -> bool {
    g.is_some_and(|g| g.room_create)
}

fn can_list(g: Option<&RoomGrants>) -> bool {
    g.is_some_and(|g| g.room_list)
}

fn can_admin(g: Option<&RoomGrants>, room: &str) -> bool {
    g.is_some_and(|g| g.room_admin && g.room == room)
}

fn room_not_found() -> TwirpError {
    TwirpError::psrpc("not_found", "requested room does not exist")
}

fn participant_not_found() -> TwirpError {
    TwirpError::psrpc("not_found", "participant does not exist")
}

/// What a psrpc call to a room or participant topic nobody serves gives.
fn no_response() -> TwirpError {
    TwirpError::psrpc("unavailable", "no response from servers")
}

pub(crate) fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `livekit/protocol utils/guid`: a prefix and 12 base62 characters.
pub(crate) fn guid(prefix: &str) -> String {
    let mut rng = rand::rng();
    let mut out = String::from(prefix);
    for _ in 0..12 {
        out.push(char::from(BASE62[rng.random_range(0..BASE62.len())]));
    }
    out
}

fn random_secret() -> String {
    let mut rng = rand::rng();
    (0..43)
        .map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())]))
        .collect()
}

fn secs_and_ms(t: Duration) -> (i64, i64) {
    (
        i64::try_from(t.as_secs()).unwrap_or(i64::MAX),
        i64::try_from(t.as_millis()).unwrap_or(i64::MAX),
    )
}

impl Service {
    pub(crate) fn new(config: TestServerConfig) -> Self {
        Service {
            config,
            rooms: Mutex::new(Rooms::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Rooms> {
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn metadata_ok(&self, metadata: &str) -> bool {
        let max = self.config.max_metadata_size;
        max == 0 || metadata.len() <= max
    }

    fn attributes_ok(&self, attributes: &std::collections::BTreeMap<String, String>) -> bool {
        let max = self.config.max_attributes_size;
        max == 0
            || attributes
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>()
                <= max
    }

    fn metadata_error(&self) -> TwirpError {
        TwirpError::invalid_argument(
            "metadata size exceeds limits",
            &self.config.max_metadata_size.to_string(),
        )
    }

    fn attributes_error(&self) -> TwirpError {
        TwirpError::invalid_argument(
            "attribute size exceeds limits",
            &self.config.max_attributes_size.to_string(),
        )
    }

    /// A new room with the server's defaults, then the request's non-zero settings.
    fn new_room(&self, req: &CreateRoomRequest) -> Room {
        let (secs, ms) = secs_and_ms(now());
        let d = &self.config;
        let pick = |asked: u32, default: u32| if asked > 0 { asked } else { default };
        Room {
            sid: guid("RM_"),
            name: req.name.clone(),
            empty_timeout: pick(req.empty_timeout, d.empty_timeout),
            departure_timeout: pick(req.departure_timeout, d.departure_timeout),
            max_participants: pick(req.max_participants, d.max_participants),
            creation_time: secs,
            creation_time_ms: ms,
            turn_password: random_secret(),
            enabled_codecs: d.enabled_codecs.clone(),
            metadata: req.metadata.clone(),
            num_participants: 0,
            num_publishers: 0,
            active_recording: false,
            version: None,
        }
    }

    fn insert(rooms: &mut Rooms, room: Room, request: CreateRoomRequest) -> Room {
        let order = rooms.next_order;
        rooms.next_order += 1;
        let entry = Entry {
            room,
            request,
            participants: Vec::new(),
            order,
        };
        let view = entry.view();
        rooms.by_name.insert(entry.room.name.clone(), entry);
        view
    }

    // -----------------------------------------------------------------------------------------
    // RoomService

    pub(crate) fn create_room(
        &self,
        g: Option<&RoomGrants>,
        req: CreateRoomRequest,
    ) -> Result<Room> {
        require(can_create(g))?;
        if req.egress.is_some() {
            return Err(TwirpError::psrpc(
                "internal",
                "egress not connected (redis required)",
            ));
        }
        let max_name = self.config.max_room_name_length;
        if max_name > 0 && req.name.len() > max_name {
            return Err(TwirpError::psrpc(
                "invalid_argument",
                format!("room name length exceeds limits: max length {max_name}"),
            ));
        }
        if !self.metadata_ok(&req.metadata) {
            return Err(self.metadata_error());
        }
        for agent in &req.agents {
            if !self.metadata_ok(&agent.metadata) {
                return Err(self.metadata_error());
            }
            if !self.attributes_ok(&agent.attributes) {
                return Err(self.attributes_error());
            }
        }
        let mut rooms = self.lock();
        if let Some(existing) = rooms.by_name.get(&req.name) {
            // The room is live on this node: the room manager hands it back as it is.
            return Ok(existing.view());
        }
        if !req.room_preset.is_empty() {
            // No named room configurations are set up on this server.
            return Err(TwirpError::psrpc(
                "invalid_argument",
                "unknown room configuration in create room request",
            ));
        }
        let room = self.new_room(&req);
        Ok(Self::insert(&mut rooms, room, req))
    }

    pub(crate) fn list_rooms(
        &self,
        g: Option<&RoomGrants>,
        req: ListRoomsRequest,
    ) -> Result<ListRoomsResponse> {
        require(can_list(g))?;
        let rooms = self.lock();
        let mut entries: Vec<&Entry> = rooms
            .by_name
            .values()
            .filter(|e| req.names.is_empty() || req.names.contains(&e.room.name))
            .collect();
        entries.sort_by_key(|e| e.order);
        Ok(ListRoomsResponse {
            rooms: entries.into_iter().map(Entry::view).collect(),
        })
    }

    pub(crate) fn delete_room(
        &self,
        g: Option<&RoomGrants>,
        req: DeleteRoomRequest,
    ) -> Result<Empty> {
        require(can_create(g))?;
        let mut rooms = self.lock();
        if rooms.by_name.remove(&req.room).is_none() {
            return Err(room_not_found());
        }
        Ok(Empty {})
    }

    pub(crate) fn list_participants(
        &self,
        g: Option<&RoomGrants>,
        req: ListParticipantsRequest,
    ) -> Result<ListParticipantsResponse> {
        require(can_admin(g, &req.room))?;
        let rooms = self.lock();
        Ok(ListParticipantsResponse {
            participants: rooms
                .by_name
                .get(&req.room)
                .map(|e| e.participants.clone())
                .unwrap_or_default(),
        })
    }

    pub(crate) fn get_participant(
        &self,
        g: Option<&RoomGrants>,
        req: RoomParticipantIdentity,
    ) -> Result<ParticipantInfo> {
        require(can_admin(g, &req.room))?;
        let rooms = self.lock();
        rooms
            .by_name
            .get(&req.room)
            .and_then(|e| e.participants.iter().find(|p| p.identity == req.identity))
            .cloned()
            .ok_or_else(participant_not_found)
    }

    pub(crate) fn remove_participant(
        &self,
        g: Option<&RoomGrants>,
        req: RoomParticipantIdentity,
    ) -> Result<Empty> {
        require(can_admin(g, &req.room))?;
        let mut rooms = self.lock();
        let entry = rooms
            .by_name
            .get_mut(&req.room)
            .ok_or_else(participant_not_found)?;
        let before = entry.participants.len();
        entry.participants.retain(|p| p.identity != req.identity);
        if entry.participants.len() == before {
            return Err(participant_not_found());
        }
        Ok(Empty {})
    }

    pub(crate) fn mute_published_track(
        &self,
        g: Option<&RoomGrants>,
        req: MuteRoomTrackRequest,
    ) -> Result<MuteRoomTrackResponse> {
        require(can_admin(g, &req.room))?;
        let mut rooms = self.lock();
        let participant = rooms
            .by_name
            .get_mut(&req.room)
            .and_then(|e| e.participant_mut(&req.identity))
            .ok_or_else(no_response)?;
        if !req.muted && !self.config.enable_remote_unmute {
            return Err(TwirpError::psrpc(
                "failed_precondition",
                "remote unmute not enabled",
            ));
        }
        let track = participant
            .tracks
            .iter_mut()
            .find(|t| t.sid == req.track_sid)
            .map(|t| {
                t.muted = req.muted;
                t.clone()
            });
        if track.is_some() {
            participant.version += 1;
        }
        Ok(MuteRoomTrackResponse { track })
    }

    pub(crate) fn update_participant(
        &self,
        g: Option<&RoomGrants>,
        req: UpdateParticipantRequest,
    ) -> Result<ParticipantInfo> {
        let max_name = self.config.max_participant_name_length;
        if max_name > 0 && req.name.len() > max_name {
            return Err(TwirpError::invalid_argument(
                "name length exceeds limits",
                &max_name.to_string(),
            ));
        }
        if !self.metadata_ok(&req.metadata) {
            return Err(self.metadata_error());
        }
        if !self.attributes_ok(&req.attributes) {
            return Err(self.attributes_error());
        }
        require(can_admin(g, &req.room))?;
        let mut rooms = self.lock();
        let p = rooms
            .by_name
            .get_mut(&req.room)
            .and_then(|e| e.participant_mut(&req.identity))
            .ok_or_else(participant_not_found)?;
        if !req.name.is_empty() {
            p.name = req.name;
        }
        if !req.metadata.is_empty() {
            p.metadata = req.metadata;
        }
        for (k, v) in req.attributes {
            if v.is_empty() {
                p.attributes.remove(&k);
            } else {
                p.attributes.insert(k, v);
            }
        }
        if let Some(permission) = req.permission {
            p.permission = Some(permission);
        }
        p.version += 1;
        Ok(p.clone())
    }

    pub(crate) fn update_subscriptions(
        &self,
        g: Option<&RoomGrants>,
        req: UpdateSubscriptionsRequest,
    ) -> Result<Empty> {
        require(can_admin(g, &req.room))?;
        let mut rooms = self.lock();
        rooms
            .by_name
            .get_mut(&req.room)
            .and_then(|e| e.participant_mut(&req.identity))
            .ok_or_else(no_response)?;
        Ok(Empty {})
    }

    pub(crate) fn send_data(&self, g: Option<&RoomGrants>, req: SendDataRequest) -> Result<Empty> {
        require(can_admin(g, &req.room))?;
        if !req.nonce.is_empty() && req.nonce.len() != 16 {
            return Err(TwirpError::new(
                "invalid_argument",
                format!(
                    "nonce should be 16-bytes or not present, got: {} bytes",
                    req.nonce.len()
                ),
            ));
        }
        if !self.lock().by_name.contains_key(&req.room) {
            return Err(no_response());
        }
        Ok(Empty {})
    }

    pub(crate) fn update_room_metadata(
        &self,
        g: Option<&RoomGrants>,
        req: UpdateRoomMetadataRequest,
    ) -> Result<Room> {
        if !self.metadata_ok(&req.metadata) {
            return Err(self.metadata_error());
        }
        require(can_admin(g, &req.room))?;
        let mut rooms = self.lock();
        let entry = rooms
            .by_name
            .get_mut(&req.room)
            .ok_or_else(room_not_found)?;
        entry.room.metadata = req.metadata;
        Ok(entry.view())
    }

    /// ForwardParticipant and MoveParticipant: Cloud-only; the OSS room manager answers
    /// "not implemented" for a live participant.
    pub(crate) fn forward_or_move(
        &self,
        g: Option<&RoomGrants>,
        req: ForwardParticipantRequest,
    ) -> Result<Empty> {
        require(g.is_some_and(|g| {
            g.room_admin && g.room == req.room && g.destination_room == req.destination_room
        }))?;
        if req.room == req.destination_room {
            return Err(TwirpError::invalid_argument(
                "destination room cannot be the same as source room",
                "",
            ));
        }
        let mut rooms = self.lock();
        rooms
            .by_name
            .get_mut(&req.room)
            .and_then(|e| e.participant_mut(&req.identity))
            .ok_or_else(no_response)?;
        Err(TwirpError::psrpc("unknown", "not implemented"))
    }

    /// PerformRpc: a seeded participant has no client behind it, so the server's wait for the
    /// data-channel ack runs out (2 s on the real server) and the call ends as it would there.
    pub(crate) async fn perform_rpc(
        &self,
        g: Option<&RoomGrants>,
        req: PerformRpcRequest,
    ) -> Result<PerformRpcResponse> {
        require(can_admin(g, &req.room))?;
        if req.destination_identity.is_empty() {
            return Err(TwirpError::psrpc(
                "invalid_argument",
                "destination identity is required",
            ));
        }
        {
            let mut rooms = self.lock();
            rooms
                .by_name
                .get_mut(&req.room)
                .and_then(|e| e.participant_mut(&req.destination_identity))
                .ok_or_else(no_response)?;
        }
        if req.payload.len() > 15_360 {
            return Err(TwirpError::psrpc(
                "invalid_argument",
                "RpcError 1402: Request payload too large",
            ));
        }
        tokio::time::sleep(self.config.rpc_ack_timeout).await;
        Err(TwirpError::psrpc(
            "canceled",
            "RpcError 1501: Connection timeout",
        ))
    }

    // -----------------------------------------------------------------------------------------
    // Test API

    pub(crate) fn snapshot(&self) -> Vec<RoomState> {
        let rooms = self.lock();
        let mut entries: Vec<&Entry> = rooms.by_name.values().collect();
        entries.sort_by_key(|e| e.order);
        entries
            .into_iter()
            .map(|e| RoomState {
                room: e.view(),
                create_request: e.request.clone(),
                participants: e.participants.clone(),
            })
            .collect()
    }

    /// Adds (or replaces, by identity) a participant, creating the room with the server's
    /// defaults if needed, as a join would.
    pub(crate) fn seed_participant(&self, room: &str, mut p: ParticipantInfo) -> ParticipantInfo {
        let (secs, ms) = secs_and_ms(now());
        if p.sid.is_empty() {
            p.sid = guid("PA_");
        }
        if p.joined_at == 0 {
            p.joined_at = secs;
        }
        if p.joined_at_ms == 0 {
            p.joined_at_ms = ms;
        }
        for t in &mut p.tracks {
            if t.sid.is_empty() {
                t.sid = guid("TR_");
            }
        }
        if !p.tracks.is_empty() {
            p.is_publisher = true;
        }
        let mut rooms = self.lock();
        if !rooms.by_name.contains_key(room) {
            let req = CreateRoomRequest {
                name: room.to_owned(),
                ..Default::default()
            };
            let new = self.new_room(&req);
            Self::insert(&mut rooms, new, req);
        }
        if let Some(entry) = rooms.by_name.get_mut(room) {
            entry.participants.retain(|q| q.identity != p.identity);
            entry.participants.push(p.clone());
        }
        p
    }

    pub(crate) fn clear(&self) {
        self.lock().by_name.clear();
    }
}

/// A participant as a fresh join would show it: state `ACTIVE`, version 1, and the default
/// permissions of a join token (subscribe, publish and publish data).
pub fn participant(identity: &str) -> ParticipantInfo {
    ParticipantInfo {
        identity: identity.to_owned(),
        state: participant_state::ACTIVE,
        version: 1,
        permission: Some(crate::proto::ParticipantPermission {
            can_subscribe: true,
            can_publish: true,
            can_publish_data: true,
            ..Default::default()
        }),
        ..Default::default()
    }
}
