//! AgentDispatchService: explicit agent dispatches into a room, and the rule that no agent a
//! token asks for is dropped without a word.
//!
//! A token's `roomConfig.agents` (and a `CreateRoom` request's `agents`) dispatch agents only
//! when the room is created. For a room that already exists the server ignores them without
//! an error, so the agent never comes. [`RoomClient::ensure_dispatches`] closes that gap: it
//! lists the room's dispatches and creates one for each asked-for agent the room lacks.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use roomkey_token::{JobRestartPolicy, RoomAgentDispatch};
use serde::{Deserialize, Serialize};

use crate::client::{Method, RoomClient};
use crate::error::RoomError;
use crate::types::{enum_name, int, nullable};

/// `CreateAgentDispatchRequest`: one agent to dispatch into a room.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreateDispatchRequest {
    /// The room (with `room.auto_create` on, the server creates it if missing).
    pub room: String,
    /// The name the agent's workers registered with.
    pub agent_name: String,
    /// Job metadata handed to the agent, verbatim.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub metadata: String,
    /// Deployment to dispatch from (LiveKit Cloud); empty is production.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub deployment: String,
    /// What to do when the job fails (LiveKit Cloud).
    #[serde(skip_serializing_if = "is_default_policy")]
    pub restart_policy: JobRestartPolicy,
    /// Attributes for the agent participant.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

fn is_default_policy(p: &JobRestartPolicy) -> bool {
    *p == JobRestartPolicy::default()
}

impl CreateDispatchRequest {
    /// A dispatch of `agent_name` into `room`, without metadata.
    pub fn new(room: impl Into<String>, agent_name: impl Into<String>) -> Self {
        CreateDispatchRequest {
            room: room.into(),
            agent_name: agent_name.into(),
            ..CreateDispatchRequest::default()
        }
    }

    /// The dispatch a room configuration's agent entry stands for.
    pub fn from_room_dispatch(room: impl Into<String>, agent: &RoomAgentDispatch) -> Self {
        CreateDispatchRequest {
            room: room.into(),
            agent_name: agent.agent_name.clone(),
            metadata: agent.metadata.clone(),
            deployment: agent.deployment.clone(),
            restart_policy: agent.restart_policy,
            attributes: agent.attributes.clone(),
        }
    }
}

/// An agent dispatch, as AgentDispatchService returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AgentDispatch {
    /// Server-assigned id (`AD_…`).
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    /// The agent's name.
    #[serde(default, alias = "agentName", deserialize_with = "nullable")]
    pub agent_name: String,
    /// The room.
    #[serde(default, deserialize_with = "nullable")]
    pub room: String,
    /// Job metadata.
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: String,
    /// Deployment (LiveKit Cloud).
    #[serde(default, deserialize_with = "nullable")]
    pub deployment: String,
    /// Creation time, unix nanoseconds.
    #[serde(default, skip_deserializing)]
    pub created_at_ns: i64,
    /// The jobs the dispatch has led to: one per worker that accepted it (for a room job,
    /// at most one). Empty while no worker has taken it.
    #[serde(default, skip_deserializing)]
    pub jobs: Vec<Job>,
    #[serde(default, skip_serializing, deserialize_with = "nullable")]
    state: DispatchState,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct DispatchState {
    #[serde(default, deserialize_with = "nullable")]
    jobs: Vec<Job>,
    #[serde(default, alias = "createdAt", deserialize_with = "int")]
    created_at: i64,
}

impl AgentDispatch {
    /// Moves the server's nested `state` into the flat fields.
    fn flatten(mut self) -> Self {
        let state = std::mem::take(&mut self.state);
        self.jobs = state.jobs;
        self.created_at_ns = state.created_at;
        self
    }
}

/// A job: one worker's run of a dispatch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Job {
    /// Server-assigned id (`AJ_…`).
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    /// `JT_ROOM`, `JT_PUBLISHER` or `JT_PARTICIPANT`.
    #[serde(default, rename(deserialize = "type"), deserialize_with = "enum_name")]
    pub job_type: String,
    /// `JS_PENDING`, `JS_RUNNING`, `JS_SUCCESS` or `JS_FAILED`.
    #[serde(default, skip_deserializing)]
    pub status: String,
    /// Why the job failed, if it did.
    #[serde(default, skip_deserializing)]
    pub error: String,
    /// The worker that took it.
    #[serde(default, skip_deserializing)]
    pub worker_id: String,
    /// The identity the agent joins the room with.
    #[serde(default, skip_deserializing)]
    pub participant_identity: String,
    #[serde(default, skip_serializing, deserialize_with = "nullable")]
    state: JobState,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
struct JobState {
    #[serde(default, deserialize_with = "enum_name")]
    status: String,
    #[serde(default, deserialize_with = "nullable")]
    error: String,
    #[serde(default, alias = "workerId", deserialize_with = "nullable")]
    worker_id: String,
    #[serde(default, alias = "participantIdentity", deserialize_with = "nullable")]
    participant_identity: String,
}

impl Job {
    fn flatten(mut self) -> Self {
        let state = std::mem::take(&mut self.state);
        self.status = match state.status.as_str() {
            // protojson leaves the zero value out, and some servers write numbers.
            "" | "0" => "JS_PENDING".to_owned(),
            "1" => "JS_RUNNING".to_owned(),
            "2" => "JS_SUCCESS".to_owned(),
            "3" => "JS_FAILED".to_owned(),
            _ => state.status,
        };
        if self.job_type.is_empty() || self.job_type == "0" {
            "JT_ROOM".clone_into(&mut self.job_type);
        }
        self.error = state.error;
        self.worker_id = state.worker_id;
        self.participant_identity = state.participant_identity;
        self
    }
}

fn flatten(dispatch: AgentDispatch) -> AgentDispatch {
    let mut d = dispatch.flatten();
    d.jobs = std::mem::take(&mut d.jobs)
        .into_iter()
        .map(Job::flatten)
        .collect();
    d
}

#[derive(Debug, Default, Deserialize)]
struct ListDispatchResponse {
    #[serde(default, alias = "agentDispatches", deserialize_with = "nullable")]
    agent_dispatches: Vec<AgentDispatch>,
}

/// What [`RoomClient::ensure_dispatches`] found or did for one asked-for agent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EnsuredDispatch {
    /// The dispatch the agent comes by: the one created now, or the room's existing one.
    pub dispatch: AgentDispatch,
    /// Whether it was created now (false: the room already had a dispatch of this agent,
    /// from its creation or an earlier dispatch, so none was added).
    pub created: bool,
    /// The existing dispatch's job metadata differs from the metadata asked for (it is kept:
    /// a second dispatch would start a second job).
    pub metadata_differs: bool,
}

impl RoomClient {
    /// Dispatches an agent into a room (AgentDispatchService `CreateDispatch`), with a token
    /// that has `roomAdmin` for that room only. Not idempotent: a request that may have reached
    /// the server is never sent again, so a lost connection is an error (the dispatch may
    /// exist; [`RoomClient::list_dispatches`] tells).
    ///
    /// # Errors
    /// A [`RoomError`] describing the failure.
    pub async fn create_dispatch(
        &self,
        request: &CreateDispatchRequest,
    ) -> Result<AgentDispatch, RoomError> {
        let d: AgentDispatch = self
            .call(Method::CreateDispatch, &request.room, request)
            .await?;
        Ok(flatten(d))
    }

    /// Lists a room's agent dispatches with their jobs (`ListDispatch`).
    ///
    /// # Errors
    /// A [`RoomError`] describing the failure.
    pub async fn list_dispatches(&self, room: &str) -> Result<Vec<AgentDispatch>, RoomError> {
        #[derive(Serialize)]
        struct Req<'a> {
            room: &'a str,
        }
        let resp: ListDispatchResponse =
            self.call(Method::ListDispatch, room, &Req { room }).await?;
        Ok(resp.agent_dispatches.into_iter().map(flatten).collect())
    }

    /// Deletes a dispatch (`DeleteDispatch`); the server ends its jobs. Returns the deleted
    /// dispatch as it was, or `None` when a retry found it already gone: an earlier attempt
    /// deleted it before its connection was lost, so there is nothing to show.
    ///
    /// # Errors
    /// [`RoomError::NotFound`] if the room has no dispatch of that id, or another [`RoomError`].
    pub async fn delete_dispatch(
        &self,
        room: &str,
        dispatch_id: &str,
    ) -> Result<Option<AgentDispatch>, RoomError> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Req<'a> {
            dispatch_id: &'a str,
            room: &'a str,
        }
        match self
            .call_counting::<_, AgentDispatch>(
                Method::DeleteDispatch,
                room,
                &Req { dispatch_id, room },
            )
            .await
        {
            Ok(d) => Ok(Some(flatten(d))),
            // The first attempt went through before its connection was lost.
            Err((e, attempts)) if attempts > 1 && e.is_not_found() => Ok(None),
            Err((e, _)) => Err(e),
        }
    }

    /// Makes sure `room` has a dispatch of each agent in `agents`: lists the room's dispatches
    /// and creates one for each agent (by name and deployment) that has none. Repeating the
    /// call adds nothing. The room must exist (or the server must create rooms on dispatch).
    ///
    /// # Errors
    /// The first [`RoomError`]; dispatches created before it stay.
    pub async fn ensure_dispatches(
        &self,
        room: &str,
        agents: &[RoomAgentDispatch],
    ) -> Result<Vec<EnsuredDispatch>, RoomError> {
        let existing = self.list_dispatches(room).await?;
        let mut out: Vec<EnsuredDispatch> = Vec::with_capacity(agents.len());
        for agent in agents {
            let same_agent = |d: &AgentDispatch| {
                d.agent_name == agent.agent_name && d.deployment == agent.deployment
            };
            // An agent listed twice is dispatched once, as the server does for roomConfig.
            if out.iter().any(|e| same_agent(&e.dispatch)) {
                continue;
            }
            if let Some(found) = existing.iter().find(|d| same_agent(d)) {
                out.push(EnsuredDispatch {
                    metadata_differs: found.metadata != agent.metadata,
                    dispatch: found.clone(),
                    created: false,
                });
                continue;
            }
            let created = self
                .create_dispatch(&CreateDispatchRequest::from_room_dispatch(room, agent))
                .await?;
            out.push(EnsuredDispatch {
                dispatch: created,
                created: true,
                metadata_differs: false,
            });
        }
        Ok(out)
    }

    /// Waits up to `within` until every dispatch in `ids` has at least one job (a worker took
    /// it), polling `ListDispatch`. Returns the dispatches as last seen; those still without a
    /// job are the ones no worker has taken. A dispatch deleted meanwhile is left out.
    ///
    /// # Errors
    /// A [`RoomError`] from `ListDispatch`.
    pub async fn wait_for_jobs(
        &self,
        room: &str,
        ids: &[String],
        within: Duration,
    ) -> Result<Vec<AgentDispatch>, RoomError> {
        const POLL: Duration = Duration::from_millis(250);
        let deadline = Instant::now() + within;
        loop {
            let seen: Vec<AgentDispatch> = self
                .list_dispatches(room)
                .await?
                .into_iter()
                .filter(|d| ids.contains(&d.id))
                .collect();
            let now = Instant::now();
            if seen.iter().all(|d| !d.jobs.is_empty()) || now >= deadline {
                return Ok(seen);
            }
            tokio::time::sleep(POLL.min(deadline - now)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_real_servers_dispatch() {
        // The shape livekit-server v1.13.5 answers (proto names, int64 as strings, enums by name).
        let d: AgentDispatch = serde_json::from_str(
            r#"{"id":"AD_x","agent_name":"triage","room":"r","metadata":"{\"a\":1}",
                "state":{"jobs":[{"id":"AJ_1","dispatch_id":"AD_x","type":"JT_ROOM",
                  "room":{"sid":"RM_1","name":"r"},"agent_name":"triage",
                  "state":{"status":"JS_RUNNING","started_at":"1","worker_id":"AW_9",
                           "participant_identity":"agent-AJ_1"}}],
                         "created_at":"1767225600123456789"},
                "restart_policy":"JRP_ON_FAILURE","deployment":"","attributes":{}}"#,
        )
        .unwrap();
        let d = flatten(d);
        assert_eq!((d.id.as_str(), d.agent_name.as_str()), ("AD_x", "triage"));
        assert_eq!(d.metadata, r#"{"a":1}"#);
        assert_eq!(d.created_at_ns, 1_767_225_600_123_456_789);
        assert_eq!(d.jobs.len(), 1);
        let job = &d.jobs[0];
        assert_eq!(
            (
                job.id.as_str(),
                job.job_type.as_str(),
                job.status.as_str(),
                job.worker_id.as_str(),
                job.participant_identity.as_str()
            ),
            ("AJ_1", "JT_ROOM", "JS_RUNNING", "AW_9", "agent-AJ_1")
        );
    }

    #[test]
    fn defaults_left_out_read_as_their_zero_values() {
        let d = flatten(
            serde_json::from_str::<AgentDispatch>(
                r#"{"id":"AD_y","agentName":"a","state":{"jobs":[{"id":"AJ_2","state":{}}]}}"#,
            )
            .unwrap(),
        );
        assert_eq!(d.jobs[0].status, "JS_PENDING");
        assert_eq!(d.jobs[0].job_type, "JT_ROOM");
        let none = flatten(serde_json::from_str::<AgentDispatch>(r#"{"id":"AD_z"}"#).unwrap());
        assert!(none.jobs.is_empty() && none.created_at_ns == 0);
    }

    #[test]
    fn writes_the_create_request_without_defaults() {
        let mut agent = RoomAgentDispatch::new("triage", "{\"lang\":\"de\"}");
        agent.deployment = "staging".into();
        let req = CreateDispatchRequest::from_room_dispatch("support-42", &agent);
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"room":"support-42","agentName":"triage","metadata":"{\"lang\":\"de\"}","deployment":"staging"}"#
        );
        assert_eq!(
            serde_json::to_string(&CreateDispatchRequest::new("r", "a")).unwrap(),
            r#"{"room":"r","agentName":"a"}"#
        );
    }
}
