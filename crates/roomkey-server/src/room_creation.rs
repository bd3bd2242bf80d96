//! A token's room created before the token is handed out (a profile with `create_room`), with
//! its agents' dispatches made sure of.

use roomkey_rooms::CreateRoomRequest;
use roomkey_token::{Claims, RoomConfiguration};

use crate::app::App;
use crate::audit::AgentDispatch;
use crate::error::ApiError;
use crate::metrics;

/// Creates the token's room with its configuration, then makes sure the room has a dispatch of
/// each of the token's agents: one the room already had (from its creation or before) is kept,
/// one it lacks (the room existed) is created, since LiveKit would not dispatch it on join.
pub(crate) async fn create_room(
    app: &App,
    claims: &Claims,
    profile: &str,
) -> Result<AgentDispatch, ApiError> {
    let Some(client) = &app.rooms else {
        return Err(ApiError::Internal(format!(
            "profile {profile} creates rooms but no RoomService URL is configured"
        )));
    };
    let request = CreateRoomRequest::from_config(
        claims.room(),
        claims
            .room_config
            .as_deref()
            .unwrap_or(&RoomConfiguration::default()),
        "",
    );
    let count = |ok: bool| {
        let outcome = if ok { "ok" } else { "error" };
        app.metrics
            .room_service
            .get_or_create(&metrics::Outcome { outcome })
            .inc();
    };
    let result = client.create_room(&request).await;
    count(result.is_ok());
    result.map_err(ApiError::Upstream)?;
    if request.agents.is_empty() {
        return Ok(AgentDispatch::NoAgents);
    }
    let result = app
        .dispatch_checks
        .one_at_a_time(
            claims.room(),
            client.ensure_dispatches(claims.room(), &request.agents),
        )
        .await;
    count(result.is_ok());
    let mut outcome = AgentDispatch::InRoom;
    for ensured in result.map_err(ApiError::Upstream)? {
        if ensured.created {
            outcome = AgentDispatch::Dispatched;
            tracing::info!(
                room = claims.room(),
                agent = ensured.dispatch.agent_name.as_str(),
                dispatch = ensured.dispatch.id.as_str(),
                "the room existed, so LiveKit would not dispatch this agent on join; dispatched it"
            );
        } else if ensured.metadata_differs {
            tracing::warn!(
                room = claims.room(),
                agent = ensured.dispatch.agent_name.as_str(),
                dispatch = ensured.dispatch.id.as_str(),
                "the room already has a dispatch of this agent with other job metadata; none was added"
            );
        }
    }
    Ok(outcome)
}
