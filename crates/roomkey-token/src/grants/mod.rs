//! The grants a token carries (video, SIP, agent, inference, observability, agent endpoint and
//! agent thread), declared once: the list below makes the grant structs, their serde names and
//! omission rules, the payload writer and [`GRANTS`], the table every surface of roomkey reads
//! (the CLI flags, the configuration's grant keys, the action endpoint's switches, the policy
//! checks, the explanation of a verified token).
//!
//! Field names and omission rules follow the Go reference (`livekit/protocol auth/grants.go`):
//! plain booleans and strings are written only when true or non-empty; the permission booleans
//! whose absence the server reads as a default are `Option<bool>` and written only when set,
//! and their row says what that default is.

use serde::{Deserialize, Serialize};

use crate::claims::Claims;

mod names;
#[macro_use]
mod table;

pub use names::{KindDetail, ParticipantKind, TrackSource};
pub(crate) use table::Field;
pub use table::{Grant, Kind, Setting, Unset, Value, WrongKind};

grant_table! {
    /// The video grant (`video` claim): room access and permissions.
    #[allow(clippy::struct_excessive_bools)] // mirrors the protocol's grant
    struct VideoGrant in video as "video", heading "Permissions" {
        /// Permission to create rooms
        room_create: bool = "roomCreate", name "room_create", action "Room Create Permission";
        /// Permission to list rooms
        room_list: bool = "roomList", name "room_list", action "Room List Permission";
        /// Permission to start a recording
        room_record: bool = "roomRecord", name "room_record", action "Room Record Permission";
        /// Permission to control the specific room
        room_admin: bool = "roomAdmin", name "room_admin", action "Room Admin Permission";
        /// Permission to join the room (any room, when none is named)
        room_join: bool = "roomJoin", name "room_join", flag "join", roomkey_default true;
        /// The room to join or administer
        room: String = "room";
        /// Destination room which this participant can forward to
        destination_room: String = "destinationRoom", name "destination_room",
            action "Destination Room";
        /// Whether the participant can publish audio/video tracks
        can_publish: Option<bool> = "canPublish", name "can_publish", unset Unset::On,
            action "Can Publish";
        /// Whether the participant can subscribe to other participants' tracks
        can_subscribe: Option<bool> = "canSubscribe", name "can_subscribe", unset Unset::On,
            action "Can Subscribe";
        /// Whether the participant can publish data messages
        can_publish_data: Option<bool> = "canPublishData", name "can_publish_data",
            unset Unset::Follows("canPublish"), action "Can Publish Data";
        /// Track sources the participant may publish
        can_publish_sources: Vec<TrackSource> = "canPublishSources", name "can_publish_sources",
            flag "allow-source";
        /// Allow participant to update its own metadata
        can_update_own_metadata: Option<bool> = "canUpdateOwnMetadata",
            name "can_update_own_metadata", unset Unset::Off, action "Can Update Own Metadata";
        /// Permission to control ingress, not specific to any room or ingress
        ingress_admin: bool = "ingressAdmin", name "ingress_admin",
            action "Ingress Admin Permission";
        /// Whether the participant should be hidden from other participants
        hidden: bool = "hidden", name "hidden", action "Hidden Participant";
        /// Participant is recording the room, allows room to indicate it's being recorded
        recorder: bool = "recorder", name "recorder", action "Recorder";
        /// Participant allowed to connect to LiveKit as Agent Framework worker
        agent: bool = "agent", name "agent", action "Agent";
        /// Allow participant to subscribe to metrics
        can_subscribe_metrics: Option<bool> = "canSubscribeMetrics", name "can_subscribe_metrics",
            unset Unset::Off, action "Can Subscribe Metrics";
        /// Allow participant to manage an agent session
        can_manage_agent_session: Option<bool> = "canManageAgentSession",
            name "can_manage_agent_session", unset Unset::Off;
    }

    /// The SIP grant (`sip` claim).
    struct SipGrant in sip as "sip", heading "SIP grant" {
        /// Manage SIP trunks and dispatch rules
        admin: bool = "admin", name "sip_admin";
        /// Make outbound calls
        call: bool = "call", name "sip_call";
    }

    /// The agent grant (`agent` claim), used by LiveKit Cloud.
    #[allow(clippy::struct_excessive_bools)] // mirrors the protocol's grant
    struct AgentGrant in agent as "agent", heading "Agent grant" {
        /// Administer agents (LiveKit Cloud)
        admin: bool = "admin", name "agent_admin";
        /// Administer simulations (LiveKit Cloud)
        simulation_admin: bool = "simulationAdmin", name "agent_simulation_admin";
        /// Administer agent databases (LiveKit Cloud)
        database_admin: bool = "databaseAdmin", name "agent_database_admin";
        /// Create, list and delete agent dispatches
        dispatch_admin: bool = "dispatchAdmin", name "agent_dispatch_admin";
    }

    /// The inference grant (`inference` claim), used by LiveKit Cloud.
    struct InferenceGrant in inference as "inference", heading "Inference grant" {
        /// Call LiveKit Inference: LLM, STT, TTS (LiveKit Cloud)
        perform: bool = "perform", name "inference";
    }

    /// The observability grant (`observability` claim), used by LiveKit Cloud.
    struct ObservabilityGrant in observability as "observability",
        heading "Observability grant" {
        /// Write observability data (LiveKit Cloud)
        write: bool = "write", name "observability";
    }

    /// The agent endpoint grant (`agentEndpoint` claim), emitted by the newest SDKs.
    struct AgentEndpointGrant in agent_endpoint as "agentEndpoint",
        heading "Agent endpoint grant" {
        /// Call an agent endpoint
        call: bool = "call", name "agent_endpoint_call";
        /// The agent it may call (empty: any)
        agent_name: String = "agentName", name "agent_endpoint_agent_name";
        /// The deployment it may call (empty: any)
        deployment: String = "deployment", name "agent_endpoint_deployment";
    }

    /// The agent thread grant (`agentThread` claim), emitted by the newest SDKs.
    #[allow(clippy::struct_excessive_bools)] // mirrors the protocol's grant
    struct AgentThreadGrant in agent_thread as "agentThread", heading "Agent thread grant" {
        /// Applies to all threads
        all: bool = "all", name "agent_thread_all";
        /// The scope the grant is limited to
        scope: String = "scope", name "agent_thread_scope";
        /// The threads the grant is limited to
        thread_ids: Vec<String> = "threadIds", name "agent_thread_ids";
        /// List threads
        list: bool = "list", name "agent_thread_list";
        /// Create threads
        create: bool = "create", name "agent_thread_create";
        /// Write to threads
        write: bool = "write", name "agent_thread_write";
        /// Read threads
        read: bool = "read", name "agent_thread_read";
        /// Delete threads
        delete: bool = "delete", name "agent_thread_delete";
    }
}

/// The row of [`GRANTS`] for `claim.key` (e.g. `"video"`, `"canPublish"`).
pub fn grant(claim: &str, key: &str) -> Option<&'static Grant> {
    GRANTS.iter().find(|g| g.claim == claim && g.key == key)
}

/// The row of [`GRANTS`] that the configuration file calls `name` (e.g. `can_publish`).
pub fn grant_named(name: &str) -> Option<&'static Grant> {
    GRANTS.iter().find(|g| g.name == Some(name))
}

impl VideoGrant {
    /// A grant to join one room, with the server's default permissions.
    #[inline]
    pub fn join(room: impl Into<String>) -> Self {
        VideoGrant {
            room_join: true,
            room: room.into(),
            ..VideoGrant::default()
        }
    }

    // The typed shortcuts below read the defaults that the rows' `unset` declare;
    // `tests::typed_shortcuts_agree_with_the_table` keeps them in step.

    /// Effective publish permission, as the server reads it (unset → true).
    pub fn effective_can_publish(&self) -> bool {
        self.can_publish.unwrap_or(true)
    }

    /// Effective subscribe permission (unset → true).
    pub fn effective_can_subscribe(&self) -> bool {
        self.can_subscribe.unwrap_or(true)
    }

    /// Effective data permission (unset → the effective publish permission).
    pub fn effective_can_publish_data(&self) -> bool {
        self.can_publish_data
            .unwrap_or_else(|| self.effective_can_publish())
    }

    /// Effective metadata-update permission (unset → false).
    pub fn effective_can_update_own_metadata(&self) -> bool {
        self.can_update_own_metadata.unwrap_or(false)
    }

    /// Effective metrics permission (unset → false).
    pub fn effective_can_subscribe_metrics(&self) -> bool {
        self.can_subscribe_metrics.unwrap_or(false)
    }

    /// Effective agent-session permission (unset → false).
    pub fn effective_can_manage_agent_session(&self) -> bool {
        self.can_manage_agent_session.unwrap_or(false)
    }

    /// Whether the server would let this participant publish `source`: publishing must be
    /// allowed, and the list must be empty or name the source exactly.
    pub fn can_publish_source(&self, source: &TrackSource) -> bool {
        self.effective_can_publish()
            && (self.can_publish_sources.is_empty() || self.can_publish_sources.contains(source))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A value of each kind other than the default, for a row.
    pub(crate) fn sample(g: &Grant) -> Setting {
        match g.kind {
            Kind::Flag | Kind::Tri => Setting::Bool(true),
            Kind::Text => Setting::Text(format!("{}-value", g.key)),
            Kind::Sources => Setting::Sources(vec![TrackSource::Camera]),
            Kind::Texts => Setting::Texts(vec!["t1".into(), "t2".into()]),
        }
    }

    #[test]
    fn the_table_is_well_formed() {
        let mut paths = std::collections::HashSet::new();
        let mut names = std::collections::HashSet::new();
        let mut flags = std::collections::HashSet::new();
        for g in GRANTS {
            assert!(paths.insert(g.path()), "{g:?} twice");
            if let Some(name) = g.name {
                assert!(names.insert(name), "name {name} twice");
                assert_eq!(grant_named(name), Some(g));
                assert!(flags.insert(g.flag().unwrap()), "flag of {g:?} twice");
            }
            assert_eq!(grant(g.claim, g.key), Some(g));
            assert!(!g.about().is_empty() && !g.about().ends_with('.'), "{g:?}");
            match g.unset {
                Unset::Follows(key) => {
                    let target = grant(g.claim, key).expect("follows a member of its claim");
                    assert!(target.kind.is_bool() && g.kind == Kind::Tri, "{g:?}");
                }
                Unset::On => assert_eq!(g.kind, Kind::Tri, "{g:?}"),
                Unset::Off => {}
            }
            if g.is_action_switch() {
                // The action's props are video permissions: booleans, and destinationRoom.
                assert_eq!(g.claim, "video", "{g:?}");
                assert!(g.kind.is_bool() || g.kind == Kind::Text, "{g:?}");
            }
        }
        // Only the room itself has no name: every surface takes it as its own input.
        let unnamed: Vec<String> = GRANTS
            .iter()
            .filter(|g| g.name.is_none())
            .map(Grant::path)
            .collect();
        assert_eq!(unnamed, ["video.room"]);
    }

    #[test]
    fn every_row_sets_and_reads_its_member_under_its_json_key() {
        for g in GRANTS {
            let mut c = Claims::default();
            assert_eq!(g.get(&c), None, "{g:?}");
            g.set(&mut c, sample(g)).unwrap();
            let json = serde_json::to_value(&c).unwrap();
            let member = &json[g.claim][g.key];
            match (g.get(&c).unwrap(), sample(g)) {
                (Value::Flag(b) | Value::Tri(Some(b)), Setting::Bool(want)) => {
                    assert_eq!(b, want);
                    assert_eq!(*member, serde_json::json!(want), "{g:?}");
                    assert_eq!(g.effective(&c), Some(want));
                }
                (Value::Text(t), Setting::Text(want)) => {
                    assert_eq!(t, want);
                    assert_eq!(*member, serde_json::json!(want), "{g:?}");
                }
                (Value::Sources(s), Setting::Sources(want)) => assert_eq!(s, want),
                (Value::Texts(t), Setting::Texts(want)) => assert_eq!(t, want),
                (value, setting) => panic!("{g:?}: {value:?} after {setting:?}"),
            }
            // Exactly one member was written, and it reads back.
            assert_eq!(json.as_object().unwrap().len(), 1, "{json}");
            assert_eq!(json[g.claim].as_object().unwrap().len(), 1, "{json}");
            let back: Claims = serde_json::from_value(json).unwrap();
            assert_eq!(back, c);
            // A setting of another kind is refused and changes nothing.
            let wrong = if g.kind.is_bool() {
                Setting::Text("x".into())
            } else {
                Setting::Bool(true)
            };
            assert!(g.set(&mut c, wrong).is_err());
            assert_eq!(back, c);
        }
    }

    #[test]
    fn a_false_flag_adds_no_claim_but_a_false_tri_state_does() {
        let admin = grant("sip", "admin").unwrap();
        let mut c = Claims::default();
        admin.set(&mut c, Setting::Bool(false)).unwrap();
        assert_eq!(c.sip, None);
        let publish = grant("video", "canPublish").unwrap();
        publish.set(&mut c, Setting::Bool(false)).unwrap();
        assert_eq!(c.video.as_ref().unwrap().can_publish, Some(false));
    }

    #[test]
    fn typed_shortcuts_agree_with_the_table() {
        let tri = [None, Some(false), Some(true)];
        for publish in tri {
            for data in tri {
                for other in tri {
                    let mut v = VideoGrant::join("r");
                    (v.can_publish, v.can_publish_data, v.can_subscribe) = (publish, data, other);
                    (v.can_update_own_metadata, v.can_subscribe_metrics) = (other, other);
                    v.can_manage_agent_session = other;
                    let c = Claims {
                        video: Some(v.clone()),
                        ..Claims::default()
                    };
                    let table = |key| grant("video", key).unwrap().effective(&c).unwrap();
                    assert_eq!(v.effective_can_publish(), table("canPublish"));
                    assert_eq!(v.effective_can_subscribe(), table("canSubscribe"));
                    assert_eq!(v.effective_can_publish_data(), table("canPublishData"));
                    assert_eq!(
                        v.effective_can_update_own_metadata(),
                        table("canUpdateOwnMetadata")
                    );
                    assert_eq!(
                        v.effective_can_subscribe_metrics(),
                        table("canSubscribeMetrics")
                    );
                    assert_eq!(
                        v.effective_can_manage_agent_session(),
                        table("canManageAgentSession")
                    );
                }
            }
        }
    }

    #[test]
    fn tri_state_defaults_follow_the_server() {
        let mut g = VideoGrant::join("r");
        assert!(
            g.effective_can_publish()
                && g.effective_can_subscribe()
                && g.effective_can_publish_data()
        );
        assert!(!g.effective_can_update_own_metadata());
        assert!(!g.effective_can_subscribe_metrics() && !g.effective_can_manage_agent_session());
        g.can_publish = Some(false);
        assert!(
            !g.effective_can_publish_data(),
            "canPublishData inherits canPublish"
        );
        g.can_publish_data = Some(true);
        assert!(g.effective_can_publish_data());
    }

    #[test]
    fn omits_defaults_and_keeps_explicit_false() {
        let mut g = VideoGrant::join("standup");
        g.can_publish = Some(false);
        assert_eq!(
            serde_json::to_string(&g).unwrap(),
            r#"{"roomJoin":true,"room":"standup","canPublish":false}"#
        );
        assert_eq!(serde_json::to_string(&SipGrant::default()).unwrap(), "{}");
    }

    #[test]
    fn sources_and_kinds() {
        assert_eq!(
            "screen_share".parse::<TrackSource>().unwrap(),
            TrackSource::ScreenShare
        );
        assert_eq!(
            "Camera".parse::<TrackSource>().unwrap_err(),
            crate::MintError::UnknownTrackSource {
                value: "Camera".into()
            }
        );
        assert_eq!(ParticipantKind::from_wire("AGENT"), ParticipantKind::Agent);
        assert_eq!(
            ParticipantKind::from_wire("robot"),
            ParticipantKind::Other("robot".into())
        );
        assert!("bridge_rtsp".parse::<KindDetail>().is_ok());
        assert!("nope".parse::<KindDetail>().is_err());
        let mut g = VideoGrant::join("r");
        g.can_publish_sources = vec![TrackSource::Camera];
        assert!(g.can_publish_source(&TrackSource::Camera));
        assert!(!g.can_publish_source(&TrackSource::Microphone));
        g.can_publish = Some(false);
        assert!(!g.can_publish_source(&TrackSource::Camera));
    }

    #[test]
    fn partial_sip_and_nulls_decode() {
        let sip: SipGrant = serde_json::from_str(r#"{"admin":true}"#).unwrap();
        assert!(sip.admin && !sip.call);
        let v: VideoGrant =
            serde_json::from_str(r#"{"room":null,"roomJoin":null,"canPublish":null}"#).unwrap();
        assert_eq!(v, VideoGrant::default());
        assert!(serde_json::from_str::<VideoGrant>(r#"{"roomJoin":"yes"}"#).is_err());
    }
}
