//! Meaning: claims reduced to what the server makes of them, one key per field.

use super::*;

pub(crate) type Meaning = BTreeMap<String, Value>;

/// A roomConfig in canonical protojson: parsed and re-written by the protocol crate (pbjson),
/// which drops default values and fixes the spelling. `null` means no configuration.
pub(crate) fn canonical_room_config(v: &Value) -> Value {
    if v.is_null() {
        return json!({});
    }
    let config: livekit_protocol::RoomConfiguration = serde_json::from_value(v.clone())
        .unwrap_or_else(|e| panic!("roomConfig is not a RoomConfiguration ({e}): {v}"));
    serde_json::to_value(&config).expect("RoomConfiguration serializes")
}

/// Canonicalises `roomConfig.egress`, which roomkey keeps as opaque JSON: Node writes every
/// default value inside it (protobuf-es `toJSON`), which does not change its meaning.
pub(crate) fn normalize_egress(c: &mut Claims) {
    if let Some(egress) = c.room_config.as_mut().and_then(|rc| rc.egress.as_mut()) {
        let parsed: livekit_protocol::RoomEgress = serde_json::from_value(egress.clone())
            .unwrap_or_else(|e| panic!("roomConfig.egress is not a RoomEgress ({e}): {egress}"));
        *egress = serde_json::to_value(&parsed).expect("RoomEgress serializes");
    }
}

/// The server's reading of roomkey claims (livekit/protocol auth/grants.go and its getters):
/// absent grants grant nothing, absent tri-state permissions take the server's defaults.
pub(crate) fn server_meaning(c: &Claims) -> Meaning {
    let v = c.video.clone().unwrap_or_default();
    let sip = c.sip.clone().unwrap_or_default();
    let agent = c.agent.clone().unwrap_or_default();
    let endpoint = c.agent_endpoint.clone().unwrap_or_default();
    let thread = c.agent_thread.clone().unwrap_or_default();
    let sources: Vec<&str> = v.can_publish_sources.iter().map(|s| s.as_str()).collect();
    let config = serde_json::to_value(&c.room_config).expect("roomConfig serializes");
    let entries = [
        ("identity", json!(c.identity())),
        ("name", json!(c.name)),
        ("kind", json!(c.kind.as_ref().map_or("", |k| k.as_str()))),
        (
            "kindDetails",
            json!(
                c.kind_details
                    .iter()
                    .map(|d| d.as_str())
                    .collect::<Vec<_>>()
            ),
        ),
        ("metadata", json!(c.metadata)),
        ("attributes", json!(c.attributes)),
        ("sha256", json!(c.sha256)),
        ("roomPreset", json!(c.room_preset)),
        ("roomConfig", canonical_room_config(&config)),
        ("video.roomCreate", json!(v.room_create)),
        ("video.roomList", json!(v.room_list)),
        ("video.roomRecord", json!(v.room_record)),
        ("video.roomAdmin", json!(v.room_admin)),
        ("video.roomJoin", json!(v.room_join)),
        ("video.room", json!(v.room)),
        ("video.destinationRoom", json!(v.destination_room)),
        ("video.canPublish", json!(v.effective_can_publish())),
        ("video.canSubscribe", json!(v.effective_can_subscribe())),
        (
            "video.canPublishData",
            json!(v.effective_can_publish_data()),
        ),
        ("video.canPublishSources", json!(sources)),
        (
            "video.canUpdateOwnMetadata",
            json!(v.effective_can_update_own_metadata()),
        ),
        ("video.ingressAdmin", json!(v.ingress_admin)),
        ("video.hidden", json!(v.hidden)),
        ("video.recorder", json!(v.recorder)),
        ("video.agent", json!(v.agent)),
        (
            "video.canSubscribeMetrics",
            json!(v.effective_can_subscribe_metrics()),
        ),
        (
            "video.canManageAgentSession",
            json!(v.effective_can_manage_agent_session()),
        ),
        ("sip.admin", json!(sip.admin)),
        ("sip.call", json!(sip.call)),
        ("agent.admin", json!(agent.admin)),
        ("agent.simulationAdmin", json!(agent.simulation_admin)),
        ("agent.databaseAdmin", json!(agent.database_admin)),
        ("agent.dispatchAdmin", json!(agent.dispatch_admin)),
        (
            "inference.perform",
            json!(c.inference.as_ref().is_some_and(|g| g.perform)),
        ),
        (
            "observability.write",
            json!(c.observability.as_ref().is_some_and(|g| g.write)),
        ),
        ("agentEndpoint.call", json!(endpoint.call)),
        ("agentEndpoint.agentName", json!(endpoint.agent_name)),
        ("agentEndpoint.deployment", json!(endpoint.deployment)),
        ("agentThread.all", json!(thread.all)),
        ("agentThread.scope", json!(thread.scope)),
        ("agentThread.threadIds", json!(thread.thread_ids)),
        ("agentThread.list", json!(thread.list)),
        ("agentThread.create", json!(thread.create)),
        ("agentThread.write", json!(thread.write)),
        ("agentThread.read", json!(thread.read)),
        ("agentThread.delete", json!(thread.delete)),
    ];
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// What the server would make of the spec, restricted to what `sdk`'s verifier returns.
pub(crate) fn expected_decoded_meaning(sdk: Sdk, claims: &Claims) -> Meaning {
    let mut m = server_meaning(claims);
    for k in sdk.cannot_decode() {
        assert!(m.remove(*k).is_some(), "unknown meaning key {k}");
    }
    m
}

/// The Python SDK's `Claims` dataclass (as `verify.py` prints it) reduced to meaning keys, with
/// Python's own reading: `TokenVerifier.verify` fills absent video fields with the dataclass
/// defaults (`can_publish`, `can_subscribe`, `can_publish_data` = True, the rest None = not set).
pub(crate) fn python_meaning(d: &Value) -> Meaning {
    fn opt_bool(v: &Value, what: &str) -> Value {
        match v {
            Value::Null => json!(false),
            Value::Bool(b) => json!(b),
            other => panic!("Python {what} is {other}, not a bool or None"),
        }
    }
    fn bool_(v: &Value, what: &str) -> Value {
        assert!(v.is_boolean(), "Python {what} is {v}, not a bool");
        v.clone()
    }
    fn str_or_empty(v: &Value, what: &str) -> Value {
        match v {
            Value::Null => json!(""),
            Value::String(_) => v.clone(),
            other => panic!("Python {what} is {other}, not a str or None"),
        }
    }
    fn or_empty(v: &Value, empty: Value) -> Value {
        if v.is_null() { empty } else { v.clone() }
    }
    let video = &d["video"];
    let sip = &d["sip"];
    let agent = &d["agent"];
    let endpoint = &d["agent_endpoint"];
    let thread = &d["agent_thread"];
    let mut m = Meaning::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put("identity", str_or_empty(&d["identity"], "identity"));
    put("name", str_or_empty(&d["name"], "name"));
    put("kind", str_or_empty(&d["kind"], "kind"));
    put("metadata", str_or_empty(&d["metadata"], "metadata"));
    put("attributes", or_empty(&d["attributes"], json!({})));
    put("sha256", str_or_empty(&d["sha256"], "sha256"));
    put("roomPreset", str_or_empty(&d["room_preset"], "room_preset"));
    put("roomConfig", canonical_room_config(&d["room_config"]));
    for (key, py) in [
        ("roomCreate", "room_create"),
        ("roomList", "room_list"),
        ("roomRecord", "room_record"),
        ("roomAdmin", "room_admin"),
        ("roomJoin", "room_join"),
        ("canUpdateOwnMetadata", "can_update_own_metadata"),
        ("ingressAdmin", "ingress_admin"),
        ("hidden", "hidden"),
        ("recorder", "recorder"),
        ("agent", "agent"),
        ("canSubscribeMetrics", "can_subscribe_metrics"),
        ("canManageAgentSession", "can_manage_agent_session"),
    ] {
        put(&format!("video.{key}"), opt_bool(&video[py], py));
    }
    for (key, py) in [
        ("canPublish", "can_publish"),
        ("canSubscribe", "can_subscribe"),
        ("canPublishData", "can_publish_data"),
    ] {
        put(&format!("video.{key}"), bool_(&video[py], py));
    }
    put("video.room", str_or_empty(&video["room"], "room"));
    put(
        "video.destinationRoom",
        str_or_empty(&video["destination_room"], "destination_room"),
    );
    put(
        "video.canPublishSources",
        or_empty(&video["can_publish_sources"], json!([])),
    );
    put("sip.admin", bool_(&sip["admin"], "sip.admin"));
    put("sip.call", bool_(&sip["call"], "sip.call"));
    for (key, py) in [
        ("admin", "admin"),
        ("simulationAdmin", "simulation_admin"),
        ("databaseAdmin", "database_admin"),
        ("dispatchAdmin", "dispatch_admin"),
    ] {
        put(&format!("agent.{key}"), opt_bool(&agent[py], py));
    }
    put(
        "inference.perform",
        bool_(&d["inference"]["perform"], "inference.perform"),
    );
    put(
        "observability.write",
        bool_(&d["observability"]["write"], "observability.write"),
    );
    put(
        "agentEndpoint.call",
        opt_bool(&endpoint["call"], "agent_endpoint.call"),
    );
    put(
        "agentEndpoint.agentName",
        str_or_empty(&endpoint["agent_name"], "agent_endpoint.agent_name"),
    );
    put(
        "agentEndpoint.deployment",
        str_or_empty(&endpoint["deployment"], "agent_endpoint.deployment"),
    );
    for key in ["all", "list", "create", "write", "read", "delete"] {
        put(&format!("agentThread.{key}"), opt_bool(&thread[key], key));
    }
    put(
        "agentThread.scope",
        str_or_empty(&thread["scope"], "agent_thread.scope"),
    );
    put(
        "agentThread.threadIds",
        or_empty(&thread["thread_ids"], json!([])),
    );
    m
}

/// The Rust SDK's `Claims` reduced to meaning keys, read through its getters (which follow the
/// server's defaults since livekit-token 0.3.0).
pub(crate) fn rust_sdk_meaning(c: &lk::Claims) -> Meaning {
    let v = &c.video;
    let config = serde_json::to_value(&c.room_config).expect("roomConfig serializes");
    let attributes: BTreeMap<&String, &String> = c.attributes.iter().collect();
    let entries = [
        ("identity", json!(c.sub)),
        ("name", json!(c.name)),
        ("kind", json!(c.kind)),
        ("metadata", json!(c.metadata)),
        ("attributes", json!(attributes)),
        ("sha256", json!(c.sha256)),
        ("roomConfig", canonical_room_config(&config)),
        ("video.roomCreate", json!(v.room_create)),
        ("video.roomList", json!(v.room_list)),
        ("video.roomRecord", json!(v.room_record)),
        ("video.roomAdmin", json!(v.room_admin)),
        ("video.roomJoin", json!(v.room_join)),
        ("video.room", json!(v.room)),
        ("video.destinationRoom", json!(v.destination_room)),
        ("video.canPublish", json!(v.can_publish())),
        ("video.canSubscribe", json!(v.can_subscribe())),
        ("video.canPublishData", json!(v.can_publish_data())),
        ("video.canPublishSources", json!(v.can_publish_sources)),
        (
            "video.canUpdateOwnMetadata",
            json!(v.can_update_own_metadata()),
        ),
        ("video.ingressAdmin", json!(v.ingress_admin)),
        ("video.hidden", json!(v.hidden)),
        ("video.recorder", json!(v.recorder)),
        ("video.agent", json!(v.agent)),
        ("sip.admin", json!(c.sip.admin)),
        ("sip.call", json!(c.sip.call)),
        ("agent.admin", json!(c.agent.admin)),
        ("agent.simulationAdmin", json!(c.agent.simulation_admin)),
        ("agent.databaseAdmin", json!(c.agent.database_admin)),
        ("agent.dispatchAdmin", json!(c.agent.dispatch_admin)),
        ("inference.perform", json!(c.inference.perform)),
        ("observability.write", json!(c.observability.write)),
        ("agentEndpoint.call", json!(c.agent_endpoint.call)),
        (
            "agentEndpoint.agentName",
            json!(c.agent_endpoint.agent_name),
        ),
        (
            "agentEndpoint.deployment",
            json!(c.agent_endpoint.deployment),
        ),
        ("agentThread.all", json!(c.agent_thread.all)),
        ("agentThread.scope", json!(c.agent_thread.scope)),
        ("agentThread.threadIds", json!(c.agent_thread.thread_ids)),
        ("agentThread.list", json!(c.agent_thread.list)),
        ("agentThread.create", json!(c.agent_thread.create)),
        ("agentThread.write", json!(c.agent_thread.write)),
        ("agentThread.read", json!(c.agent_thread.read)),
        ("agentThread.delete", json!(c.agent_thread.delete)),
    ];
    entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
}

/// Go's verify record (`ClaimGrants` as protocol's JSON, and the VideoGrant getters in
/// `effective`) reduced to meaning keys. Go omits what is empty or false (`omitempty`), so an
/// absent field is its zero value; the tri-state permissions are read through protocol's own
/// getters — the server's reading, not restated here.
pub(crate) fn go_meaning(record: &Value) -> Meaning {
    let c = &record["claims"];
    let eff = &record["effective"];
    let str_ = |v: &Value| match v {
        Value::Null => json!(""),
        Value::String(_) => v.clone(),
        other => panic!("Go wrote {other} where a string belongs"),
    };
    let bool_ = |v: &Value| match v {
        Value::Null => json!(false),
        Value::Bool(_) => v.clone(),
        other => panic!("Go wrote {other} where a bool belongs"),
    };
    let or = |v: &Value, empty: Value| if v.is_null() { empty } else { v.clone() };
    let mut m = Meaning::new();
    for key in [
        "identity",
        "name",
        "kind",
        "metadata",
        "sha256",
        "roomPreset",
    ] {
        m.insert(key.into(), str_(&c[key]));
    }
    m.insert("kindDetails".into(), or(&c["kindDetails"], json!([])));
    m.insert("attributes".into(), or(&c["attributes"], json!({})));
    m.insert("roomConfig".into(), canonical_room_config(&c["roomConfig"]));
    let video = &c["video"];
    for key in [
        "roomCreate",
        "roomList",
        "roomRecord",
        "roomAdmin",
        "roomJoin",
        "ingressAdmin",
        "hidden",
        "recorder",
        "agent",
    ] {
        m.insert(format!("video.{key}"), bool_(&video[key]));
    }
    for key in ["room", "destinationRoom"] {
        m.insert(format!("video.{key}"), str_(&video[key]));
    }
    m.insert(
        "video.canPublishSources".into(),
        or(&video["canPublishSources"], json!([])),
    );
    for key in [
        "canPublish",
        "canSubscribe",
        "canPublishData",
        "canUpdateOwnMetadata",
        "canSubscribeMetrics",
        "canManageAgentSession",
    ] {
        assert!(
            eff[key].is_boolean(),
            "Go's effective {key} is {}",
            eff[key]
        );
        m.insert(format!("video.{key}"), eff[key].clone());
    }
    for path in [
        "sip.admin",
        "sip.call",
        "agent.admin",
        "agent.simulationAdmin",
        "inference.perform",
        "observability.write",
    ] {
        m.insert(
            path.into(),
            bool_(get_path(c, path).unwrap_or(&Value::Null)),
        );
    }
    m
}

/// A payload (or Go's `ClaimGrants` JSON) with `roomConfig` in canonical protojson, so that two
/// JSON texts of the same configuration compare equal.
pub(crate) fn with_canonical_room_config(mut v: Value) -> Value {
    if let Some(config) = v.get("roomConfig").cloned() {
        v["roomConfig"] = canonical_room_config(&config);
    }
    v
}

/// Differences between two meanings, one line each.
pub(crate) fn meaning_diff(expected: &Meaning, actual: &Meaning) -> Vec<String> {
    let keys: BTreeSet<&String> = expected.keys().chain(actual.keys()).collect();
    keys.into_iter()
        .filter(|k| expected.get(*k) != actual.get(*k))
        .map(|k| {
            format!(
                "{k}: expected {}, got {}",
                expected.get(k).map_or("(absent)".into(), Value::to_string),
                actual.get(k).map_or("(absent)".into(), Value::to_string)
            )
        })
        .collect()
}

/// A problem when two meanings differ: `what` (who reads what) with the differences, and then
/// `shown`, the reader's own output when it helps.
pub(crate) fn meaning_problem(
    id: &str,
    what: &str,
    expected: &Meaning,
    actual: &Meaning,
    shown: &str,
) -> Option<String> {
    let diff = meaning_diff(expected, actual);
    (!diff.is_empty()).then(|| format!("{id}: {what}:\n  {}{shown}", diff.join("\n  ")))
}
