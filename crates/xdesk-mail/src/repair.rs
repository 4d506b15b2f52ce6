//! Mail whose structure is broken in ways a person does not notice, mended before it is read:
//! line ends that are bare CRs, a body that starts without the blank line, a multipart whose
//! boundary parameter is missing or names a boundary the body does not use, an inner multipart
//! that never closes before its parent goes on. Each repair returns new bytes only when it
//! changed something; the mail as sent stays the original.

use mail_parser::{Message, MimeHeaders};

/// Line ends and the header section: bare-CR line ends become CRLF; a line in the header
/// section that is no header and is followed by neither a header nor the blank line is where
/// the body starts (the blank line was left out).
pub(crate) fn lines(raw: &[u8]) -> Option<Vec<u8>> {
    let converted = (memchr::memchr(b'\n', raw).is_none() && memchr::memchr(b'\r', raw).is_some())
        .then(|| {
            raw.iter()
                .fold(Vec::with_capacity(raw.len() * 2), |mut v, &c| {
                    v.push(c);
                    if c == b'\r' {
                        v.push(b'\n');
                    }
                    v
                })
        });
    let bytes = converted.as_deref().unwrap_or(raw);
    let mut pos = 0;
    let mut first = true;
    while pos < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1);
        let line = &bytes[pos..end];
        let content = line.trim_ascii_end();
        if content.is_empty() {
            break;
        }
        let continuation = matches!(line[0], b' ' | b'\t');
        // (The first line is left alone: an mbox `From ` line, or no mail at all.)
        if !first && !continuation && !looks_like_header(line) {
            let next = &bytes[end..];
            let next_end = memchr::memchr(b'\n', next).map_or(next.len(), |i| i + 1);
            let next_line = &next[..next_end];
            // Followed by the blank line, it is more likely a fold that lost its indent.
            let blank_follows = !next_line.is_empty() && next_line.trim_ascii().is_empty();
            if !looks_like_header(next_line) && !blank_follows {
                let mut v = bytes[..pos].to_vec();
                v.extend_from_slice(b"\r\n");
                v.extend_from_slice(&bytes[pos..]);
                return Some(v);
            }
        }
        first = false;
        pos = end;
    }
    converted
}

/// `Name: …` with a name of printable characters (a space before the colon tolerated).
fn looks_like_header(line: &[u8]) -> bool {
    let Some(colon) = memchr::memchr(b':', line) else {
        return false;
    };
    let name = line[..colon].trim_ascii_end();
    !name.is_empty() && name.iter().all(|&c| c.is_ascii_graphic() && c != b':')
}

/// The structure repairs that need the parsed message: the root multipart's boundary, and
/// inner multiparts left open. None when the structure needs no repair.
pub(crate) fn structure(msg: &Message<'_>, raw: &[u8]) -> Option<Vec<u8>> {
    root_boundary(msg, raw).or_else(|| {
        crate::unclosed_multipart(msg)
            .then(|| close_inner(msg, raw))
            .flatten()
    })
}

/// A root multipart without a boundary parameter, or with one the body never uses: the first
/// delimiter-looking line of the body names the boundary the sender used; with none, the body
/// is the sender's text.
fn root_boundary(msg: &Message<'_>, raw: &[u8]) -> Option<Vec<u8>> {
    let root = msg.root_part();
    let ct = root
        .content_type()
        .filter(|c| c.ctype().eq_ignore_ascii_case("multipart"))?;
    let body = raw.get(root.offset_body as usize..)?;
    if let Some(b) = ct.attribute("boundary") {
        let delimiter = format!("--{b}");
        if delimiter_lines(body).any(|l| l.starts_with(delimiter.as_bytes())) {
            return None;
        }
    }
    // No delimiter at all: the "multipart" is the sender's text.
    let Some(found) = delimiter_lines(body).next() else {
        return with_content_type(msg, raw, " text/plain\r\n");
    };
    let found = found.strip_suffix(b"--").unwrap_or(found);
    let boundary = std::str::from_utf8(&found[2..]).ok()?;
    if boundary.is_empty() || boundary.contains('"') {
        return None;
    }
    let mut value = format!(
        " {}/{}",
        ct.ctype(),
        ct.subtype().unwrap_or("mixed").to_ascii_lowercase()
    );
    for a in ct.attributes().unwrap_or_default() {
        if !a.name.eq_ignore_ascii_case("boundary") {
            value.push_str(&format!("; {}=\"{}\"", a.name, a.value));
        }
    }
    value.push_str(&format!("; boundary=\"{boundary}\"\r\n"));
    with_content_type(msg, raw, &value)
}

/// The message with the value of its top-level Content-Type replaced by `value`.
fn with_content_type(msg: &Message<'_>, raw: &[u8], value: &str) -> Option<Vec<u8>> {
    let header = msg
        .headers()
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case("Content-Type"))?;
    let mut out = raw.get(..header.offset_start as usize)?.to_vec();
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(raw.get(header.offset_end as usize..)?);
    Some(out)
}

/// Lines starting with `--` and a boundary's characters, trailing white space removed.
fn delimiter_lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    body.split(|&c| c == b'\n')
        .map(<[u8]>::trim_ascii_end)
        .filter(|l| {
            l.len() > 2
                && l.starts_with(b"--")
                && l[2..].iter().all(|&c| c.is_ascii_graphic() || c == b' ')
                && l[2..].iter().any(u8::is_ascii_alphanumeric)
        })
}

/// An inner multipart whose closing delimiter is missing, though its parent's next delimiter
/// follows: the closing delimiter is put where the parent goes on.
fn close_inner(msg: &Message<'_>, raw: &[u8]) -> Option<Vec<u8>> {
    let boundaries: Vec<String> = msg
        .parts
        .iter()
        .filter_map(|p| {
            p.content_type()
                .filter(|c| c.ctype().eq_ignore_ascii_case("multipart"))
                .and_then(|c| c.attribute("boundary"))
                .map(str::to_owned)
        })
        .collect();
    let mut open: Vec<&str> = Vec::new();
    let mut out = Vec::with_capacity(raw.len() + 64);
    let mut changed = false;
    let mut pos = 0;
    while pos < raw.len() {
        let end = memchr::memchr(b'\n', &raw[pos..]).map_or(raw.len(), |i| pos + i + 1);
        let line = raw[pos..end].trim_ascii_end();
        if line.starts_with(b"--")
            && let Some(b) = boundaries.iter().find(|b| {
                let rest = &line[2..];
                rest.strip_prefix(b.as_bytes())
                    .is_some_and(|r| r.is_empty() || r == b"--")
            })
        {
            let closing = line.ends_with(b"--") && line.len() == b.len() + 4;
            if let Some(at) = open.iter().position(|o| o == b) {
                while open.len() > at + 1 {
                    if let Some(inner) = open.pop() {
                        out.extend_from_slice(format!("--{inner}--\r\n").as_bytes());
                        changed = true;
                    }
                }
                if closing {
                    open.pop();
                }
            } else if !closing {
                open.push(b);
            }
        }
        out.extend_from_slice(&raw[pos..end]);
        pos = end;
    }
    changed.then_some(out)
}
