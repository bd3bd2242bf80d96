//! The token endpoints, `POST /api/token` and `POST /api/v1/generate-access-token`: one
//! pipeline from the request to the answer (limits, authentication, the body, the policy, the
//! room, the token, the audit line), timed and counted, refusals logged.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant, SystemTime};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt as _;
use roomkey_token::input::from_json_noting_unknown;
use roomkey_token::{AccessToken, Claims, LimitedClaim, MintError};

use crate::audit::{self, AgentDispatch};
use crate::client_addr;
use crate::denials::Refused;
use crate::error::ApiError;
use crate::fields;
use crate::limits::Scope;
use crate::metrics;
use crate::policy::{self, Caller, Decision};

use crate::answers::{ActionResponse, standard_answer};
use crate::app::{App, SUMMARY};
use crate::http_input::{bad_json, client_ip, is_json, json_object_text, read_body};
use crate::requests::{ACTION_FIELDS, ActionRequest, StandardRequest};
use crate::room_creation::create_room;

/// Which endpoint a request came through (metric label).
#[derive(Debug, Clone, Copy)]
enum Endpoint {
    Standard,
    Action,
}

impl Endpoint {
    fn index(self) -> usize {
        match self {
            Endpoint::Standard => 0,
            Endpoint::Action => 1,
        }
    }

    fn label(self) -> &'static str {
        metrics::ENDPOINTS[self.index()]
    }
}

pub(crate) async fn standard(State(app): State<Arc<App>>, request: Request) -> Response {
    handle(&app, Endpoint::Standard, request).await
}

pub(crate) async fn action(State(app): State<Arc<App>>, request: Request) -> Response {
    handle(&app, Endpoint::Action, request).await
}

async fn handle(app: &App, endpoint: Endpoint, request: Request) -> Response {
    let started = Instant::now();
    let mut profile = None;
    let mut who = Refused::default();
    // The client's address is taken before the request moves into the pipeline, so that a
    // refusal that drops it (a timeout, a panic) still logs who it was. Only the peer address
    // and the forwarded header are kept, by reference count; they are read only for a refusal.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .copied();
    let forwarded = app
        .config
        .trust_forwarded_for
        .then(|| {
            request
                .headers()
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .cloned()
        })
        .flatten();
    let deadline = tokio::time::Instant::from_std(started + app.config.request_timeout);
    let issued = async {
        let mut issuing = std::pin::pin!(issue(app, endpoint, request, &mut profile, &mut who));
        // Nearly every request completes at its first poll (its body has arrived with its
        // head); the timer is set up only for one that has to wait.
        let first = std::future::poll_fn(|cx| Poll::Ready(issuing.as_mut().poll(cx))).await;
        match first {
            Poll::Ready(result) => Ok(result),
            Poll::Pending => tokio::time::timeout_at(deadline, issuing).await,
        }
    };
    // A panic answers 500 like any other internal error, instead of dropping the connection.
    let result = match std::panic::AssertUnwindSafe(issued).catch_unwind().await {
        Ok(Ok(result)) => result,
        Ok(Err(_elapsed)) => Err(ApiError::Timeout),
        Err(_panic) => Err(ApiError::Internal("a handler panicked".into())),
    };
    app.metrics
        .observe(endpoint.index(), started.elapsed().as_secs_f64());
    match result {
        Ok(response) => {
            app.metrics
                .issued(endpoint.index(), profile.unwrap_or(usize::MAX));
            response
        }
        Err(e) => {
            let profile_index = profile;
            let profile = profile.map_or("-", |p| app.config.profiles[p].name.as_str());
            let peer = peer.map(|ConnectInfo(a)| a);
            who.client = Some(
                client_addr::client_ip(forwarded.as_ref().map(HeaderValue::as_bytes), peer)
                    .unwrap_or_else(|_| peer.map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |a| a.ip())),
            );
            app.denials.log(&e, endpoint.label(), profile, &who);
            app.metrics
                .denied(endpoint.index(), e.code(), profile_index);
            e.into_response()
        }
    }
}

async fn issue(
    app: &App,
    endpoint: Endpoint,
    request: Request,
    profile_index: &mut Option<usize>,
    who: &mut Refused,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    // Filled in only for a refusal, so that an issued token pays nothing for it.
    let refused = |who: &mut Refused, caller: Option<&Caller>| {
        who.caller = caller.map(|c| c.name.clone());
    };
    let limits = &app.limits;
    let mut ip_key = None;
    if limits.limits_ip() || app.config.trust_forwarded_for {
        let ip = client_ip(app, &parts).inspect_err(|_| refused(who, None))?;
        ip_key = Some(client_addr::limit_key(ip, app.config.ipv6_prefix));
    }
    let caller = if limits.is_shared() {
        shared_limits(app, ip_key, &parts.headers, profile_index, who).await?
    } else {
        // In memory: the address's limit before the caller is authenticated (a flood is
        // refused before any key is looked at), the caller's after. (A limit that is off is
        // not called at all: the two calls were 0.4 % of a profile under wrk.)
        if limits.limits_ip() {
            limits
                .check(ip_key, None)
                .await
                .inspect_err(|_| refused(who, None))?;
        }
        let caller = authenticate(app, &parts.headers)
            .await
            .inspect_err(|_| refused(who, None))?;
        *profile_index = Some(caller.profile);
        if limits.limits_callers() {
            limits
                .check(None, Some(caller_key(&caller)))
                .await
                .inspect_err(|_| refused(who, Some(&caller)))?;
        }
        caller
    };
    let result = issue_for(app, endpoint, &parts, body, &caller, profile_index).await;
    if result.is_err() {
        refused(who, Some(&caller));
    }
    result
}

/// The limits with a shared store, where each check is a round trip, and the caller. A caller
/// known without waiting (a static key, development mode) has its address's limit and its own
/// checked in one round trip; a session token's caller needs its JWT verified first, so its
/// address is checked before that, as in memory, and its own limit after. Either way the
/// answers are those of the memory store: the address's limit counts every request, and a
/// refused address or an unauthenticated request does not count against a caller.
async fn shared_limits(
    app: &App,
    ip_key: Option<IpAddr>,
    headers: &HeaderMap,
    profile_index: &mut Option<usize>,
    who: &mut Refused,
) -> Result<Caller, ApiError> {
    let limits = &app.limits;
    let caller = match authenticate_now(app, headers) {
        Some(Ok(caller)) => {
            let key = limits.limits_callers().then(|| caller_key(&caller));
            match limits.check(ip_key, key).await {
                Ok(()) => {}
                Err(e) if Scope::Ip.refused(&e) => return Err(e),
                Err(e) => {
                    *profile_index = Some(caller.profile);
                    who.caller = Some(caller.name.clone());
                    return Err(e);
                }
            }
            *profile_index = Some(caller.profile);
            return Ok(caller);
        }
        Some(Err(e)) => {
            limits.check(ip_key, None).await?;
            return Err(ApiError::Unauthenticated(e));
        }
        None => {
            limits.check(ip_key, None).await?;
            authenticate(app, headers).await?
        }
    };
    *profile_index = Some(caller.profile);
    let key = limits.limits_callers().then(|| caller_key(&caller));
    limits
        .check(None, key)
        .await
        .inspect_err(|_| who.caller = Some(caller.name.clone()))?;
    Ok(caller)
}

/// The key of a caller's rate limit: its name, and the session's subject for an OIDC caller.
fn caller_key(caller: &Caller) -> String {
    match &caller.subject {
        Some(subject) => format!("{}/{subject}", caller.name),
        None => caller.name.clone(),
    }
}

/// The rest of [`issue`], for an authenticated caller within its limits.
async fn issue_for(
    app: &App,
    endpoint: Endpoint,
    parts: &axum::http::request::Parts,
    body: Body,
    caller: &Caller,
    profile_index: &mut Option<usize>,
) -> Result<Response, ApiError> {
    let profile = &app.config.profiles[caller.profile];
    *profile_index = Some(caller.profile);
    if matches!(endpoint, Endpoint::Action) && !caller.admin {
        return Err(ApiError::AdminOnly);
    }
    let body = read_body(body, app.config.max_body_bytes).await?;
    let (token, ttl, create_first) = prepare(
        endpoint,
        profile,
        caller,
        &parts.headers,
        &body,
        &app.ignored_fields,
    )?;
    if create_first {
        // Boxed: the room creation (an HTTP call, and the token held across it) is a large
        // state, which would otherwise make every request's future large, and a future is
        // copied whole each time it moves.
        return Box::pin(async move {
            // Nothing happens on the LiveKit server for a token that cannot be minted.
            token.validate().map_err(mint_error)?;
            let agents = create_room(app, token.claims(), &profile.name).await?;
            finish(app, endpoint, profile, caller, &token, ttl, agents)
        })
        .await;
    }
    let agents = if has_agents(token.claims()) {
        AgentDispatch::OnlyIfJoinCreatesRoom
    } else {
        AgentDispatch::NoAgents
    };
    finish(app, endpoint, profile, caller, &token, ttl, agents)
}

/// The synchronous middle of a request: parses the body, applies the policy and builds the
/// token (not yet signed). Returns it with its TTL and whether the room is to be created first.
fn prepare(
    endpoint: Endpoint,
    profile: &policy::Profile,
    caller: &Caller,
    headers: &HeaderMap,
    body: &[u8],
    ignored: &fields::IgnoredFields,
) -> Result<(AccessToken, Duration, bool), ApiError> {
    if !is_json(headers) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let body = json_object_text(body)?;
    let request = match endpoint {
        Endpoint::Standard => {
            let (r, unknown) =
                from_json_noting_unknown::<StandardRequest>(body).map_err(bad_json)?;
            if unknown.total > 0 {
                fields::standard_unknown(ignored, &unknown)?;
            }
            r.into_request()
        }
        Endpoint::Action => {
            let (r, unknown) = from_json_noting_unknown::<ActionRequest>(body).map_err(bad_json)?;
            if let Some(first) = unknown.fields.first() {
                return Err(fields::refused(first, &ACTION_FIELDS));
            }
            r.into_request()?
        }
    };
    let decision = policy::decide(profile, caller, request).map_err(|d| ApiError::Forbidden {
        field: d.field,
        reason: d.reason,
    })?;
    let (create_first, ttl) = (decision.create_room, decision.ttl);
    // The decision's strings move into the token; from here on they are read from its claims.
    Ok((build_token(profile, decision), ttl, create_first))
}

/// The synchronous end of a request: signs the token, writes the audit line and the answer.
fn finish(
    app: &App,
    endpoint: Endpoint,
    profile: &policy::Profile,
    caller: &Caller,
    token: &AccessToken,
    ttl: Duration,
    agents: AgentDispatch,
) -> Result<Response, ApiError> {
    let claims = token.claims();
    // One clock read: the token's times and the audit line's timestamp.
    let now = SystemTime::now();
    let now_secs = roomkey_token::unix_seconds(now);
    let (capped, ttl) = match caller.session_expires_at {
        Some(exp) => {
            // What is left of the session now, not at authentication: the body and a room
            // creation came in between.
            let left = u64::try_from(exp.saturating_sub(now_secs)).unwrap_or(0);
            if left == 0 {
                return Err(ApiError::Unauthenticated(crate::auth::AuthError::Session(
                    "expired while the request was being answered (a LiveKit token may not outlive its session here)".into(),
                )));
            }
            let left = Duration::from_secs(left);
            if token.ttl() > left {
                (Some(token.clone().with_ttl(left)), left)
            } else {
                (None, ttl)
            }
        }
        None => (None, ttl),
    };
    let jwt = capped
        .as_ref()
        .unwrap_or(token)
        .sign_at(&app.config.key, now_secs)
        .map_err(mint_error)?;
    audit::issued(&app.audit, now, caller, &profile.name, claims, ttl, agents);
    let (status, body) = match endpoint {
        Endpoint::Standard => (
            StatusCode::CREATED,
            Ok(standard_answer(
                &profile.livekit_url,
                &jwt,
                claims.room(),
                &claims.name,
            )),
        ),
        Endpoint::Action => (
            StatusCode::OK,
            serde_json::to_vec(&ActionResponse {
                token: &jwt,
                summary: SUMMARY,
                expires_at: Some(capped.as_ref().unwrap_or(token).expires_at(now_secs)),
                identity: &claims.sub,
                room: claims.room(),
                server_url: &profile.livekit_url,
            }),
        ),
    };
    let body = body.map_err(|e| ApiError::Internal(format!("cannot write the response: {e}")))?;
    Ok(crate::error::json_answer(status, body))
}

async fn authenticate(app: &App, headers: &HeaderMap) -> Result<Caller, ApiError> {
    if app.config.dev {
        return Ok(dev_caller());
    }
    app.auth
        .authenticate(authorization(headers))
        .await
        .map_err(ApiError::Unauthenticated)
}

/// [`authenticate`] when it needs no waiting (`None` for a session JWT).
fn authenticate_now(
    app: &App,
    headers: &HeaderMap,
) -> Option<Result<Caller, crate::auth::AuthError>> {
    if app.config.dev {
        return Some(Ok(dev_caller()));
    }
    app.auth.authenticate_now(authorization(headers))
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
}

/// Development mode's caller: no authentication, every switch.
fn dev_caller() -> Caller {
    Caller {
        name: "dev".into(),
        subject: None,
        display_name: None,
        profile: 0,
        admin: true,
        ttl_cap: None,
        session_expires_at: None,
    }
}

fn build_token(profile: &policy::Profile, d: Decision) -> AccessToken {
    // The profile's grant claims, with the video grant the decision made for its room.
    let mut claims = profile.grants.clone();
    claims.video = Some(d.video);
    let mut token = AccessToken::from_claims(claims)
        .with_identity(d.identity)
        .with_name(d.name)
        .with_metadata(d.metadata)
        .with_attributes(d.attributes)
        .with_ttl(d.ttl);
    if let Some(config) = d.room_config {
        token = token.with_room_config(config);
    }
    token
}

fn mint_error(e: MintError) -> ApiError {
    let field = match &e {
        MintError::TooLong { field, .. } => Some(match field {
            LimitedClaim::Identity => "participant_identity",
            LimitedClaim::Room => "room_name",
            LimitedClaim::Name => "participant_name",
            LimitedClaim::Metadata => "participant_metadata",
            other => other.json_path(),
        }),
        MintError::AttributesTooLarge { .. } => Some("participant_attributes"),
        _ => None,
    };
    ApiError::BadRequest {
        field: field.map(str::to_owned),
        message: e.to_string(),
    }
}

fn has_agents(claims: &Claims) -> bool {
    claims
        .room_config
        .as_deref()
        .is_some_and(|c| !c.agents.is_empty())
}
