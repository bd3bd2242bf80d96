//! Every row of the grant table (`roomkey_token::grants::GRANTS`) through each server surface
//! that takes it: a profile's `[profile.NAME.grants]` key, and the action's switch with its
//! policy check against the profile. A grant added to the table and missing from a surface
//! fails here.

use roomkey_token::Claims;
use roomkey_token::grants::{GRANTS, Grant, Kind, Setting};
use serde_json::{Value, json};

use crate::common::*;

const ALL_KEY: &str = "rk_test_all_grants_Vb7Nq2Lx5Kc8Pm";

/// A value of each kind other than the default, for a row.
fn sample(g: &Grant) -> Setting {
    match g.kind {
        Kind::Flag | Kind::Tri => Setting::Bool(true),
        Kind::Text => Setting::Text(format!("{}-value", g.key)),
        Kind::Sources => Setting::Sources(vec![roomkey_token::TrackSource::Camera]),
        _ => Setting::Texts(vec!["t1".into(), "t2".into()]),
    }
}

fn toml_value(setting: &Setting) -> String {
    match setting {
        Setting::Bool(on) => on.to_string(),
        Setting::Text(text) => format!("{text:?}"),
        Setting::Sources(list) => {
            format!("{:?}", list.iter().map(|s| s.as_str()).collect::<Vec<_>>())
        }
        Setting::Texts(list) => format!("{list:?}"),
        other => panic!("no TOML for {other:?}"),
    }
}

fn json_value(setting: &Setting) -> Value {
    match setting {
        Setting::Bool(on) => json!(on),
        Setting::Text(text) => json!(text),
        other => panic!("not an action switch: {other:?}"),
    }
}

/// Whether `claims` carry `setting` for `g`.
fn carries(claims: &Claims, g: &Grant, setting: &Setting) -> bool {
    let mut want = claims.clone();
    g.set(&mut want, setting.clone()).unwrap();
    want == *claims
}

/// The base configuration plus a profile `all` that grants every named row its sample, and an
/// admin caller with that profile.
fn config_with_every_grant() -> String {
    let grants: String = GRANTS
        .iter()
        .filter_map(|g| Some(format!("{} = {}\n", g.name?, toml_value(&sample(g)))))
        .collect();
    format!(
        "{}\n[[caller]]\nname = \"all\"\nkey_sha256 = \"{}\"\nprofile = \"all\"\nadmin = true\n\n\
         [profile.all]\nrooms = [\"*\"]\nidentity = \"request\"\nfields = [\"participant_identity\"]\n\
         ttl = \"5m\"\n\n[profile.all.grants]\n{grants}",
        base_config(""),
        roomkey_server::hash_key(ALL_KEY),
    )
}

#[tokio::test]
async fn every_grant_of_a_profile_reaches_its_tokens() {
    let r = router(&config_with_every_grant());
    let reply = token(
        &r,
        Some(ALL_KEY),
        json!({"participant_identity": "a", "room_name": "r"}),
    )
    .await;
    let claims = reply.issued();
    let mut checked = 0;
    for g in GRANTS.iter().filter(|g| g.name.is_some()) {
        assert!(
            carries(&claims, g, &sample(g)),
            "{g:?} is not in {claims:?}"
        );
        checked += 1;
    }
    assert_eq!(checked, GRANTS.len() - 1, "all but video.room");
}

#[tokio::test]
async fn every_action_switch_reaches_the_token_within_the_profile_and_not_beyond() {
    let r = router(&config_with_every_grant());
    let switches: Vec<&Grant> = GRANTS.iter().filter(|g| g.is_action_switch()).collect();
    assert!(switches.len() >= 14, "the action's switches: {switches:?}");
    for g in switches {
        let setting = sample(g);
        let body = json!({"identity": "a", "room": "r", g.key: json_value(&setting)});
        // The profile that grants everything gives it.
        let reply = action(&r, Some(ALL_KEY), body.clone()).await;
        assert_eq!(reply.status.as_u16(), 200, "{g:?}: {}", reply.text);
        let claims = verify(reply.json["token"].as_str().unwrap());
        assert!(carries(&claims, g, &setting), "{g:?} is not in {claims:?}");
        // The viewer's profile (can_publish = false, nothing else) gives only what the server
        // grants by default and the profile does not take away.
        let reply = action(&r, Some(VIEWER_ADMIN_KEY), body).await;
        let granted_by_default = g.kind.is_bool()
            && g.key != "canPublish"
            && g.key != "canPublishData"
            && g.unset != roomkey_token::grants::Unset::Off;
        if granted_by_default {
            assert_eq!(reply.status.as_u16(), 200, "{g:?}: {}", reply.text);
        } else {
            reply.forbidden(g.key);
        }
    }
}
