//! The secret screen on every inbound path: seed phrases, private keys and 2FA codes are cut
//! out of what a customer sends before it is stored, and the customer is warned at once.

use crate::tickets::system_notice;
use serde_json::json;
use xdesk_domain::secrets::{self, SecretKind};
use xdesk_domain::ticket::{Priority, guess_language};
use xdesk_store::NewMessage;

/// Tag put on a ticket whose customer exposed a secret, so it can be found and audited.
pub const SECRET_TAG: &str = "secret-exposed";

/// What the screen removed from one message, as kind names for the hash chain and the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screened {
    pub kinds: Vec<SecretKind>,
}

impl Screened {
    pub fn found(&self) -> bool {
        !self.kinds.is_empty()
    }

    pub fn names(&self) -> Vec<String> {
        self.kinds.iter().map(|k| k.as_str().to_owned()).collect()
    }

    /// What a new ticket that exposed a secret gets: urgent priority and the tag.
    pub fn raise(&self, tags: &mut Vec<String>, priority: &mut Priority) {
        if !self.found() {
            return;
        }
        *priority = Priority::Urgent;
        if !tags.iter().any(|t| t == SECRET_TAG) {
            tags.push(SECRET_TAG.to_owned());
        }
    }
}

/// Markup removed and the common entities decoded: enough to see the words an HTML body shows.
fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Redacts the subject (if given) and body in place. An HTML body is dropped whenever anything
/// was found, in it or in the text, since it would still hold the secret: agents then read the
/// redacted text.
pub fn screen(
    subject: Option<&mut String>,
    body: &mut String,
    html: &mut Option<String>,
) -> Screened {
    let mut kinds = Vec::new();
    if let Some(s) = subject {
        let r = secrets::redact(s);
        *s = r.text;
        kinds.extend(r.kinds);
    }
    let r = secrets::redact(body);
    *body = r.text;
    kinds.extend(r.kinds);
    if let Some(h) = html.as_deref() {
        kinds.extend(secrets::redact(&html_text(h)).kinds);
        if !kinds.is_empty() {
            *html = None;
        }
    }
    kinds.sort();
    kinds.dedup();
    Screened { kinds }
}

/// The public system message that warns the customer: in Chinese when they wrote Chinese
/// (`text`), else in the ticket's language.
pub fn warning_notice(language: &str, text: &str, channel: &str, s: &Screened) -> NewMessage {
    let language = match guess_language(text) {
        "zh" => "zh",
        _ => language,
    };
    system_notice(
        channel,
        secrets::customer_warning(language, &s.kinds),
        json!({"notice": "secret_warning", "kinds": s.names()}),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const SEED: &str =
        "abandon ability able about above absent absorb abstract absurd abuse access accident";

    #[test]
    fn html_with_a_secret_is_dropped_even_when_the_text_is_clean() {
        let mut body = "see the html part".to_owned();
        let mut html = Some(format!("<p>{}</p>", SEED.replace(' ', "&nbsp;")));
        let s = screen(None, &mut body, &mut html);
        assert_eq!(s.kinds, vec![SecretKind::SeedPhrase]);
        assert!(html.is_none());
        assert_eq!(body, "see the html part");
    }

    #[test]
    fn subject_and_body_are_both_screened() {
        let mut subject = "my 2fa code 123456".to_owned();
        let mut body = format!("words: {SEED}");
        let mut html = Some("<b>hello</b>".to_owned());
        let s = screen(Some(&mut subject), &mut body, &mut html);
        assert_eq!(s.names(), vec!["seed_phrase", "one_time_code"]);
        assert!(!subject.contains("123456") && !body.contains("abandon"));
        assert!(html.is_none());
    }

    #[test]
    fn clean_messages_are_untouched() {
        let mut body =
            "deposit 0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060 missing"
                .to_owned();
        let before = body.clone();
        let mut html = Some("<p>hi</p>".to_owned());
        assert!(!screen(None, &mut body, &mut html).found());
        assert_eq!(body, before);
        assert!(html.is_some());
    }
}
