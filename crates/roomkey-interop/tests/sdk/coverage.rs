//! The specs cover every field.

use super::*;

/// The specs cover every claim and field, every enum value, and tri-state permissions as true,
/// false and unset.
#[test]
fn specs_cover_every_field() {
    let specs = load_specs();
    assert!(
        specs.len() >= 30,
        "{} specs, at least 30 wanted",
        specs.len()
    );
    let ids: BTreeSet<&str> = specs.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids.len(), specs.len(), "spec ids are unique");
    for id in VECTOR_SPECS {
        assert!(ids.contains(id), "vector spec {id} exists");
    }

    // The worked example input (mint_scripts_reproduce_the_spec_section_12_tokens).
    assert!(
        specs.iter().any(|s| s.ttl == 6 * 3600
            && s.json
                == json!({"sub": "alice", "name": "Alice", "video": {"roomJoin": true, "room": "standup", "canPublish": false}})),
        "the example input (alice/Alice/standup/canPublish false, 6 h) is a spec"
    );

    let mut missing = Vec::new();
    let mut need = |path: &str, found: bool| {
        if !found {
            missing.push(path.to_owned());
        }
    };
    let any = |f: &dyn Fn(&Spec) -> bool| specs.iter().any(f);
    // Whether some spec's list at `path` holds an entry that passes `test`.
    let any_listed = |path: &str, test: &dyn Fn(&Value) -> bool| {
        any(&|s| {
            get_path(&s.json, path)
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(test))
        })
    };
    for path in [
        "sub",
        "name",
        "metadata",
        "attributes",
        "kind",
        "kindDetails",
        "roomConfig.name",
        "roomConfig.emptyTimeout",
        "roomConfig.departureTimeout",
        "roomConfig.maxParticipants",
        "roomConfig.metadata",
        "roomConfig.minPlayoutDelay",
        "roomConfig.maxPlayoutDelay",
        "roomConfig.syncStreams",
        "roomConfig.agents",
        "roomConfig.tags",
        "roomConfig.egress",
        "roomPreset",
        "sha256",
    ] {
        need(path, any(&|s| s.has(path)));
    }
    for field in [
        "agentName",
        "metadata",
        "restartPolicy",
        "deployment",
        "attributes",
    ] {
        need(
            &format!("roomConfig.agents[].{field}"),
            any_listed("roomConfig.agents", &|d| d.get(field).is_some()),
        );
    }
    // Every member of every grant, from the table the surfaces are made from: a grant added
    // there without a vector fails here. A tri-state one needs each of its three states.
    for grant in roomkey_token::grants::GRANTS {
        let path = grant.path();
        if grant.kind != roomkey_token::grants::Kind::Tri {
            need(&path, any(&|s| s.has(&path)));
            continue;
        }
        for (label, want) in [
            ("true", Some(json!(true))),
            ("false", Some(json!(false))),
            ("unset", None),
        ] {
            need(
                &format!("{path} {label}"),
                any(&|s| {
                    s.json.get(grant.claim).is_some() && get_path(&s.json, &path).cloned() == want
                }),
            );
        }
    }
    for kind in [
        "standard",
        "ingress",
        "egress",
        "sip",
        "agent",
        "connector",
        "bridge",
    ] {
        need(&format!("kind {kind}"), any(&|s| s.json["kind"] == kind));
    }
    for detail in [
        "cloud_agent",
        "forwarded",
        "connector_whatsapp",
        "connector_twilio",
        "bridge_rtsp",
        "simulation",
    ] {
        need(
            &format!("kindDetails {detail}"),
            any_listed("kindDetails", &|d| *d == detail),
        );
    }
    for source in ["camera", "microphone", "screen_share", "screen_share_audio"] {
        need(
            &format!("canPublishSources {source}"),
            any_listed("video.canPublishSources", &|d| *d == source),
        );
    }
    need(
        "attributes with an empty-string value",
        any(&|s| {
            s.json["attributes"]
                .as_object()
                .is_some_and(|a| a.values().any(|v| v == ""))
        }),
    );
    need(
        "non-ASCII metadata",
        any(&|s| s.json["metadata"].as_str().is_some_and(|m| !m.is_ascii())),
    );
    need(
        "JSON-text metadata",
        any(&|s| {
            s.json["metadata"]
                .as_str()
                .is_some_and(|m| serde_json::from_str::<Map<String, Value>>(m).is_ok())
        }),
    );
    need(
        "partial sip grant",
        any(&|s| s.json["sip"].as_object().is_some_and(|o| o.len() == 1)),
    );
    need(
        "roomConfig.agents[].restartPolicy JRP_NEVER",
        any(&|s| s.json.to_string().contains("JRP_NEVER")),
    );
    fail_if_any("specs.json lacks coverage", &missing);

    for s in &specs {
        let claims = s.claims();
        if let Some(config) = &claims.room_config {
            assert_eq!(
                config.find_sensitive_credentials(),
                None,
                "spec {}: roomConfig must not carry credentials",
                s.id
            );
        }
        s.roomkey_builder()
            .validate()
            .unwrap_or_else(|e| panic!("spec {}: roomkey refuses it: {e}", s.id));
    }
}
