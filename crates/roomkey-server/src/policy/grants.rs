//! What a profile grants: its `[profile.NAME.grants]` table, and how a token's grants are
//! made from it (the whole ceiling, or the action's switches within it).

use roomkey_token::{AgentGrant, InferenceGrant, ObservabilityGrant, SipGrant, VideoGrant};

use serde::Deserialize;
use toml::Spanned;

use super::{Denied, GrantRequest, denied};

/// The grants a profile gives, as `[profile.NAME.grants]` in the configuration file writes them.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(clippy::struct_excessive_bools)]
pub struct GrantsFile {
    /// video.roomJoin (default true).
    pub room_join: Option<bool>,
    /// video.canPublish.
    pub can_publish: Option<bool>,
    /// video.canSubscribe.
    pub can_subscribe: Option<bool>,
    /// video.canPublishData.
    pub can_publish_data: Option<bool>,
    /// video.canPublishSources.
    #[serde(default)]
    pub can_publish_sources: Vec<Spanned<String>>,
    /// video.canUpdateOwnMetadata.
    pub can_update_own_metadata: Option<bool>,
    /// video.canSubscribeMetrics.
    pub can_subscribe_metrics: Option<bool>,
    /// video.canManageAgentSession.
    pub can_manage_agent_session: Option<bool>,
    /// video.hidden.
    #[serde(default)]
    pub hidden: bool,
    /// video.recorder.
    #[serde(default)]
    pub recorder: bool,
    /// video.agent.
    #[serde(default)]
    pub agent: bool,
    /// video.roomCreate.
    #[serde(default)]
    pub room_create: bool,
    /// video.roomList.
    #[serde(default)]
    pub room_list: bool,
    /// video.roomRecord.
    #[serde(default)]
    pub room_record: bool,
    /// video.roomAdmin.
    #[serde(default)]
    pub room_admin: bool,
    /// video.ingressAdmin.
    #[serde(default)]
    pub ingress_admin: bool,
    /// video.destinationRoom.
    pub destination_room: Option<String>,
    /// sip.admin.
    #[serde(default)]
    pub sip_admin: bool,
    /// sip.call.
    #[serde(default)]
    pub sip_call: bool,
    /// agent.admin.
    #[serde(default)]
    pub agent_admin: bool,
    /// agent.dispatchAdmin.
    #[serde(default)]
    pub agent_dispatch_admin: bool,
    /// inference.perform.
    #[serde(default)]
    pub inference: bool,
    /// observability.write.
    #[serde(default)]
    pub observability: bool,
}

/// The action's grant: join the room, plus exactly the switches asked for. Each switch
/// may only ask for what the profile grants (the ceiling); the ceiling's restrictions
/// (`canPublish = false`, a source list) carry over, so leaving a switch unset never widens
/// what the caller may do.
pub(super) fn action_grant(
    ceiling: &VideoGrant,
    req: &GrantRequest,
    unrestricted: bool,
) -> Result<VideoGrant, Denied> {
    if !ceiling.room_join && !unrestricted {
        return Err(denied("roomJoin", "joining rooms is not granted to you"));
    }
    let mut v = VideoGrant::join(ceiling.room.clone());
    for (slot, limit) in [
        (&mut v.can_publish, ceiling.can_publish),
        (&mut v.can_subscribe, ceiling.can_subscribe),
        (&mut v.can_publish_data, ceiling.can_publish_data),
    ] {
        if limit == Some(false) {
            *slot = Some(false);
        }
    }
    v.can_publish_sources
        .clone_from(&ceiling.can_publish_sources);
    for &(name, want) in &req.switches {
        let allowed = match name {
            "canPublish" => ceiling.effective_can_publish(),
            "canSubscribe" => ceiling.effective_can_subscribe(),
            "canPublishData" => ceiling.effective_can_publish_data(),
            "canUpdateOwnMetadata" => ceiling.effective_can_update_own_metadata(),
            "canSubscribeMetrics" => ceiling.effective_can_subscribe_metrics(),
            other => flag(ceiling, other),
        };
        if want && !allowed && !unrestricted {
            return Err(denied(name, "this permission is not granted to you"));
        }
        match name {
            "canPublish" => v.can_publish = Some(want),
            "canSubscribe" => v.can_subscribe = Some(want),
            "canPublishData" => v.can_publish_data = Some(want),
            "canUpdateOwnMetadata" => v.can_update_own_metadata = Some(want),
            "canSubscribeMetrics" => v.can_subscribe_metrics = Some(want),
            other => set_flag(&mut v, other, want),
        }
    }
    if let Some(dest) = req.destination_room.as_ref().filter(|d| !d.is_empty()) {
        if *dest != ceiling.destination_room && !unrestricted {
            return Err(denied(
                "destinationRoom",
                "this destination room is not granted to you",
            ));
        }
        dest.clone_into(&mut v.destination_room);
    }
    Ok(v)
}

fn flag(v: &VideoGrant, name: &str) -> bool {
    match name {
        "hidden" => v.hidden,
        "roomCreate" => v.room_create,
        "roomList" => v.room_list,
        "roomRecord" => v.room_record,
        "roomAdmin" => v.room_admin,
        "ingressAdmin" => v.ingress_admin,
        "recorder" => v.recorder,
        "agent" => v.agent,
        _ => false,
    }
}

fn set_flag(v: &mut VideoGrant, name: &str, value: bool) {
    let slot = match name {
        "hidden" => &mut v.hidden,
        "roomCreate" => &mut v.room_create,
        "roomList" => &mut v.room_list,
        "roomRecord" => &mut v.room_record,
        "roomAdmin" => &mut v.room_admin,
        "ingressAdmin" => &mut v.ingress_admin,
        "recorder" => &mut v.recorder,
        "agent" => &mut v.agent,
        _ => return,
    };
    *slot = value;
}

/// The other grants of a profile, for the token.
pub fn other_grants(
    g: &GrantsFile,
) -> (
    Option<SipGrant>,
    Option<AgentGrant>,
    Option<InferenceGrant>,
    Option<ObservabilityGrant>,
) {
    let sip = (g.sip_admin || g.sip_call).then(|| {
        let mut s = SipGrant::default();
        s.admin = g.sip_admin;
        s.call = g.sip_call;
        s
    });
    let agent = (g.agent_admin || g.agent_dispatch_admin).then(|| {
        let mut a = AgentGrant::default();
        a.admin = g.agent_admin;
        a.dispatch_admin = g.agent_dispatch_admin;
        a
    });
    let inference = g.inference.then(|| {
        let mut i = InferenceGrant::default();
        i.perform = true;
        i
    });
    let observability = g.observability.then(|| {
        let mut o = ObservabilityGrant::default();
        o.write = true;
        o
    });
    (sip, agent, inference, observability)
}
