//! The message catalog: every string a page shows, in English and Simplified Chinese
//! (`i18n/en.toml`, `i18n/zh.toml`, compiled in). Pages pick the language from the visitor's
//! explicit choice (the `xdesk_lang` cookie the switch on every page sets; a signed-in agent's
//! choice is also kept on the account and set again at each sign-in), then the browser's
//! `Accept-Language`, then English.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Shown in place of a string missing from a catalog, so a test can spot it in any page.
pub const MISSING: &str = "\u{27e6}missing text\u{27e7}";

/// The languages pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Zh,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh",
        }
    }

    /// The value of `<html lang>`.
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The language's own name, for the switch.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "中文",
        }
    }

    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The explicit choice if any, else the first language of `Accept-Language` (by quality)
    /// that pages are written in, else English.
    pub fn negotiate(choice: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(l) = choice.and_then(Lang::from_code) {
            return l;
        }
        let mut offered: Vec<(f32, Lang)> = accept_language
            .unwrap_or_default()
            .split(',')
            .filter_map(|part| {
                let mut it = part.split(';');
                let lang = Lang::from_code(it.next()?)?;
                let q = it
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .and_then(|q| q.parse::<f32>().ok())
                    .unwrap_or(1.0);
                (q > 0.0).then_some((q, lang))
            })
            .collect();
        offered.sort_by(|a, b| b.0.total_cmp(&a.0));
        offered.first().map_or(Lang::En, |(_, l)| *l)
    }

    /// Every text of this language's catalog, by key: for tests that look for untranslated
    /// strings on a rendered page.
    pub fn texts(self) -> impl Iterator<Item = (&'static str, &'static str)> {
        self.catalog().iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn catalog(self) -> &'static HashMap<String, String> {
        &CATALOGS[match self {
            Lang::En => 0,
            Lang::Zh => 1,
        }]
    }
}

pub(crate) const SOURCES: [(&str, &str); 2] = [
    ("en", include_str!("../i18n/en.toml")),
    ("zh", include_str!("../i18n/zh.toml")),
];

static CATALOGS: LazyLock<[HashMap<String, String>; 2]> =
    LazyLock::new(|| SOURCES.map(|(code, text)| parse(code, text)));

fn parse(code: &str, text: &str) -> HashMap<String, String> {
    toml::from_str(text).unwrap_or_else(|e| {
        // The catalogs are compiled in and checked by tests; this is never reached in a build
        // that passed them.
        tracing::error!(language = code, error = %e, "message catalog does not parse");
        HashMap::new()
    })
}

/// Translates for one page: what templates call as `tr.t("key")`.
#[derive(Debug, Clone, Copy)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    pub fn t(&self, key: &str) -> &'static str {
        match self.lang.catalog().get(key) {
            Some(s) => s.as_str(),
            None => {
                tracing::warn!(key, language = self.lang.code(), "missing text");
                MISSING
            }
        }
    }

    /// Whether the catalog has `key`: for texts picked by a code that may be new.
    pub fn has(&self, key: &str) -> bool {
        self.lang.catalog().contains_key(key)
    }

    /// A text with `{}` replaced by `arg`.
    pub fn t1(&self, key: &str, arg: impl std::fmt::Display) -> String {
        self.t(key).replacen("{}", &arg.to_string(), 1)
    }

    /// The name of a ticket state, priority or channel, as stored (`state.pending_customer`).
    pub fn word(&self, kind: &str, value: &str) -> &'static str {
        self.t(&format!("{kind}.{value}"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn both_catalogs_parse_and_hold_the_same_keys_with_text() {
        let [en, zh] =
            SOURCES.map(|(_, text)| toml::from_str::<HashMap<String, String>>(text).unwrap());
        let en_keys: BTreeSet<_> = en.keys().collect();
        let zh_keys: BTreeSet<_> = zh.keys().collect();
        assert_eq!(
            en_keys.difference(&zh_keys).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "missing in zh"
        );
        assert_eq!(
            zh_keys.difference(&en_keys).collect::<Vec<_>>(),
            Vec::<&&String>::new(),
            "missing in en"
        );
        for (k, v) in en.iter().chain(zh.iter()) {
            assert!(!v.trim().is_empty(), "`{k}` is empty");
        }
        // Chinese texts are Chinese: every one holds a CJK character or is a name kept as is.
        let kept = ["brand", "channel.telegram", "identity.telegram"];
        for (k, v) in &zh {
            if !kept.contains(&k.as_str()) {
                assert!(
                    v.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
                    "zh `{k}` = `{v}` is not translated"
                );
            }
        }
    }

    /// Every `tr.t("…")`, `tr.t1("…", …)` and `tr.word("kind", …)` in the templates names a
    /// key both catalogs hold.
    #[test]
    fn every_text_the_templates_use_is_in_both_catalogs() {
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates"
        ))];
        let mut files = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    files.push(path);
                }
            }
        }
        let mut used = BTreeSet::new();
        for path in files {
            let text = std::fs::read_to_string(path).unwrap();
            for marker in ["tr.t(\"", "tr.t1(\""] {
                for part in text.split(marker).skip(1) {
                    used.insert(part.split('"').next().unwrap().to_owned());
                }
            }
        }
        assert!(used.len() > 20, "templates use {} texts?", used.len());
        for lang in Lang::ALL {
            for key in &used {
                assert!(
                    lang.catalog().contains_key(key),
                    "`{key}` missing from {}",
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn every_state_priority_and_channel_has_a_name() {
        use xdesk_domain::ticket::{Channel, Priority, TicketState};
        for lang in Lang::ALL {
            let tr = Tr::new(lang);
            for s in TicketState::ALL {
                assert_ne!(tr.word("state", s.as_str()), MISSING, "{s}");
                assert_ne!(tr.word("next", s.as_str()), MISSING, "{s}");
            }
            for p in Priority::ALL {
                assert_ne!(tr.word("priority", p.as_str()), MISSING, "{p}");
            }
            for k in ["first_response", "next_response", "resolution"] {
                assert_ne!(tr.word("sla", k), MISSING, "{k}");
            }
            for k in ["running", "paused", "met", "breached"] {
                assert_ne!(tr.word("clock", k), MISSING, "{k}");
            }
            for i in xdesk_domain::triage::Intent::ALL {
                assert_ne!(tr.word("intent", i.as_str()), MISSING, "{i:?}");
            }
            for c in Channel::ALL {
                assert_ne!(tr.word("channel", c.as_str()), MISSING, "{c}");
            }
            for kind in xdesk_domain::identity::KINDS {
                assert_ne!(tr.word("identity", kind), MISSING, "{kind}");
            }
            for r in xdesk_domain::identity::Role::ALL {
                assert_ne!(tr.word("role", r.as_str()), MISSING, "{r}");
            }
        }
    }

    /// The portal's form names every issue type and case field, explains each form with
    /// fields, and says each field problem in words, in both languages.
    #[test]
    fn every_issue_type_field_and_field_problem_has_a_text() {
        use xdesk_domain::issue_type::{CaseField, IssueType};
        let codes = [
            "required",
            "invalid_address",
            "invalid_tx_hash",
            "invalid_amount",
            "ambiguous_amount",
            "invalid_asset",
            "invalid_memo",
            "network_required",
            "unknown_network",
            "invalid_time",
            "invalid_subject",
            "invalid_body",
            "invalid_filename",
        ];
        for lang in Lang::ALL {
            let tr = Tr::new(lang);
            for i in IssueType::ALL {
                assert_ne!(tr.word("issue", i.as_str()), MISSING, "{i}");
                if !i.fields().is_empty() {
                    assert_ne!(tr.word("issuehint", i.as_str()), MISSING, "{i}");
                }
            }
            for f in CaseField::ALL {
                assert_ne!(tr.word("field", f.as_str()), MISSING, "{f}");
            }
            for c in codes {
                assert!(tr.has(&format!("fielderr.{c}")), "{c}");
            }
        }
    }

    #[test]
    fn the_language_follows_the_choice_then_the_browser() {
        assert_eq!(Lang::negotiate(None, None), Lang::En);
        assert_eq!(
            Lang::negotiate(None, Some("zh-CN,zh;q=0.9,en;q=0.8")),
            Lang::Zh
        );
        assert_eq!(
            Lang::negotiate(None, Some("fr-FR, en;q=0.5, zh;q=0.7")),
            Lang::Zh
        );
        assert_eq!(Lang::negotiate(None, Some("de, fr")), Lang::En);
        assert_eq!(Lang::negotiate(Some("en"), Some("zh-CN")), Lang::En);
        assert_eq!(Lang::negotiate(Some("zh_TW"), None), Lang::Zh);
        assert_eq!(Lang::negotiate(Some("xx"), Some("zh")), Lang::Zh);
        assert_eq!(Lang::negotiate(None, Some("zh;q=0, en")), Lang::En);
    }
}
