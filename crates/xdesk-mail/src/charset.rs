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

/// A header's text from raw 8-bit bytes: decoded, unfolded, trimmed.
pub(crate) fn header_text(bytes: &[u8]) -> String {
    decode_guessed(bytes)
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of a text part read again from its raw bytes when the parser's reading lost
/// characters (U+FFFD) because no charset was declared or the declared one did not fit.
/// None when there is nothing better to say.
pub(crate) fn reread_text(msg: &Message<'_>, part: &MessagePart<'_>) -> Option<String> {
    let PartType::Text(text) = &part.body else {
        return None;
    };
    if !text.contains('\u{FFFD}') {
        return None;
    }
    let raw = msg
        .raw_message()
        .get(part.offset_body as usize..part.offset_end as usize)?;
    let bytes = match part
        .content_transfer_encoding()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("base64") => mail_parser::decoders::base64::base64_decode(raw)?,
        Some("quoted-printable") => {
            mail_parser::decoders::quoted_printable::quoted_printable_decode(raw)?
        }
        _ => raw.to_vec(),
    };
    let again = decode_guessed(&bytes);
    let lost = |s: &str| s.matches('\u{FFFD}').count();
    (lost(&again) < lost(text)).then(|| again.trim_end().to_owned())
}
