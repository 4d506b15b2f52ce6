//! Text whose charset nobody declared, or declared wrongly: raw 8-bit headers (a Chinese
//! subject in GB2312, a Japanese name in Shift_JIS, sent without RFC 2047) and text parts with
//! no `charset`. UTF-8 when the bytes are valid UTF-8; otherwise the encoding `chardetng`
//! guesses, as Firefox does for pages that do not say (GB18030/GBK, Big5, Shift_JIS, EUC-KR,
//! windows-125x, …), decoded by `encoding_rs`.

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

/// Decodes `bytes` as UTF-8 when they are, else as the guessed encoding.
pub(crate) fn decode_guessed(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    let encoding = detector.guess(None, true);
    encoding.decode_without_bom_handling(bytes).0.into_owned()
}

/// The raw bytes of the first header `name` (case-insensitive) of the top-level message,
/// when they are not valid UTF-8: only then does the parser's reading lose characters.
pub(crate) fn undecodable_header<'a>(msg: &'a Message<'_>, name: &str) -> Option<&'a [u8]> {
    let raw = msg.raw_message();
    let h = msg
        .headers()
        .iter()
        .find(|h| h.name.as_str().eq_ignore_ascii_case(name))?;
    let bytes = raw.get(h.offset_start as usize..h.offset_end as usize)?;
    std::str::from_utf8(bytes).is_err().then_some(bytes)
}

/// A short run of raw 8-bit header bytes (a name) as GBK when they read as Chinese there but
/// were guessed EUC-KR or EUC-JP: a few characters are too few for the detector to tell the
/// encodings apart, and this help desk's customers write Chinese far more often than Korean.
fn decode_header_guessed(bytes: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_owned();
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    let encoding = detector.guess(None, true);
    let short = bytes.iter().filter(|b| !b.is_ascii()).count() <= 12;
    if short && (encoding == encoding_rs::EUC_KR || encoding == encoding_rs::EUC_JP) {
        let (gbk, errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
        let chinese = |c: char| {
            c.is_ascii()
                || ('\u{4E00}'..='\u{9FFF}').contains(&c)
                || ('\u{3000}'..='\u{303F}').contains(&c)
                || ('\u{FF00}'..='\u{FFEF}').contains(&c)
        };
        if !errors && gbk.chars().all(chinese) {
            return gbk.into_owned();
        }
    }
    encoding.decode_without_bom_handling(bytes).0.into_owned()
}

/// A header's text from raw 8-bit bytes: decoded, unfolded, trimmed.
pub(crate) fn header_text(bytes: &[u8]) -> String {
    decode_header_guessed(bytes)
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of a text part read again from its raw bytes when the parser's reading lost
/// characters (U+FFFD) because no charset was declared or the declared one did not fit, when
/// its base64 has stray characters or no padding, or when a single-byte charset was declared
/// for what is UTF-8. None when there is nothing better to say.
pub(crate) fn reread_text(msg: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    let PartType::Text(text) = &part.body else {
        return None;
    };
    let raw = msg
        .raw_message()
        .get(part.offset_body as usize..part.offset_end as usize)?;
    let cte = part
        .content_transfer_encoding()
        .map(str::to_ascii_lowercase);
    let base64 = cte.as_deref() == Some("base64");
    let lenient_base64 = base64 && crate::decode::base64_needs_leniency(raw);
    let declared = part.content_type().and_then(|c| c.attribute("charset"));
    let single_byte = !text.is_ascii() && declared.is_some_and(is_single_byte);
    if !(lenient_base64 || single_byte || text.contains('\u{FFFD}')) {
        return None;
    }
    let bytes = if base64 {
        crate::decode::base64_lenient(raw)
    } else if cte.as_deref() == Some("quoted-printable") {
        mail_parser::decoders::quoted_printable::quoted_printable_decode(raw)?
    } else {
        raw.to_vec()
    };
    if lenient_base64 {
        let text = match declared {
            Some(cs) => crate::decode::decode_charset(cs, &bytes),
            None => decode_guessed(&bytes),
        };
        return Some(text.trim_end().to_owned());
    }
    if single_byte {
        return std::str::from_utf8(&bytes)
            .ok()
            .map(|s| s.trim_end().to_owned());
    }
    let again = decode_guessed(&bytes);
    let lost = |s: &str| s.matches('\u{FFFD}').count();
    (lost(&again) < lost(text)).then(|| again.trim_end().to_owned())
}

/// Whether `label` names a charset of one byte a character (Latin, Cyrillic, …), where
/// UTF-8 bytes read as mojibake without a single U+FFFD.
fn is_single_byte(label: &str) -> bool {
    encoding_rs::Encoding::for_label(label.trim().as_bytes()).is_some_and(|e| e.is_single_byte())
}
