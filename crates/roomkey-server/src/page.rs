//! The web page (`GET /`): `assets/index.html`, with the action's grant fields rendered from
//! the grant table (`roomkey_token::grants::GRANTS`), so that a switch added there is on the
//! page too.

use std::fmt::Write as _;
use std::sync::LazyLock;

use roomkey_token::grants::GRANTS;

const TEMPLATE: &str = include_str!("../assets/index.html");
const SWITCHES_MARK: &str = "<!--grant switches-->\n";
const TEXTS_MARK: &str = "<!--grant texts-->\n";

/// The page, rendered once.
pub(crate) static INDEX_HTML: LazyLock<String> = LazyLock::new(|| {
    let (mut switches, mut texts) = (String::new(), String::new());
    for g in GRANTS.iter() {
        let Some(label) = g.action_label else {
            continue;
        };
        let (id, about) = (g.key, escape(g.about()));
        let label = escape(label);
        // The keys are camelCase identifiers; ids and names need no escaping.
        if g.kind.is_bool() {
            let _ = write!(
                switches,
                "        <div class=\"field\">\n          <label for=\"{id}\">{label}</label>\n          \
                 <select id=\"{id}\" name=\"{id}\" data-switch aria-describedby=\"{id}-desc {id}-err\">\
                 <option value=\"\">unset</option><option value=\"true\">true</option>\
                 <option value=\"false\">false</option></select>\n          \
                 <p class=\"hint\" id=\"{id}-desc\">{about}</p>\n          \
                 <p class=\"field-error\" id=\"{id}-err\" hidden></p>\n        </div>\n"
            );
        } else {
            let _ = write!(
                texts,
                "        <div class=\"field\">\n          <div class=\"head\"><label for=\"{id}\">{label}</label></div>\n          \
                 <input id=\"{id}\" name=\"{id}\" type=\"text\" spellcheck=\"false\" data-switch \
                 aria-describedby=\"{id}-desc {id}-err\">\n          \
                 <p class=\"hint\" id=\"{id}-desc\">{about}</p>\n          \
                 <p class=\"field-error\" id=\"{id}-err\" hidden></p>\n        </div>\n"
            );
        }
    }
    TEMPLATE
        .replacen(SWITCHES_MARK, &switches, 1)
        .replacen(TEXTS_MARK, &texts, 1)
});

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_switch_is_on_the_page_once() {
        let page = INDEX_HTML.as_str();
        assert!(!page.contains("<!--grant"), "a mark was left");
        for g in GRANTS.iter().filter(|g| g.is_action_switch()) {
            let input = format!("id=\"{}\"", g.key);
            assert_eq!(page.matches(&input).count(), 1, "{g:?}");
            assert!(page.contains(&format!(">{}</label>", g.action_label.unwrap())));
            assert!(page.contains(&format!(">{}</p>", escape(g.about()))));
        }
    }
}
