//! The sender of a message, read as leniently as mail in the wild demands. The strict parse
//! (RFC 5322's `name <addr>`) comes first; when it yields nothing usable, the raw `From`
//! (then `Sender`, then `Reply-To`) header is searched for an address a person would read there: after a name
//! without angle brackets, with a trailing dot on its domain, inside a comment-style form.
//! A mail whose sender is readable must never land as "unknown sender".

use crate::Mailbox;
use xdesk_domain::identity::parse_email;

/// The sender of `msg`, if any address in its From or Sender header can be read.
pub(crate) fn sender(msg: &mail_parser::Message<'_>) -> Option<Mailbox> {
    // The first From when a broken client wrote two (the parser keeps the last); Reply-To
    // when neither From nor Sender is there, as that is where the writer wants the answer.
    let first_from = msg
        .header_values(mail_parser::HeaderName::From)
        .find_map(|v| v.as_address());
    let strict = first_from
        .or_else(|| msg.sender())
        .or_else(|| msg.reply_to())
        .and_then(|a| a.first())
        .and_then(|a| {
            let address = clean_address(a.address()?)?;
            Some(Mailbox {
                address,
                name: a
                    .name()
                    .map(|n| n.trim().trim_matches('"').trim().to_owned())
                    .filter(|n| !n.is_empty() && !n.contains('@')),
            })
        });
    // Raw 8-bit bytes (a name in GBK or Shift_JIS without RFC 2047) are read in the encoding
    // they appear to be in, so the name survives.
    let raw_8bit = ["From", "Sender"].iter().find_map(|h| {
        crate::charset::undecodable_header(msg, h)
            .map(crate::charset::header_text)
            .and_then(|t| from_raw(&t))
    });
    match (strict, raw_8bit) {
        (_, Some(m)) => Some(m),
        (Some(m), None) => Some(m),
        (None, None) => ["From", "Sender", "Reply-To"]
            .iter()
            .find_map(|h| msg.header_raw(*h).and_then(from_raw)),
    }
}

/// An address as a person reads it: lower case, no surrounding brackets or quotes, no dot
/// closing its domain; None when it still is not an address.
fn clean_address(a: &str) -> Option<String> {
    let a = a
        .trim()
        .trim_matches(|c: char| matches!(c, '<' | '>' | '"' | '\'' | '(' | ')' | ',' | ';'))
        .trim_end_matches('.');
    parse_email(a).ok()
}

/// Reads a raw header value: the first address that cleans up, and the words before it as
/// the name (RFC 2047 words decoded).
fn from_raw(raw: &str) -> Option<Mailbox> {
    let unfolded: String = raw
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    let tokens: Vec<&str> = unfolded
        .split(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | ',' | ';'))
        .filter(|t| !t.is_empty())
        .collect();
    let (i, address) = tokens.iter().enumerate().find_map(|(i, t)| {
        t.contains('@')
            .then(|| clean_address(t))
            .flatten()
            .map(|a| (i, a))
    })?;
    let name = tokens[..i]
        .iter()
        .map(|t| decode_word(t))
        .collect::<Vec<_>>()
        .join(" ");
    let name = name.trim().trim_matches('"').trim().to_owned();
    Some(Mailbox {
        address,
        name: (!name.is_empty()).then_some(name),
    })
}

/// One RFC 2047 encoded word (`=?utf-8?B?…?=`), decoded by the mail parser; other text as is.
fn decode_word(t: &str) -> String {
    if !(t.starts_with("=?") && t.ends_with("?=")) {
        return t.to_owned();
    }
    let header = format!("Subject: {t}\r\n\r\n");
    mail_parser::MessageParser::default()
        .parse(header.as_bytes())
        .and_then(|m| m.subject().map(str::to_owned))
        .unwrap_or_else(|| t.to_owned())
}
