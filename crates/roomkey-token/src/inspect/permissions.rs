//! What a token permits, as the server reads it: every grant claim it carries, member by member,
//! with the defaults of unset members filled in from the grant table.

use serde_json::{Map, Value, json};

use crate::claims::Claims;
use crate::grants::{GRANTS, Value as GrantValue};

/// `{"video": {…} | null, "sip": …, …}`: one entry per grant claim, `null` when the token does
/// not carry it. Booleans are effective (`canPublishData` unset follows `canPublish`), an empty
/// `canPublishSources` is `"all"`, strings and lists are as given.
pub fn permissions(claims: &Claims) -> Value {
    let mut all = Map::new();
    for g in GRANTS.iter() {
        let Some(value) = g.get(claims) else {
            all.entry(g.claim).or_insert(Value::Null);
            continue;
        };
        let shown = match value {
            GrantValue::Sources([]) => json!("all"),
            GrantValue::Sources(list) => json!(list),
            GrantValue::Text(text) => json!(text),
            GrantValue::Texts(list) => json!(list),
            GrantValue::Flag(_) | GrantValue::Tri(_) => json!(g.effective(claims)),
        };
        let claim = all.entry(g.claim).or_insert_with(|| json!({}));
        if let Value::Object(members) = claim {
            members.insert(g.key.to_owned(), shown);
        }
    }
    Value::Object(all)
}
