//! Decoders for what the mail parser reads strictly and real mail writes loosely: encoded
//! words that split one character's bytes, RFC 2231 names continued mid-character, file names
//! in raw 8-bit bytes or with Windows paths, base64 without padding or with stray characters,
//! and `format=flowed` text.

use crate::charset::decode_guessed;

/// `bytes` in the charset named `label` (an RFC 2047 / RFC 2231 / MIME label, language suffix
/// allowed); guessed when the label is unknown.
pub(crate) fn decode_charset(label: &str, bytes: &[u8]) -> String {
    let label = label.split('*').next().unwrap_or(label).trim();
    match encoding_rs::Encoding::for_label(label.as_bytes()) {
        Some(enc) if enc == encoding_rs::UTF_8 || std::str::from_utf8(bytes).is_err() => {
            enc.decode_without_bom_handling(bytes).0.into_owned()
        }
        // Valid UTF-8 declared as something else: UTF-8 is almost never valid by accident.
        Some(enc) if bytes.is_ascii() => enc.decode_without_bom_handling(bytes).0.into_owned(),
        Some(_) => decode_guessed(bytes),
        None => decode_guessed(bytes),
    }
}

/// A header value with its RFC 2047 encoded words decoded; adjacent words of one charset are
/// joined as bytes first, so a character split over two words survives.
pub(crate) fn decode_words(value: &str) -> String {
    let mut out = String::new();
    // The last encoded word(s), not yet decoded, and the white space after them (dropped when
    // another encoded word follows, RFC 2047 §6.2).
    let mut pending: Option<(String, Vec<u8>)> = None;
    let mut gap = String::new();
    let flush = |out: &mut String, pending: &mut Option<(String, Vec<u8>)>| {
        if let Some((cs, bytes)) = pending.take() {
            out.push_str(&decode_charset(&cs, &bytes));
        }
    };
    let mut rest = value;
    while let Some(ch) = rest.chars().next() {
        if let Some((charset, bytes, len)) = encoded_word(rest) {
            match &mut pending {
                Some((cs, buf)) if cs.eq_ignore_ascii_case(&charset) => buf.extend(bytes),
                _ => {
                    flush(&mut out, &mut pending);
                    pending = Some((charset, bytes));
                }
            }
            gap.clear();
            rest = &rest[len..];
            continue;
        }
        if pending.is_some() && ch.is_whitespace() {
            gap.push(ch);
        } else {
            flush(&mut out, &mut pending);
            out.push_str(&gap);
            gap.clear();
            out.push(ch);
        }
        rest = &rest[ch.len_utf8()..];
    }
    flush(&mut out, &mut pending);
    out.push_str(&gap);
    out
}

/// `=?charset?B|Q?text?=` at the start of `s`: its charset, bytes and length.
fn encoded_word(s: &str) -> Option<(String, Vec<u8>, usize)> {
    let body = s.strip_prefix("=?")?;
    let (charset, rest) = body.split_once('?')?;
    let mut chars = rest.chars();
    let kind = chars.next()?.to_ascii_uppercase();
    let rest = rest.get(1..)?.strip_prefix('?')?;
    let end = rest.find("?=")?;
    let text = &rest[..end];
    if charset.is_empty() || charset.contains(char::is_whitespace) || text.contains(' ') {
        return None;
    }
    let bytes = match kind {
        'B' => base64_lenient(text.as_bytes()),
        'Q' => q_decode(text),
        _ => return None,
    };
    let len = 2 + charset.len() + 3 + end + 2;
    Some((charset.to_owned(), bytes, len))
}

fn q_decode(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'_' => out.push(b' '),
            b'=' if i + 2 < b.len() && hex_pair(b[i + 1], b[i + 2]).is_some() => {
                out.extend(hex_pair(b[i + 1], b[i + 2]));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn hex_pair(a: u8, b: u8) -> Option<u8> {
    let h = |c: u8| (c as char).to_digit(16);
    Some((h(a)? * 16 + h(b)?) as u8)
}

/// Base64 as found in mail: characters outside the alphabet skipped, padding optional.
pub(crate) fn base64_lenient(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0;
    for &c in input {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        n += 1;
        if n == 4 {
            out.extend_from_slice(&acc.to_be_bytes()[1..]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&((acc >> 2) as u16).to_be_bytes()),
        _ => {}
    }
    out
}

/// Whether `decoded_len` bytes are exactly what well-formed base64 text `raw` holds (line
/// breaks apart): then nothing was skipped or cut and [`base64_needs_leniency`]'s count is not
/// needed. Line breaks are counted with memchr (vectorised); a scalar count of every
/// character cost as much as decoding (the email benchmark's parse rate halved).
pub(crate) fn base64_decoded_whole(raw: &[u8], decoded_len: usize) -> bool {
    let body = raw.trim_ascii();
    let chars = body.len() - memchr::memchr2_iter(b'\r', b'\n', body).count();
    let padding = body
        .iter()
        .rev()
        .take(2)
        .take_while(|&&c| c == b'=')
        .count();
    chars.is_multiple_of(4) && chars / 4 * 3 - padding == decoded_len
}

/// Whether base64 text is not what the strict decoder reads whole: a few stray characters,
/// or a length that is no multiple of four (padding left off). Text that is mostly not base64
/// (plain text sent under a base64 label) is not base64 to decode.
pub(crate) fn base64_needs_leniency(input: &[u8]) -> bool {
    let (mut valid, mut invalid) = (0usize, 0usize);
    for &c in input {
        match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'+' | b'/' | b'=' => valid += 1,
            c if c.is_ascii_whitespace() => {}
            _ => invalid += 1,
        }
    }
    (invalid > 0 || valid % 4 != 0) && invalid * 20 <= valid
}

/// The value of parameter `name` of a raw `Content-Disposition` / `Content-Type` header, as a
/// person meant it: RFC 2231 pieces joined as bytes before decoding, raw 8-bit bytes read in
/// the encoding they appear to be in, encoded words decoded, backslashes kept (Windows paths).
pub(crate) fn raw_param(header: &[u8], name: &str) -> Option<String> {
    let mut plain: Option<Vec<u8>> = None;
    let mut extended: Option<Vec<u8>> = None;
    let mut pieces: Vec<(u32, bool, Vec<u8>)> = Vec::new();
    for param in split_params(header).into_iter().skip(1) {
        let Some(eq) = param.iter().position(|&c| c == b'=') else {
            continue;
        };
        let key = String::from_utf8_lossy(&param[..eq])
            .trim()
            .to_ascii_lowercase();
        let mut value = param[eq + 1..].trim_ascii();
        if value.len() >= 2 && value[0] == b'"' && value[value.len() - 1] == b'"' {
            value = &value[1..value.len() - 1];
        }
        let value = value.to_vec();
        let Some(rest) = key.strip_prefix(name) else {
            continue;
        };
        if rest.is_empty() {
            plain.get_or_insert(value);
        } else if rest == "*" {
            extended.get_or_insert(value);
        } else if let Some(index) = rest.strip_prefix('*') {
            let (index, encoded) = match index.strip_suffix('*') {
                Some(i) => (i, true),
                None => (index, false),
            };
            if let Ok(i) = index.parse::<u32>() {
                pieces.push((i, encoded, value));
            }
        }
    }
    if !pieces.is_empty() {
        pieces.sort_by_key(|p| p.0);
        let mut charset = None;
        let mut bytes = Vec::new();
        for (k, (_, encoded, value)) in pieces.iter().enumerate() {
            if *encoded {
                let mut v = value.as_slice();
                if k == 0 {
                    let (cs, rest) = split_charset(v);
                    charset = cs;
                    v = rest;
                }
                bytes.extend(percent_decode(v));
            } else {
                bytes.extend_from_slice(value);
            }
        }
        return Some(match charset {
            Some(cs) => decode_charset(&cs, &bytes),
            None => decode_words(&decode_guessed(&bytes)),
        });
    }
    if let Some(v) = extended {
        let (cs, rest) = split_charset(&v);
        let bytes = percent_decode(rest);
        return Some(match cs {
            Some(cs) => decode_charset(&cs, &bytes),
            None => decode_guessed(&bytes),
        });
    }
    plain.map(|v| decode_words(&decode_guessed(&v)))
}

/// `charset'language'rest` of an RFC 2231 value.
fn split_charset(v: &[u8]) -> (Option<String>, &[u8]) {
    let mut parts = v.splitn(3, |&c| c == b'\'');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(cs), Some(_), Some(rest)) => (
            (!cs.is_empty()).then(|| String::from_utf8_lossy(cs).into_owned()),
            rest,
        ),
        _ => (None, v),
    }
}

fn percent_decode(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%'
            && let Some(b) = v.get(i + 1..i + 3).and_then(|h| hex_pair(h[0], h[1]))
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(v[i]);
        i += 1;
    }
    out
}

/// A header value split at the semicolons outside quotes.
fn split_params(header: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut quoted = false;
    let mut start = 0;
    for (i, &c) in header.iter().enumerate() {
        match c {
            b'"' => quoted = !quoted,
            b';' if !quoted => {
                out.push(&header[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&header[start..]);
    out
}

/// `format=flowed` text (RFC 3676) as its writer typed it: lines ending in a space continue on
/// the next line, a leading space added for transport (space-stuffing) is removed; with
/// `delsp=yes` the space that marked the soft break is removed too.
pub(crate) fn unflow(text: &str, delsp: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut continuing = false;
    let mut depth_of_open = 0usize;
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let depth = line.chars().take_while(|&c| c == '>').count();
        let content = &line[depth..];
        let content = content.strip_prefix(' ').unwrap_or(content);
        if continuing && depth != depth_of_open {
            out.push('\n');
            continuing = false;
        }
        if !continuing && depth > 0 {
            out.push_str(&">".repeat(depth));
            out.push(' ');
        }
        let flowed = content.ends_with(' ') && content != "-- ";
        if flowed {
            out.push_str(if delsp {
                &content[..content.len() - 1]
            } else {
                content
            });
            continuing = true;
            depth_of_open = depth;
        } else {
            out.push_str(content);
            out.push('\n');
            continuing = false;
        }
    }
    if out.ends_with('\n') {
        out.pop();
    }
    out
}
