//! The fuzz targets: every parser of untrusted input, its seeds, dictionary and worst cases.
//!
//! Input layouts: a target that takes one string reads the input as UTF-8 (invalid sequences
//! replaced); one that takes several splits the input at NUL bytes ([`crate::SEP`]); one that
//! needs a network takes it from the first byte (its value modulo the number of networks).
//! Beyond "no panic, no slowness", the value parsers are checked to be idempotent: parsing a
//! canonical form gives it back unchanged.

use crate::{MAX_INPUT, Target, fields, fill, framed, text};
use chrono::{DateTime, Duration, Utc};
use std::str::FromStr;
use std::sync::LazyLock;
use xdesk_domain::crypto::{Address, Amount, Asset, Memo, Network, TxHash};
use xdesk_domain::wallet::{self, Expect, SignInMessage};
use xdesk_domain::{
    anchor, chat_token, identity, kb, macros, official, onchain, secrets, sla, surge,
    text as dtext, ticket, triage,
};

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn toks(list: &[&str]) -> Vec<Vec<u8>> {
    list.iter().map(|s| b(s)).collect()
}

/// Several strings as one input, joined by [`crate::SEP`].
fn joined(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

fn network_of(data: &[u8]) -> (Network, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (Network::ALL[usize::from(*first) % Network::ALL.len()], rest),
        None => (Network::Bitcoin, data),
    }
}

fn with_network(n: Network, s: &str) -> Vec<u8> {
    let i = Network::ALL.iter().position(|x| *x == n).unwrap_or(0);
    let mut v = vec![u8::try_from(i).unwrap_or(0)];
    v.extend_from_slice(s.as_bytes());
    v
}

/// Every target, in a stable order.
pub fn all() -> Vec<Target> {
    vec![
        mail_parse(),
        mail_ticket_number(),
        wallet_sign_in(),
        wallet_btc_script(),
        ical_holidays(),
        chat_token(),
        secret_scanner(),
        markdown(),
        official_query(),
        official_message_code(),
        official_link_hosts(),
        crypto_address(),
        crypto_tx_hash(),
        crypto_memo(),
        crypto_amount(),
        crypto_asset(),
        crypto_fields_json(),
        identity(),
        ticket_fields(),
        text_words(),
        triage(),
        surge_terms(),
        kb_files(),
        macro_bodies(),
        anchor_log(),
    ]
}

/// The target of this name.
pub fn by_name(name: &str) -> Option<Target> {
    all().into_iter().find(|t| t.name == name)
}

// ----- mail -----

const MAIL_BASIC: &str = "From: Li Wei <Li.Wei@Example.COM>\nTo: support@exchange.test\nSubject: Re: [XD-10042] Withdrawal pending\nMessage-ID: <abc123@mail.example.com>\nIn-Reply-To: <x@y>\nReferences: <a@b> <c@d>\nDate: Sat, 21 Nov 2026 10:00:00 +0800\n\nMy USDT withdrawal is pending.\n";

fn mail_parse() -> Target {
    let multipart = "From: a@b.test\nSubject: =?UTF-8?B?5o+Q5biB5pyq5Yiw6LSmIPCfmoA=?=\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: multipart/alternative; boundary=\"YY\"\n\n--YY\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\nHello =E4=BD=A0=E5=A5=BD\n--YY\nContent-Type: text/html; charset=gbk\nContent-Transfer-Encoding: base64\n\nPGI+aGk8L2I+\n--YY--\n--XX\nContent-Type: image/png; name=\"shot.png\"\nContent-Disposition: inline; filename=\"shot.png\"\nContent-ID: <img1@x>\nContent-Transfer-Encoding: base64\n\niVBORw0KGgo=\n--XX\nContent-Type: message/rfc822\n\nFrom: c@d.test\nSubject: inner\n\nbody\n--XX--\n";
    let bounce = "From: MAILER-DAEMON@mx.test\nSubject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nfailed\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.test\n\nFinal-Recipient: rfc822; x@y.test\nAction: failed\nStatus: 5.1.1\n--B--\n";
    let auto = "From: a@b.test\nSubject: Out of office\nAuto-Submitted: auto-replied\nX-Autoreply: yes\nPrecedence: bulk\nList-Id: <l.x>\nContent-Type: text/plain; charset=big5\nContent-Transfer-Encoding: 8bit\n\n";
    let mut deep = String::from(
        "From: a@b.test\nSubject: deep\nContent-Type: multipart/mixed; boundary=\"b0\"\n\n",
    );
    for i in 1..2000 {
        deep.push_str(&format!(
            "--b{}\nContent-Type: multipart/mixed; boundary=\"b{i}\"\n\n",
            i - 1
        ));
        if deep.len() > MAX_INPUT - 100 {
            break;
        }
    }
    let mut worst = vec![
        deep.into_bytes(),
        framed("From: a@b.test\nSubject: x\n\n", "A", ""),
        framed("From: a@b.test\nSubject: ", "=?UTF-8?B?5o+Q?= ", "\n\nx"),
        framed("From: a@b.test\n", "X-H: v\n", "\nx"),
        framed(
            "From: a@b.test\nSubject: x\nContent-Type: multipart/mixed; boundary=\"a\"\n\n",
            "--a\n\n",
            "",
        ),
        framed(
            "From: a@b.test\nContent-Type: text/plain\nContent-Transfer-Encoding: quoted-printable\n\n",
            "=\n",
            "",
        ),
        framed("From: a@b.test\nContent-Type: text/html\n\n", "<div>", ""),
        framed(
            "From: a@b.test\nContent-Type: text/html\n\n",
            "<p>a</p>\n",
            "",
        ),
        framed("From: ", "a@b.test, ", "\nSubject: x\n\nx"),
        framed("Subject: ", "(((", "\n\nx"),
        framed("From: a@b.test\nReferences: ", "<a@b> ", "\n\nx"),
        framed("From: \"", "\\\"", "\" <a@b.test>\n\nx"),
    ];
    worst.push(fill("\r\n"));
    Target {
        name: "mail_parse",
        about: "xdesk_mail::parse: a raw RFC 5322 / MIME message",
        run: |d| {
            let _ = xdesk_mail::parse(d);
        },
        seeds: vec![b(MAIL_BASIC), b(multipart), b(bounce), {
            let mut v = b(auto);
            v.extend_from_slice(b"\xa7\xda\n");
            v
        }],
        dict: toks(&[
            "\n",
            "\r\n",
            "\n\n",
            "--XX",
            "--XX--",
            "--YY\n",
            "boundary=\"",
            "Content-Type: ",
            "multipart/mixed; boundary=",
            "multipart/alternative",
            "message/rfc822",
            "multipart/report",
            "text/html",
            "text/plain",
            "charset=",
            "utf-8",
            "gb2312",
            "gbk",
            "big5",
            "iso-2022-jp",
            "utf-7",
            "Content-Transfer-Encoding: ",
            "base64",
            "quoted-printable",
            "8bit",
            "=?UTF-8?B?",
            "=?gbk?Q?",
            "?=",
            "=E4=BD",
            "=\n",
            "Content-Disposition: attachment; filename*=UTF-8''",
            "filename=\"",
            "name=",
            "Content-ID: <",
            "From: ",
            "Subject: ",
            "Date: ",
            "Message-ID: <",
            "References: ",
            "In-Reply-To: ",
            "Auto-Submitted: ",
            "Return-Path: <>",
            "X-Failed-Recipients: ",
            "Precedence: bulk",
            "Received: from x",
            "MIME-Version: 1.0",
            "<",
            ">",
            "\"",
            "(",
            ")",
            ";",
            ",",
            "@",
        ]),
        worst,
    }
}

fn mail_ticket_number() -> Target {
    Target {
        name: "mail_ticket_number",
        about: "xdesk_mail::ticket_number_in and TicketNumber::from_str: a subject line",
        run: |d| {
            let s = text(d);
            let _ = xdesk_mail::ticket_number_in(&s);
            let _ = ticket::TicketNumber::from_str(&s);
        },
        seeds: toks(&[
            "Re: [XD-10042] Withdrawal",
            "xd-10001",
            "XD-99999999",
            "AXD-12345 XD-1234 [XD-10043]",
        ]),
        dict: toks(&[
            "XD-",
            "xd-",
            "[",
            "]",
            "10042",
            "99999999999999999999",
            "Re: ",
            "Fwd: ",
        ]),
        worst: vec![
            fill("XD-"),
            fill("XD-1234"),
            fill("AXD-12345"),
            framed("XD-", "9", ""),
            fill("xd-1"),
        ],
    }
}

// ----- wallet sign-in -----

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_341_600, 0).unwrap_or_default() // 2026-11-22T10:00:00Z
}

fn expect() -> Expect<'static> {
    Expect {
        domain: "support.example.com",
        now: now(),
        evm_chain_ids: &[1, 56],
        max_age: Duration::minutes(10),
    }
}

fn message(chain: wallet::Chain, address: &str) -> String {
    SignInMessage {
        chain,
        domain: "support.example.com".into(),
        address: address.into(),
        statement: Some("Sign in to support. This costs nothing.".into()),
        uri: "https://support.example.com/portal".into(),
        version: "1".into(),
        chain_id: (chain == wallet::Chain::Ethereum).then(|| "1".into()),
        nonce: "k3Jf8sQ2pL9x".into(),
        issued_at: now() - Duration::minutes(1),
        expiration_time: Some(now() + Duration::minutes(9)),
        not_before: Some(now() - Duration::minutes(2)),
    }
    .to_text()
}

/// Signed messages that verify: one per chain and signature kind.
fn wallet_seeds() -> Vec<Vec<u8>> {
    use wallet::signers::*;
    let mut out = Vec::new();
    if let Some(k) = k256_key([7; 32]) {
        let t = message(wallet::Chain::Ethereum, &eth_address_of(&k));
        if let Some(sig) = eth_sign(&k, &t) {
            out.push(joined(&[&t, &sig]));
        }
        let legacy = btc_p2pkh_address(&k);
        let t = message(wallet::Chain::Bitcoin, &legacy);
        if let Some(sig) = btc_legacy_sign(&k, &t) {
            out.push(joined(&[&t, &sig]));
        }
        if let Some(segwit) = btc_p2wpkh_address(&k) {
            let t = message(wallet::Chain::Bitcoin, &segwit);
            if let Some(sig) = btc_bip322_sign(&k, &t) {
                out.push(joined(&[&t, &sig]));
            }
            if let Some(sig) = btc_legacy_sign(&k, &t) {
                out.push(joined(&[&t, &sig]));
            }
        }
    }
    let (addr, _) = wallet::signers::sol_sign([9; 32], "");
    let t = message(wallet::Chain::Solana, &addr);
    let (_, sig) = wallet::signers::sol_sign([9; 32], &t);
    out.push(joined(&[&t, &sig]));
    out
}

fn wallet_sign_in() -> Target {
    let seeds = wallet_seeds();
    let head = "support.example.com wants you to sign in with your Ethereum account:\n0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\n\n";
    Target {
        name: "wallet_sign_in",
        about: "wallet::verify, contract_wallet, SignInMessage::parse, eip1271_call: EIP-4361 text and a signature (EVM, Bitcoin BIP-137/BIP-322, Solana)",
        run: |d| {
            let f = fields(d);
            let t = f.first().map_or("", String::as_str);
            let sig = f.get(1).map_or("", String::as_str);
            let _ = wallet::verify(t, sig, &expect());
            let _ = wallet::contract_wallet(t, &expect());
            let _ = SignInMessage::parse(t);
            let _ = wallet::eip1271_call(t, sig);
            let _ = wallet::eip1271_yes(sig);
        },
        seeds,
        dict: toks(&[
            "\0",
            "\n",
            " wants you to sign in with your ",
            " account:",
            "Ethereum",
            "Bitcoin",
            "Solana",
            "URI: ",
            "Version: ",
            "Chain ID: ",
            "Nonce: ",
            "Issued At: ",
            "Expiration Time: ",
            "Not Before: ",
            "Request ID: ",
            "Resources:",
            "- ",
            "https://support.example.com/",
            "support.example.com",
            "2026-11-22T09:59:00Z",
            "2026-11-22T10:00:00+08:00",
            "9999-12-31T23:59:59Z",
            "0x",
            "1b",
            "1c",
            "00",
            "==",
            "bc1q",
            "tb1q",
            "1",
            "3",
            "m",
            "2",
            "H",
            "I",
            "J",
            "K",
        ]),
        worst: vec![
            framed(head, "Resources:\n", ""),
            framed(head, "URI: x\n", ""),
            framed(
                head,
                "statement\n",
                "URI: https://support.example.com\nVersion: 1\nNonce: 12345678\nIssued At: 2026-11-22T09:59:00Z",
            ),
            joined(&["x", &"A".repeat(MAX_INPUT - 4)]),
            joined(&["x", &"1".repeat(MAX_INPUT - 4)]),
        ],
    }
}

fn wallet_btc_script() -> Target {
    Target {
        name: "wallet_btc_script",
        about: "wallet::btc_script: a Bitcoin address (mainnet or testnet)",
        run: |d| {
            let _ = wallet::btc_script(&text(d));
        },
        seeds: toks(&[
            "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2",
            "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
            "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
            "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
            "2MzQwSSnBHWHqSAqtTVQ6v47XtaisrJa1Vc",
            "tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7",
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ]),
        dict: toks(&[
            "bc1",
            "tb1",
            "bcrt1",
            "1",
            "q",
            "p",
            "z",
            "qpzry9x8gf2tvdw0s3jn54khce6mua7l",
            "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
        ]),
        worst: vec![
            fill("1"),
            fill("z"),
            framed("bc1q", "q", ""),
            fill("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        ],
    }
}

// ----- iCalendar -----

fn ical_holidays() -> Target {
    let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261001\r\nDTEND;VALUE=DATE:20261004\r\nSUMMARY:National\r\n  Day\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20261225T000000Z\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    Target {
        name: "ical_holidays",
        about: "sla::ical_holidays: an iCalendar file",
        run: |d| {
            let _ = sla::ical_holidays(&text(d));
        },
        seeds: vec![
            b(ics),
            b("BEGIN:VEVENT\nDTSTART:99991231\nDTEND:00010101\nRRULE:FREQ=YEARLY\nEND:VEVENT\n"),
        ],
        dict: toks(&[
            "BEGIN:VEVENT\r\n",
            "END:VEVENT\r\n",
            "BEGIN:VCALENDAR\r\n",
            "DTSTART;VALUE=DATE:",
            "DTSTART:",
            "DTEND:",
            "DTEND;VALUE=DATE:",
            "RRULE:FREQ=YEARLY",
            "RRULE:FREQ=DAILY",
            "\r\n ",
            "\r\n\t",
            "20261001",
            "99991231",
            "00000101",
            "20260229",
            "T000000Z",
            ";",
            ":",
        ]),
        worst: vec![
            fill("BEGIN:VEVENT\nDTSTART:20260101\nDTEND:20270101\nRRULE:FREQ=YEARLY\nEND:VEVENT\n"),
            fill("BEGIN:VEVENT\nDTSTART:99990101\nDTEND:99991231\nRRULE:FREQ=YEARLY\nEND:VEVENT\n"),
            framed(
                "BEGIN:VEVENT\nDTSTART:20260101\nSUMMARY:x",
                "\n y",
                "\nEND:VEVENT\n",
            ),
            fill("\n "),
            fill("BEGIN:VEVENT\n"),
        ],
    }
}

// ----- chat token -----

const CHAT_SECRET: &[u8] = b"integration-secret-0123456789";

fn chat_token() -> Target {
    let good = chat_token::sign(
        &serde_json::json!({"sub": "U1001", "email": "li@example.com", "name": "Li", "exp": 1_900_000_000i64}),
        CHAT_SECRET,
    );
    let odd = chat_token::sign(
        &serde_json::json!({"sub": " ", "exp": -9_223_372_036_854_775_807i64, "extra": [1, {"a": null}]}),
        CHAT_SECRET,
    );
    Target {
        name: "chat_token",
        about: "chat_token::verify: the signed customer token (HS256 JWT) of the chat widget",
        run: |d| {
            let t = text(d);
            let _ = chat_token::verify(&t, CHAT_SECRET, 1_800_000_000);
            let _ = chat_token::verify(&t, b"", 0);
        },
        seeds: vec![
            b(&good),
            b(&odd),
            b("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjoxfQ."),
        ],
        dict: toks(&[
            ".",
            "eyJhbGciOiJIUzI1NiJ9",
            "eyJhbGciOiJub25lIn0",
            "=",
            "-",
            "_",
            "+",
            "/",
            "A",
            "eyJ",
        ]),
        worst: vec![
            fill("."),
            fill("eyJ"),
            framed("eyJhbGciOiJIUzI1NiJ9.", "W3s", ".AA"),
        ],
    }
}

// ----- secret scanner -----

pub(crate) const EN12: &str =
    "abandon ability able about above absent absorb abstract absurd abuse access accident";
const ZH12: &str = "的 一 是 在 不 了 有 和 人 这 中 大";

/// Adversarial inputs for the secret scanner of about `size` bytes: what made it quadratic or
/// makes it do the most work per byte.
pub fn secret_worst_cases(size: usize) -> Vec<(&'static str, Vec<u8>)> {
    use crate::fill_to;
    let f = |u: &str| fill_to(u, size);
    vec![
        ("digits", f("1")),
        ("otp codes", f("123456 ")),
        ("otp codes labelled", f("2fa code 123456 ")),
        ("otp codes cjk", f("验证码123456，")),
        (
            "hex keys",
            f("0x4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b "),
        ),
        (
            "hex keys labelled",
            f("private key 4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b\n"),
        ),
        (
            "base58 runs",
            f("5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ "),
        ),
        ("base58 long", f("z")),
        ("one bip39 word", f("abandon ")),
        ("bip39 words", f(&format!("{EN12} "))),
        ("bip39 numbered", f("1. abandon 2. ability ")),
        ("one chinese word", f("的")),
        ("chinese spaced", f(&format!("{ZH12} "))),
        ("chinese groups", f("的一是在 不了有和 人这中大\n")),
        ("chinese groups one line", f("的一 ")),
        // The most checksums a byte: from each of a line's first 48 groups, spans of 12, 15,
        // 18, 21 and 24 characters.
        (
            "chinese groups and singles",
            f(&format!("的一 {}\n", "的 ".repeat(70))),
        ),
        (
            "chinese groups per line",
            f(&format!("{}\n", "的一 ".repeat(48))),
        ),
        ("chinese runs", f("的一是在不了有和人这中大。")),
        ("chinese runs split", f("的一是在不了有和人这中大鑫")),
        ("chinese named", f("助记词是的一是在不了有和人这中大")),
        ("cjk and digits", f("的1")),
        (
            "mixed",
            f("seed 助记词 私钥 private key tx hash 验证码 2fa 123456 abandon 的 "),
        ),
    ]
}

fn secret_scanner() -> Target {
    Target {
        name: "secret_scanner",
        about: "secrets::find and secrets::redact: a customer's message",
        run: |d| {
            let t = text(d);
            let found = secrets::find(&t);
            let mut end = 0;
            for f in &found {
                assert!(
                    f.range.start >= end && f.range.end <= t.len() && f.range.start < f.range.end
                );
                end = f.range.end;
            }
            let _ = secrets::redact(&t);
        },
        seeds: vec![
            b(&format!("Hi, my wallet words are {EN12}. Please help!")),
            b(&format!("我的助记词是：{ZH12}，帮我看看")),
            b("help me 的的的的的的的的的的的在 thanks"),
            b("我的钱包 的一是在 不了有和 人这中大 余额没了"),
            b(
                "my private key is 0x4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b and tx hash 5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060",
            ),
            b(
                "WIF 5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
            ),
            b("Google Authenticator code: 123456, 验证码 87654321"),
            b(
                "1. abandon 2. ability 3. able 4. about 5. above 6. absent 7. absorb 8. abstract 9. absurd 10. abuse 11. access 12. accident",
            ),
        ],
        dict: toks(&[
            "abandon ",
            "zoo ",
            "ability ",
            "的",
            "一",
            "是",
            "助记词",
            "私钥",
            "private key ",
            "tx ",
            "hash ",
            "2fa ",
            "验证码",
            "123456",
            "12345678",
            "0x",
            "xprv",
            "5H",
            "K",
            "L",
            ". ",
            "。",
            "\n",
            "：",
            "是",
            " ",
            "1. ",
            "seed ",
            "mnemonic",
        ]),
        worst: secret_worst_cases(MAX_INPUT)
            .into_iter()
            .map(|(_, v)| v)
            .collect(),
    }
}

// ----- Markdown -----

fn markdown() -> Target {
    Target {
        name: "markdown",
        about: "xdesk-ui markdown::to_html: an article's Markdown, rendered and sanitised",
        run: |d| {
            let h = crate::markdown::to_html(&text(d));
            assert!(!h.contains("<script"));
        },
        seeds: toks(&[
            "## Steps\n\n1. Open **Assets**\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert(1)</script><img src=x onerror=alert(1)>\n\n[x](javascript:alert(1)) [ok](https://www.nexa.example/)",
            "> quote\n> - list\n>   * nested\n\n```rust\ncode\n```\n\n~~gone~~ *em* _em_ `code` <b>raw</b>\n\n[ref]: https://x.example \"t\"\n\n[ref] ![img](x.png)",
        ]),
        dict: toks(&[
            "*",
            "**",
            "_",
            "`",
            "```",
            "~~",
            "[",
            "]",
            "(",
            ")",
            "![",
            "<",
            ">",
            "|",
            "|---|",
            "# ",
            "\n",
            "\n\n",
            "    ",
            "> ",
            "- ",
            "1. ",
            "<script>",
            "<a href=\"",
            "javascript:",
            "&lt;",
            "&#",
            "\\",
            "[x]: ",
            "<!--",
            "-->",
            "<div>",
            "</div>",
        ]),
        worst: vec![
            fill("["),
            fill("*a"),
            fill(">"),
            fill("> - "),
            fill("<div>"),
            fill("**_"),
            fill("|a"),
            fill("[x](y "),
            fill("`"),
            fill("<"),
            fill("![["),
            fill("- "),
            fill("1. "),
            fill("\\"),
            fill("&#"),
            fill("<a href=\"x\">"),
            fill("|a|\n|-|\n"),
            // One table of 21,835 rows: 630 KB of HTML for the sanitiser.
            b(&format!("| a | b |\n|---|---|\n{}", "-|\n".repeat(21_835))),
            fill("[a]: b\n"),
            fill("*a _b "),
        ],
    }
}

// ----- /verify -----

fn registry() -> &'static [official::Entry] {
    static R: LazyLock<Vec<official::Entry>> = LazyLock::new(|| {
        [
            (official::Kind::Domain, "binance.com"),
            (official::Kind::Email, "*@binance.com"),
            (official::Kind::Email, "support@binance-mail.com"),
            (official::Kind::Phone, "+1 800 555 0199"),
            (official::Kind::Telegram, "@BinanceSupport"),
            (official::Kind::X, "https://x.com/binance"),
            (official::Kind::Discord, "discord:binance"),
            (official::Kind::Agent, "XA-7K2M9QXD"),
        ]
        .iter()
        .filter_map(|(k, v)| {
            official::normalize_entry(*k, v)
                .ok()
                .map(|value| official::Entry { kind: *k, value })
        })
        .collect()
    });
    &R
}

fn official_query() -> Target {
    Target {
        name: "official_query",
        about: "official::parse_query, check and normalize_entry: what someone typed at /verify",
        run: |d| {
            let (first, rest) = d.split_first().map_or((0, d), |(f, r)| (*f, r));
            let s = text(rest);
            if let Ok(q) = official::parse_query(&s) {
                let _ = official::check(&q, registry());
            }
            let kinds = official::Kind::ALL;
            let _ = official::normalize_entry(kinds[usize::from(first) % kinds.len()], &s);
        },
        seeds: [
            "binance.com",
            "https://binance.com@evil.io/login",
            "support@binance-mail.com",
            "+1 (800) 555-0199",
            "@BinanceSupport",
            "t.me/BinanceSupport",
            "https://x.com/binance",
            "discord:binance",
            "name#1234",
            "XA-7K2M-9QXD",
            "xn--bnance-bwa.com",
            "bіnance.com",
            "www.binance.com.evil.co.uk/path?q#f",
            "*@binance.com",
            "binance%2Ecom",
        ]
        .iter()
        .map(|s| {
            let mut v = vec![0u8];
            v.extend_from_slice(s.as_bytes());
            v
        })
        .collect(),
        dict: toks(&[
            "https://",
            "http://",
            "www.",
            "@",
            ".",
            "/",
            "xn--",
            "t.me/",
            "x.com/",
            "discord.gg/",
            "discord:",
            "telegram:",
            "XA-",
            "#",
            "%2E",
            "%",
            ":",
            "co.uk",
            "com.cn",
            "binance",
            "bіnance",
            "ß",
            "\u{200d}",
        ]),
        worst: vec![
            framed("\0", "a.", "com"),
            framed("\0", "@", ""),
            framed("\0", "xn--", ""),
            framed("\0", "%2E", ""),
            framed("\0", "ı", ".com"),
            framed("\0https://", "a@", "x.com"),
        ],
    }
}

fn official_message_code() -> Target {
    Target {
        name: "official_message_code",
        about: "official::parse_message_code: a message code as typed",
        run: |d| {
            let _ = official::parse_message_code(&text(d));
        },
        seeds: toks(&["K7Q2-M9XD-4HRT", "k7q2 m9xd 4hrt", "O1IL-0000-ZZZZ"]),
        dict: toks(&["-", " ", "O", "I", "L", "U", "ß", "ﬃ"]),
        worst: vec![fill("-"), fill("ﬃ"), fill("K7Q2-")],
    }
}

fn official_link_hosts() -> Target {
    Target {
        name: "official_link_hosts",
        about: "official::link_hosts: the links of an inbound message",
        run: |d| {
            let t = text(d);
            for h in official::link_hosts(&t) {
                if let Ok(q) = official::parse_query(&h) {
                    let _ = official::check(&q, registry());
                }
            }
        },
        seeds: toks(&[
            "Please log in at https://binance.com@evil.io/login or www.binance-support.com, see bіnance.com/x.",
            "链接：http://xn--bnance-bwa.com（官方）和 t.me/BinanceSupport。",
        ]),
        dict: toks(&[
            "https://", "http://", "www.", ".com", ".", "/", "@", " ", "(", ")", "，", "xn--", "?",
            "#",
        ]),
        worst: vec![
            fill("a.bc "),
            // Distinct hosts: each new one compared with all before it.
            {
                let mut s = String::new();
                let mut i = 0u32;
                while s.len() < MAX_INPUT - 16 {
                    s.push_str(&format!("h{i}.io "));
                    i += 1;
                }
                s.into_bytes()
            },
            fill("https://"),
            fill("www."),
            framed("", "a.", "com"),
        ],
    }
}

// ----- crypto case fields -----

fn crypto_address() -> Target {
    use Network::*;
    let seeds = [
        (Bitcoin, "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2"),
        (Bitcoin, "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"),
        (Bitcoin, "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
        (
            Bitcoin,
            "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        ),
        (Bitcoin, "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"),
        (Ethereum, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        (Bsc, "0xdac17f958d2ee523a2206206994597c13d831ec7"),
        (Tron, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
        (Tron, "41a614f803b6fd780986a42c78ec9c7f77e6ded13c"),
        (Solana, "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"),
        (Solana, "11111111111111111111111111111111"),
        (Xrp, "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"),
        (Xrp, "XV5sbjUmgPpvXv4ixFWZ5ptAYZ6PD28Sq49uo34VyjnmK5H"),
        (Ton, "EQCKhieGGl3ZbJ2zzggHsSLaXtRzk0znVopbSxw2HLsorkdl"),
        (
            Ton,
            "0:8a8627861a5dd96c9db3ce0807b122da5ed473934ce7568a5b4b1c361cbb28ae",
        ),
        (Ton, "EQAN6Dr3vziti1Kp9D3aEFqJX4bBVfCaV57Z+9jwKTBXICv8"),
        (Litecoin, "ltc1q3m3ujh350qrqdl33pv7pjw0d0m9qnm6qjcjpga"),
        (Litecoin, "LW6HjAU6GL9fK2LZWUA6VZCzomTdrpx3nr"),
        (Litecoin, "MGxNPPB7eBoWPUaprtX9v9CXJZoD2465zN"),
        (Dogecoin, "DH5yaieqoZN36fDVciNyRueRGvGLR3mr7L"),
        (Dogecoin, "9u2VokzEL1s756PzNoUntcyjzrdgdaHgs7"),
    ];
    Target {
        name: "crypto_address",
        about: "crypto::Address::parse for every network (EVM, UTXO, Tron, Solana, XRP, TON) and its explorer link",
        run: |d| {
            let (n, rest) = network_of(d);
            if let Ok(a) = Address::parse(n, &text(rest)) {
                let again = Address::parse(n, a.as_str());
                assert!(again.as_ref() == Ok(&a), "not idempotent: {a} -> {again:?}");
                let _ = n.explorer_address_url(a.as_str());
            }
        },
        seeds: seeds.iter().map(|(n, s)| with_network(*n, s)).collect(),
        dict: toks(&[
            "0x",
            "0X",
            "bc1",
            "tb1",
            "ltc1",
            "q",
            "p",
            "1",
            "3",
            "T",
            "r",
            "X",
            "EQ",
            "UQ",
            "0:",
            "-1:",
            "+",
            "/",
            "_",
            "-",
            "=",
            "ABCDEF",
            "abcdef",
            "qpzry9x8gf2tvdw0s3jn54khce6mua7l",
            "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
            "rpshnaf39wBUDNEGHJKLM4PQRST7VWXYZ2bcdeCg65jkm8oFqi1tuvAxyz",
        ]),
        worst: (0u8..14)
            .flat_map(|i| {
                [
                    {
                        let mut v = vec![i];
                        v.extend(crate::fill_to("1", 127));
                        v
                    },
                    {
                        let mut v = vec![i];
                        v.extend(fill("z"));
                        v
                    },
                ]
            })
            .collect(),
    }
}

fn crypto_tx_hash() -> Target {
    use Network::*;
    let seeds = [
        (
            Bitcoin,
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
        ),
        (
            Ethereum,
            "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b",
        ),
        (
            Tron,
            "a1075db55d416d3ca199f55b6084e2115b9345e16c5cf302fc80e9d5fbf5d48d",
        ),
        (
            Solana,
            "5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW",
        ),
        (
            Xrp,
            "E08D6E9754025BA2534A78707605E0601F03ACE063687A0CA1BDDACFCD1698C7",
        ),
        (Ton, "Pw5W+i1/1sX13w0Laz6l6LbYrzxrXQyai35vXUw7Khk="),
        (Ton, "Pw5W-i1_1sX13w0Laz6l6LbYrzxrXQyai35vXUw7Khk="),
        (
            Ton,
            "3f0e56fa2d7fd6c5f5df0d0b6b3ea5e8b6d8af3c6b5d0c9a8b7e6f5d4c3b2a19",
        ),
        (
            Litecoin,
            "b0cc8d5c1a5ab0d8a8b7d6a5bbf1e0d1b9a2b4c1d0e9f8a7b6c5d4e3f2a1b0c9",
        ),
    ];
    Target {
        name: "crypto_tx_hash",
        about: "crypto::TxHash::parse for every network and its explorer link",
        run: |d| {
            let (n, rest) = network_of(d);
            if let Ok(h) = TxHash::parse(n, &text(rest)) {
                let again = TxHash::parse(n, h.as_str());
                assert!(again.as_ref() == Ok(&h), "not idempotent: {h} -> {again:?}");
                let _ = n.explorer_tx_url(h.as_str());
            }
        },
        seeds: seeds.iter().map(|(n, s)| with_network(*n, s)).collect(),
        dict: toks(&[
            "0x",
            "=",
            "==",
            "+",
            "/",
            "-",
            "_",
            "abcdef",
            "ABCDEF",
            "0000000000000000",
        ]),
        worst: (0u8..14)
            .map(|i| {
                let mut v = vec![i];
                v.extend(fill("a"));
                v
            })
            .collect(),
    }
}

fn crypto_memo() -> Target {
    use Network::*;
    let seeds = [
        (Xrp, "123456"),
        (Xrp, "4294967295"),
        (Ton, "deposit 42 充值"),
        (Solana, "memo text"),
    ];
    Target {
        name: "crypto_memo",
        about: "crypto::Memo::parse: XRP destination tags, TON and Solana comments",
        run: |d| {
            let (n, rest) = network_of(d);
            if let Ok(m) = Memo::parse(n, &text(rest)) {
                let again = Memo::parse(n, m.as_str());
                assert!(again.as_ref() == Ok(&m), "not idempotent: {m} -> {again:?}");
            }
        },
        seeds: seeds.iter().map(|(n, s)| with_network(*n, s)).collect(),
        dict: toks(&["0", "00000", "4294967296", " ", "\n", "\u{200b}", "-", "+"]),
        worst: vec![
            {
                let mut v = vec![10u8];
                v.extend(fill("0"));
                v
            },
            {
                let mut v = vec![11u8];
                v.extend(fill("\u{301}"));
                v
            },
        ],
    }
}

fn crypto_amount() -> Target {
    Target {
        name: "crypto_amount",
        about: "crypto::Amount::parse: an amount as people type it",
        run: |d| {
            if let Ok(a) = Amount::parse(&text(d)) {
                let canon = a.to_canonical_string();
                let again = Amount::parse(&canon);
                assert!(
                    again.as_ref() == Ok(&a),
                    "not idempotent: {canon} -> {again:?}"
                );
            }
        },
        seeds: toks(&[
            "25,000.50",
            "25 000.50",
            "０.５",
            "1,000,000",
            "0.000000000000000001",
            "9999999999999999999999999999",
            "12345678901.123456789012345678",
            "1.000,50",
            "1,5",
        ]),
        dict: toks(&[
            ",", ".", " ", "\u{a0}", "\u{2009}", "，", "．", "０", "000", "-", "+", "e", "_", "'",
        ]),
        worst: vec![
            fill("0"),
            fill("1,000"),
            fill("."),
            fill("０"),
            framed("0.", "0", "1"),
        ],
    }
}

fn crypto_asset() -> Target {
    Target {
        name: "crypto_asset",
        about: "crypto::Asset::parse and Network::from_str: a ticker and a network name",
        run: |d| {
            let t = text(d);
            if let Ok(a) = Asset::parse(&t) {
                let again = Asset::parse(a.as_str());
                assert!(again.as_ref() == Ok(&a), "not idempotent: {a} -> {again:?}");
            }
            let _ = Network::from_str(&t);
        },
        seeds: toks(&["BTC", "usdt.e", "USDC-SPL", "trc20", "avalanche-c", "erc20"]),
        dict: toks(&[".", "-", "_", "e", "ß", "İ", "ﬃ"]),
        worst: vec![fill("A"), fill("ß"), fill(".")],
    }
}

fn crypto_fields_json() -> Target {
    Target {
        name: "crypto_fields_json",
        about: "ticket::RawCryptoFields from JSON (as the API gets it), then validate",
        run: |d| {
            if let Ok(raw) = serde_json::from_slice::<ticket::RawCryptoFields>(d) {
                let _ = raw.validate();
            }
        },
        seeds: toks(&[
            r#"{"network":"trc20","asset":"USDT","tx_hash":"a1075db55d416d3ca199f55b6084e2115b9345e16c5cf302fc80e9d5fbf5d48d","from_address":"TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t","to_address":"TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7","amount":"25,000.50","occurred_at":"2026-11-21T10:00:00Z"}"#,
            r#"{"network":"xrp","asset":"XRP","memo":"123456","to_address":"rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh","amount":"0.5"}"#,
            r#"{"tx_hash":"x"}"#,
        ]),
        dict: toks(&[
            "\"network\":",
            "\"memo\":",
            "\"amount\":",
            "null",
            "\"\"",
            "{",
            "}",
            ",",
            "\\u0000",
            "\\ud800",
        ]),
        worst: vec![fill("["), framed("{\"asset\":\"", "A", "\"}")],
    }
}

// ----- identities, tickets, text -----

fn identity() -> Target {
    Target {
        name: "identity",
        about: "identity::Identity::parse (email, exchange_uid, wallet, telegram, visitor) and parse_email",
        run: |d| {
            let f = fields(d);
            let kind = f.first().map_or("", String::as_str);
            let value = f.get(1).map_or("", String::as_str);
            let _ = identity::Identity::parse(kind, value);
            let _ = identity::parse_email(value);
            let _ = identity::check_password(value);
        },
        seeds: vec![
            joined(&["email", "Li.Wei@Example.COM"]),
            joined(&["exchange_uid", "sub|123"]),
            joined(&[
                "wallet",
                "ethereum:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            ]),
            joined(&["wallet", "btc:bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"]),
            joined(&["telegram", "123456789"]),
            joined(&["visitor", "abcdefghijklmnop_-12"]),
        ],
        dict: toks(&[
            "email",
            "wallet",
            "telegram",
            "visitor",
            "exchange_uid",
            "@",
            ".",
            ":",
            "\0",
            "sol:",
            "ton:",
            "xrp:",
        ]),
        worst: vec![
            joined(&["email", &"@".repeat(MAX_INPUT - 8)]),
            joined(&["wallet", &":".repeat(MAX_INPUT - 8)]),
        ],
    }
}

fn ticket_fields() -> Target {
    Target {
        name: "ticket_fields",
        about: "ticket::Subject, Tag, parse_tags, parse_language, guess_language: ticket text fields",
        run: |d| {
            let f = fields(d);
            let first = f.first().map_or("", String::as_str);
            let _ = ticket::Subject::parse(first);
            let _ = ticket::Tag::parse(first);
            let _ = ticket::parse_language(first);
            let _ = ticket::guess_language(first);
            let _ = ticket::parse_tags(&f);
        },
        seeds: vec![
            b("Withdrawal pending 提币未到账"),
            joined(&["vip", "kyc:pending", "zh-Hant"]),
        ],
        dict: toks(&["\0", "-", ":", ".", "_", " ", "\t", "zh", "en"]),
        worst: vec![fill("a\0"), fill("İ")],
    }
}

fn text_words() -> Target {
    Target {
        name: "text_words",
        about: "text::words_at and identifier_forms: the search tokenizer (jieba for Chinese, stemmed English)",
        run: |d| {
            let t = text(d);
            for w in dtext::words_at(&t) {
                assert!(w.from <= w.to && w.to <= t.len());
            }
            for w in t.split_whitespace().take(64) {
                let _ = dtext::identifier_forms(w);
            }
        },
        seeds: toks(&[
            "My USDT withdrawal 0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b is still pending",
            "我的充值没有到账，交易哈希是 a1075db55d416d3ca199f55b6084e2115b9345e16c5cf302fc80e9d5fbf5d48d",
        ]),
        dict: toks(&["的", "充值", "提币", "ing", "ed", "'s", "0x", " "]),
        worst: vec![
            fill("的"),
            fill("a"),
            fill("充值到账"),
            fill("ing"),
            fill("𠀀"),
            fill("a1"),
            // The English stemmer copies the word for each `y` it marks (quadratic until
            // words over text::MAX_STEMMED_LEN bytes were left unstemmed).
            fill("y"),
            fill("ay"),
        ],
    }
}

fn model() -> &'static triage::Classifier {
    static M: LazyLock<triage::Classifier> = LazyLock::new(|| {
        triage::Classifier::train(&triage::builtin_examples().unwrap_or_default())
    });
    &M
}

fn triage() -> Target {
    Target {
        name: "triage",
        about: "triage::triage (classifier and detect_language): a new ticket's text",
        run: |d| {
            let _ = triage::triage(
                model(),
                &text(d),
                Some("USDT"),
                None,
                &triage::UrgentAmounts::default(),
            );
        },
        seeds: toks(&[
            "My account was hacked and someone withdrew all my USDT",
            "充值没有到账，已经两个小时了",
            "Mi retiro no ha llegado",
        ]),
        dict: toks(&[
            "hacked", "withdraw", "deposit", "充值", "被盗", " ", "haven't", "not",
        ]),
        worst: vec![fill("的"), fill("a "), fill("hacked "), fill("é")],
    }
}

fn surge_terms() -> Target {
    Target {
        name: "surge_terms",
        about: "surge::terms: the words of a new ticket for surge detection",
        run: |d| {
            let _ = surge::terms(&text(d));
        },
        seeds: toks(&[
            "Withdrawals of USDT on TRC20 stuck since 10:00, can't withdraw",
            "提币卡住了 不能提现",
        ]),
        dict: toks(&["can't", "not", "no", "不", "没", " ", "0x"]),
        worst: vec![fill("不"), fill("not "), fill("a "), fill("y")],
    }
}

fn kb_files() -> Target {
    let file = "+++\ntitle = \"充值未到账怎么办\"\ncategory = \"deposits\"\nsection = \"crypto-deposits\"\ntags = [\"充值\", \"tx hash\"]\nanswers = [\"missing_deposit\"]\n+++\n\n## 步骤\n\n1. 查看充值记录。\n";
    Target {
        name: "kb_files",
        about: "kb::ArticleFile::parse and Categories::parse: imported knowledge-base files",
        run: |d| {
            let f = fields(d);
            let name = f.first().map_or("", String::as_str);
            let body = f.get(1).map_or("", String::as_str);
            let _ = kb::ArticleFile::parse(name, body);
            let _ = kb::Categories::parse(body);
            let _ = kb::check_slug(name);
        },
        seeds: vec![
            joined(&["deposit-not-credited.zh.md", file]),
            joined(&[
                "x.en.md",
                "[[category]]\nslug = \"deposits\"\nname = \"Deposits\"\n[[category.section]]\nslug = \"crypto\"\nname = \"Crypto\"\n",
            ]),
        ],
        dict: toks(&[
            "+++\n",
            "\0",
            ".md",
            ".zh",
            "[[category]]",
            "=",
            "\"",
            "[",
            "]",
            "\n",
        ]),
        worst: vec![
            joined(&["a.en.md", &"[".repeat(MAX_INPUT - 10)]),
            joined(&["a.en.md", &format!("+++\n{}", "a=[".repeat(5000))]),
        ],
    }
}

fn macro_bodies() -> Target {
    Target {
        name: "macro_bodies",
        about: "macros::validate and render: a canned reply with {{ placeholders }}",
        run: |d| {
            let t = text(d);
            if macros::validate(&t).is_ok() {
                let mut values = std::collections::BTreeMap::new();
                values.insert("customer_name", "Li".to_owned());
                let _ = macros::render(&t, &values, "(not given)");
            }
        },
        seeds: toks(&[
            "Hello {{ customer_name }}, ticket {{ticket_number}} about {{ asset }} {{ amount }}.",
            "{{ typo }}",
            "{{",
        ]),
        dict: toks(&["{{", "}}", " ", "customer_name", "tx_hash", "{", "}"]),
        worst: vec![fill("{{"), fill("{{ customer_name }}"), fill("{")],
    }
}

fn anchor_log() -> Target {
    static KEY: LazyLock<String> = LazyLock::new(|| {
        anchor::signing_key_from_hex(&"01".repeat(32))
            .map(|k| anchor::public_key_hex(&k))
            .unwrap_or_default()
    });
    let line = anchor::signing_key_from_hex(&"01".repeat(32))
        .and_then(|k| anchor::Checkpoint::sign(1, now(), &[], "", &k).ok())
        .map(|c| c.to_line())
        .unwrap_or_default();
    Target {
        name: "anchor_log",
        about: "anchor::verify_log and last_line: a checkpoint log read back from disk; onchain::hex_quantity",
        run: |d| {
            let t = text(d);
            let _ = anchor::verify_log(&t, &KEY);
            let _ = anchor::last_line(&t);
            let _ = onchain::hex_quantity(&t);
        },
        seeds: vec![
            b(&format!("{line}\n")),
            b("0xffffffffffffffffffffffffffffffff"),
        ],
        dict: toks(&[
            "\n",
            "{",
            "}",
            "\"seq\":",
            "\"prev\":",
            "\"sig\":",
            "0x",
            "ff",
        ]),
        worst: vec![fill("\n"), fill("{\"v\":1}\n"), framed("0x", "f", "")],
    }
}
