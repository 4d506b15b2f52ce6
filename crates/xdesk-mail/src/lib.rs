//! Inbound email for xdesk: one raw RFC 5322 message in, what a ticket needs out (sender,
//! threading ids, bodies, every attachment), plus whether it was sent by a machine (auto-reply,
//! bulk) or is a delivery-status notification about a message we sent. Pure: no I/O, so every
//! rule is tested on bytes alone.

mod charset;
mod classify;
mod decode;
mod repair;
mod sender;
pub mod templates;

pub use classify::{Automatic, Bounce};

use chrono::{DateTime, Utc};
use mail_parser::{MessageParser, MimeHeaders};
use xdesk_domain::ticket::TicketNumber;

/// An address with its display name, as the sender wrote them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// Lower-cased, so the same person always maps to the same customer identity.
    pub address: String,
    pub name: Option<String>,
}

/// A MIME part kept as a file: attachments, inline images, nested messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// Shown in the body (e.g. a pasted screenshot) rather than listed below it.
    pub inline: bool,
    /// `Content-ID` without angle brackets, which `cid:` links in the HTML body point at.
    pub content_id: Option<String>,
}

/// What a ticket needs from one inbound message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundEmail {
    /// `Message-ID` without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    pub from: Option<Mailbox>,
    pub subject: String,
    pub date: Option<DateTime<Utc>>,
    /// Plain text: the text parts, or text derived from the HTML when there is none.
    pub text: String,
    /// The HTML body as sent: not safe to show until sanitised.
    pub html: Option<String>,
    pub attachments: Vec<MailAttachment>,
    pub automatic: Option<Automatic>,
    pub bounce: Option<Bounce>,
    /// The MIME structure was cut short (a multipart without its closing boundary): what was
    /// read is kept, but the original should stay beside it for an agent to open.
    pub incomplete: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    #[error("not an email message: {0}")]
    Unparseable(&'static str),
}

/// Parses one raw message. Lenient like real mail demands: a missing subject, sender or body
/// is reported as absent, not as an error; only bytes that hold no message at all fail.
pub fn parse(raw: &[u8]) -> Result<InboundEmail, MailError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err(MailError::Unparseable("the message is empty"));
    }
    let mended = repair::lines(raw);
    let raw = mended.as_deref().unwrap_or(raw);
    let parser = MessageParser::default();
    let msg = parser
        .parse(raw)
        .ok_or(MailError::Unparseable("no header section"))?;
    // Bytes that are no mail at all (random data, a binary file) can still look like lines of
    // "name: value" to a lenient parser; a mail has at least one header mail has (From, Date,
    // Subject, Received, MIME-Version, …). Without one it is kept as unreadable, whole.
    if !msg
        .headers()
        .iter()
        .any(|h| !matches!(h.name, mail_parser::HeaderName::Other(_)))
    {
        return Err(MailError::Unparseable("no header section"));
    }
    // A broken MIME structure (a boundary parameter missing or not the one used, an inner
    // multipart left open) is read again mended; the original must then stay beside it.
    if let Some(fixed) = repair::structure(&msg, raw)
        && let Some(mended) = parser.parse(&fixed)
    {
        let mut e = read(&mended);
        e.incomplete = true;
        return Ok(e);
    }
    Ok(read(&msg))
}

fn read(msg: &mail_parser::Message<'_>) -> InboundEmail {
    let from = sender::sender(msg);
    let text = msg
        .text_bodies()
        .enumerate()
        .filter_map(|(i, part)| {
            charset::reread_text(msg, part)
                .or_else(|| msg.body_text(i).map(|t| t.trim_end().to_owned()))
                .map(|t| unflowed(part, t))
        })
        .collect::<Vec<_>>()
        .join("\n\n");
    let html = msg
        .html_bodies()
        .any(|p| p.is_text_html())
        .then(|| msg.body_html(0).map(|h| h.into_owned()))
        .flatten();
    let mut attachments = Vec::new();
    for (i, part) in msg.attachments().enumerate() {
        let mut a = attachment(msg, part, i);
        if let Some(bytes) = undecoded(msg, part) {
            a.bytes = bytes;
        }
        attachments.push(a);
    }
    // A broken MIME structure (say, a multipart cut off before its closing boundary) can leave
    // the text as an unnamed text/plain part: it is the body, not a file.
    let mut text = text;
    if text.trim().is_empty()
        && html.is_none()
        && let Some(i) = attachments.iter().position(|a| {
            a.content_type.starts_with("text/plain") && a.filename.starts_with("attachment-")
        })
    {
        let part = attachments.remove(i);
        text = String::from_utf8_lossy(&part.bytes).trim_end().to_owned();
    }
    distinct_names(&mut attachments);
    let automatic = classify::automatic(msg);
    let bounce = classify::bounce(msg);
    InboundEmail {
        message_id: msg.message_id().map(clean_id),
        in_reply_to: id_list(msg.in_reply_to()),
        references: id_list(msg.references()),
        from,
        subject: subject(msg),
        date: msg
            .date()
            .and_then(|d| DateTime::from_timestamp(d.to_timestamp(), 0)),
        text,
        html,
        attachments,
        automatic,
        bounce,
        incomplete: unclosed_multipart(msg),
    }
}

/// The subject as written: raw 8-bit bytes read in their encoding, encoded words that split a
/// character joined, control characters (a NUL) dropped.
fn subject(msg: &mail_parser::Message<'_>) -> String {
    let s = match charset::undecodable_header(msg, "Subject") {
        Some(raw) => charset::header_text(raw),
        None => {
            let s = msg.subject().unwrap_or_default();
            match msg.header_raw("Subject") {
                Some(raw) if s.contains('\u{FFFD}') => {
                    decode::decode_words(&raw.replace(['\r', '\n'], ""))
                }
                _ => s.to_owned(),
            }
        }
    };
    s.chars()
        .filter(|c| !c.is_control() || *c == '\t')
        .collect::<String>()
        .trim()
        .to_owned()
}

/// A `format=flowed` text part's text as typed (RFC 3676); other text as is.
fn unflowed(part: &mail_parser::MessagePart<'_>, text: String) -> String {
    let Some(ct) = part.content_type() else {
        return text;
    };
    let param = |name: &str, value: &str| {
        ct.attribute(name)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(value))
    };
    if ct
        .subtype()
        .is_some_and(|s| s.eq_ignore_ascii_case("plain"))
        && param("format", "flowed")
    {
        decode::unflow(&text, param("delsp", "yes"))
    } else {
        text
    }
}

/// The bytes of a part the parser left in its transfer encoding (it does so for a last part
/// that runs to the end of a cut-off multipart, and for base64 with stray characters) or read
/// short (base64 without its padding): decoded here. A part whose contents are its own raw
/// base64 or quoted-printable text was not decoded.
fn undecoded(
    msg: &mail_parser::Message<'_>,
    part: &mail_parser::MessagePart<'_>,
) -> Option<Vec<u8>> {
    let raw = msg
        .raw_message()
        .get(part.offset_body as usize..part.offset_end as usize)?;
    let cte = part.content_transfer_encoding()?.to_ascii_lowercase();
    if cte == "base64"
        && !decode::base64_decoded_whole(raw, part.contents().len())
        && decode::base64_needs_leniency(raw)
    {
        return Some(decode::base64_lenient(raw));
    }
    let contents = part.contents();
    // Decoded base64 is a quarter smaller than its text: the usual, decoded part is told
    // apart by its size alone, without comparing the bytes.
    if contents.len() < raw.len() * 9 / 10 {
        return None;
    }
    let trim = |b: &[u8]| -> Vec<u8> {
        b.iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect()
    };
    if trim(contents) != trim(raw) {
        return None;
    }
    match cte.as_str() {
        "base64" => Some(decode::base64_lenient(raw)),
        "quoted-printable" => mail_parser::decoders::quoted_printable::quoted_printable_decode(raw),
        _ => None,
    }
}

/// Whether some multipart of the message never reaches its closing boundary.
fn unclosed_multipart(msg: &mail_parser::Message<'_>) -> bool {
    let raw = msg.raw_message();
    msg.parts.iter().any(|p| {
        let Some(boundary) = p
            .content_type()
            .filter(|c| c.ctype().eq_ignore_ascii_case("multipart"))
            .and_then(|c| c.attribute("boundary"))
        else {
            return false;
        };
        let closing = format!("--{boundary}--");
        memchr::memmem::find(raw, closing.as_bytes()).is_none()
    })
}

fn attachment(
    msg: &mail_parser::Message<'_>,
    part: &mail_parser::MessagePart<'_>,
    index: usize,
) -> MailAttachment {
    let content_type = part
        .content_type()
        .map(|c| match c.subtype() {
            Some(sub) => format!("{}/{}", c.ctype(), sub),
            None => c.ctype().to_owned(),
        })
        .unwrap_or_else(|| {
            if part.is_message() {
                "message/rfc822".to_owned()
            } else {
                "application/octet-stream".to_owned()
            }
        })
        .to_lowercase();
    let filename = part
        .attachment_name()
        .map(|name| raw_name(msg, part, name))
        .map(|name| safe_filename(&name))
        .filter(|n| !n.is_empty())
        .or_else(|| part.message().and_then(mail_filename))
        .unwrap_or_else(|| format!("attachment-{}{}", index + 1, extension(&content_type)));
    let content_id = part.content_id().map(clean_id);
    let inline = part
        .content_disposition()
        .map(|d| d.is_inline())
        .unwrap_or(content_id.is_some());
    MailAttachment {
        filename,
        content_type,
        bytes: part.contents().to_vec(),
        inline,
        content_id,
    }
}

/// A part's file name read again from its raw header when the parser's reading lost
/// characters (raw 8-bit bytes, RFC 2231 pieces split inside a character) or dropped the
/// backslashes of a Windows path (`C:\\Users\\…\\shot.png`, which then names `shot.png`).
fn raw_name(
    msg: &mail_parser::Message<'_>,
    part: &mail_parser::MessagePart<'_>,
    parsed: &str,
) -> String {
    let header = |name: &str| {
        part.headers
            .iter()
            .find(|h| h.name.as_str().eq_ignore_ascii_case(name))
            .and_then(|h| {
                msg.raw_message()
                    .get(h.offset_start as usize..h.offset_end as usize)
            })
    };
    let raw = [
        ("Content-Disposition", "filename"),
        ("Content-Type", "name"),
    ]
    .into_iter()
    .find_map(|(h, p)| {
        let bytes = header(h)?;
        let lossy = parsed.contains('\u{FFFD}');
        (lossy || memchr::memchr(b'\\', bytes).is_some())
            .then(|| decode::raw_param(bytes, p))
            .flatten()
    });
    match raw {
        Some(name) if !name.trim().is_empty() => name,
        _ => parsed.to_owned(),
    }
}

/// A forwarded mail's file name: its subject (characters no file system takes replaced), then
/// `.eml`; None when it has no subject.
fn mail_filename(m: &mail_parser::Message<'_>) -> Option<String> {
    let subject: String = m
        .subject()?
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|') {
                '_'
            } else {
                c
            }
        })
        .take(200)
        .collect();
    let base = safe_filename(&subject);
    (!base.is_empty()).then(|| format!("{base}.eml"))
}

/// Two files of one mail with the same name get distinct ones (`receipt (2).pdf`), so an agent
/// can tell them apart and neither hides the other.
fn distinct_names(attachments: &mut [MailAttachment]) {
    let mut seen = std::collections::HashSet::new();
    for a in attachments.iter_mut() {
        if seen.insert(a.filename.to_lowercase()) {
            continue;
        }
        let (stem, ext) = match a.filename.rfind('.') {
            Some(i) if i > 0 => (a.filename[..i].to_owned(), a.filename[i..].to_owned()),
            _ => (a.filename.clone(), String::new()),
        };
        let mut n = 2;
        let name = loop {
            let candidate = format!("{stem} ({n}){ext}");
            if seen.insert(candidate.to_lowercase()) {
                break candidate;
            }
            n += 1;
        };
        a.filename = name;
    }
}

/// A file name that is safe to store and offer for download: no directories, no control
/// characters, at most 255 bytes.
fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let mut out: String = base
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .trim_start_matches('.')
        .to_owned();
    while out.len() > 255 {
        out.pop();
    }
    out
}

fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => ".png",
        "image/jpeg" => ".jpg",
        "image/gif" => ".gif",
        "image/webp" => ".webp",
        "application/pdf" => ".pdf",
        "message/rfc822" => ".eml",
        "text/plain" => ".txt",
        "text/html" => ".html",
        "text/calendar" | "application/ics" => ".ics",
        "text/csv" => ".csv",
        "application/zip" => ".zip",
        // Delivery reports and returned headers are text an agent reads.
        "message/delivery-status"
        | "message/global-delivery-status"
        | "text/rfc822-headers"
        | "message/global-headers" => ".txt",
        _ => ".bin",
    }
}

fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

fn id_list(v: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match v {
        mail_parser::HeaderValue::Text(t) => vec![clean_id(t)],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

/// The ticket number a subject refers to, such as `Re: [XD-10042] Withdrawal`.
pub fn ticket_number_in(subject: &str) -> Option<TicketNumber> {
    let upper = subject.to_ascii_uppercase();
    let mut rest = upper.as_str();
    while let Some(at) = rest.find(TicketNumber::PREFIX) {
        let after = &rest[at + TicketNumber::PREFIX.len()..];
        let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
        let boundary_before = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !c.is_ascii_alphanumeric());
        if boundary_before
            && digits.len() >= 5
            && let Ok(n) = digits.parse::<i64>()
        {
            return Some(TicketNumber::new(n));
        }
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests;
