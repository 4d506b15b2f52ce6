//! TON addresses: raw `<workchain>:<64 hex>` and user-friendly 48-character base64(url).
//!
//! The user-friendly form is 36 bytes: a tag byte (0x11 bounceable, 0x51 non-bounceable,
//! +0x80 test-only), a signed workchain byte, the 32-byte account hash, and a big-endian
//! CRC16-XMODEM of the first 34 bytes.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};

const FRIENDLY_LEN: usize = 48;
const TAG_BOUNCEABLE: u8 = 0x11;
const TAG_NON_BOUNCEABLE: u8 = 0x51;
const TAG_TEST_ONLY: u8 = 0x80;

/// CRC-16/XMODEM: polynomial 0x1021, initial value 0, no reflection, no final xor.
pub(super) fn crc16_xmodem(data: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Decodes standard or URL-safe base64 (not a mix of both), padding as the engines require.
pub(super) fn decode_base64_either(s: &str) -> Result<Vec<u8>, String> {
    let has_std = s.contains(['+', '/']);
    let has_url = s.contains(['-', '_']);
    let engine = match (has_std, has_url) {
        (true, true) => return Err("mixes the base64 and base64url alphabets".to_owned()),
        (false, true) => &URL_SAFE,
        _ => &STANDARD,
    };
    engine.decode(s).map_err(|e| format!("invalid base64: {e}"))
}

/// Validates a TON address; the canonical form is the input.
pub(super) fn parse_address(s: &str) -> Result<String, String> {
    if let Some((workchain, hash)) = s.split_once(':') {
        parse_raw(workchain, hash)?;
    } else {
        parse_friendly(s)?;
    }
    Ok(s.to_owned())
}

fn parse_raw(workchain: &str, hash: &str) -> Result<(), String> {
    if workchain != "0" && workchain != "-1" {
        return Err(format!(
            "workchain must be 0 or -1, got {}",
            if workchain.is_empty() {
                "nothing"
            } else {
                workchain
            }
        ));
    }
    super::text::check_hex(hash, workchain.len() + 1)?;
    if hash.len() != 64 {
        return Err(format!(
            "wrong length: {} hex digits after ':', expected 64",
            hash.len()
        ));
    }
    Ok(())
}

fn parse_friendly(s: &str) -> Result<(), String> {
    if s.len() != FRIENDLY_LEN {
        return Err(format!(
            "wrong length: {} characters, expected {FRIENDLY_LEN} (or the raw form <workchain>:<64 hex>)",
            s.len()
        ));
    }
    let bytes = decode_base64_either(s)?;
    let Some((&[tag, workchain], rest)) = bytes.split_first_chunk::<2>() else {
        return Err(format!(
            "wrong length: decodes to {} bytes, expected 36",
            bytes.len()
        ));
    };
    let (Some(body), Some(&[crc_hi, crc_lo])) = (bytes.get(..34), rest.get(32..)) else {
        return Err(format!(
            "wrong length: decodes to {} bytes, expected 36",
            bytes.len()
        ));
    };
    if crc16_xmodem(body) != u16::from_be_bytes([crc_hi, crc_lo]) {
        return Err("bad CRC16 checksum".to_owned());
    }
    let base_tag = tag & !TAG_TEST_ONLY;
    if base_tag != TAG_BOUNCEABLE && base_tag != TAG_NON_BOUNCEABLE {
        return Err(format!("unknown address tag 0x{tag:02x}"));
    }
    if tag & TAG_TEST_ONLY != 0 {
        return Err("testnet address on mainnet".to_owned());
    }
    if workchain != 0x00 && workchain != 0xff {
        return Err(format!(
            "workchain must be 0 or -1, got {}",
            i8::from_ne_bytes([workchain])
        ));
    }
    Ok(())
}
