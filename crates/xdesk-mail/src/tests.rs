//! A corpus of messages built byte by byte, each with the result it must give.
#![allow(clippy::unwrap_used, clippy::panic)]

use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

fn msg(headers: &str, body: &[u8]) -> Vec<u8> {
    let mut v = headers.replace('\n', "\r\n").into_bytes();
    v.extend_from_slice(b"\r\n");
    v.extend_from_slice(body);
    v
}

fn encode(enc: &'static encoding_rs::Encoding, s: &str) -> Vec<u8> {
    let (bytes, _, errors) = enc.encode(s);
    assert!(!errors, "{s} is representable in {}", enc.name());
    bytes.into_owned()
}

fn rfc2047(charset: &str, enc: &'static encoding_rs::Encoding, s: &str) -> String {
    format!("=?{charset}?B?{}?=", B64.encode(encode(enc, s)))
}

const BASIC: &str = "From: Li Wei <Li.Wei@Example.COM>\nTo: support@exchange.test\nSubject: Withdrawal pending\nMessage-ID: <abc123@mail.example.com>\nDate: Sat, 21 Nov 2026 10:00:00 +0800\n";

#[test]
fn plain_ascii_message() {
    let e = parse(&msg(BASIC, b"My withdrawal is stuck.\r\n")).unwrap();
    assert_eq!(e.message_id.as_deref(), Some("abc123@mail.example.com"));
    let from = e.from.unwrap();
    assert_eq!(from.address, "li.wei@example.com");
    assert_eq!(from.name.as_deref(), Some("Li Wei"));
    assert_eq!(e.subject, "Withdrawal pending");
    assert_eq!(e.text, "My withdrawal is stuck.");
    assert_eq!(e.html, None);
    assert_eq!(e.date.unwrap().to_rfc3339(), "2026-11-21T02:00:00+00:00");
    assert!(e.automatic.is_none() && e.bounce.is_none());
}

#[test]
fn utf8_quoted_printable_with_emoji() {
    let h = "From: a@b.test\nSubject: =?UTF-8?B?5o+Q5biB5pyq5Yiw6LSmIPCfmoA=?=\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n";
    let e = parse(&msg(
        h,
        b"=E6=8F=90=E5=B8=81=E6=9C=AA=E5=88=B0=E8=B4=A6 =F0=9F=9A=80\r\n",
    ))
    .unwrap();
    assert_eq!(e.subject, "提币未到账 🚀");
    assert_eq!(e.text, "提币未到账 🚀");
}

#[test]
fn gb2312_subject_and_body() {
    let subject = rfc2047("GB2312", encoding_rs::GBK, "充值未到账");
    let h = format!(
        "From: a@b.test\nSubject: {subject}\nContent-Type: text/plain; charset=GB2312\nContent-Transfer-Encoding: 8bit\n"
    );
    let e = parse(&msg(
        &h,
        &encode(encoding_rs::GBK, "我的充值三个小时还没到账"),
    ))
    .unwrap();
    assert_eq!(e.subject, "充值未到账");
    assert_eq!(e.text, "我的充值三个小时还没到账");
}

#[test]
fn gbk_base64_body() {
    let body = B64.encode(encode(encoding_rs::GBK, "冻结账户，请尽快处理，谢谢！"));
    let h = "From: a@b.test\nSubject: x\nContent-Type: text/plain; charset=\"gbk\"\nContent-Transfer-Encoding: base64\n";
    let e = parse(&msg(h, body.as_bytes())).unwrap();
    assert_eq!(e.text, "冻结账户，请尽快处理，谢谢！");
}

#[test]
fn big5_body_and_subject() {
    let subject = rfc2047("Big5", encoding_rs::BIG5, "提幣問題");
    let h = format!(
        "From: a@b.test\nSubject: {subject}\nContent-Type: text/plain; charset=big5\nContent-Transfer-Encoding: 8bit\n"
    );
    let e = parse(&msg(&h, &encode(encoding_rs::BIG5, "我的提幣一直沒有到帳"))).unwrap();
    assert_eq!(e.subject, "提幣問題");
    assert_eq!(e.text, "我的提幣一直沒有到帳");
}

#[test]
fn iso_2022_jp_body() {
    let h = "From: a@b.test\nSubject: =?ISO-2022-JP?B?GyRCJTUlXSE8JUgbKEI=?=\nContent-Type: text/plain; charset=ISO-2022-JP\nContent-Transfer-Encoding: 7bit\n";
    let e = parse(&msg(
        h,
        &encode(encoding_rs::ISO_2022_JP, "出金が届きません"),
    ))
    .unwrap();
    assert_eq!(e.subject, "サポート");
    assert_eq!(e.text, "出金が届きません");
}

#[test]
fn latin1_quoted_printable() {
    let h = "From: a@b.test\nSubject: =?ISO-8859-1?Q?R=E9clamation?=\nContent-Type: text/plain; charset=ISO-8859-1\nContent-Transfer-Encoding: quoted-printable\n";
    let e = parse(&msg(h, b"D=E9p=F4t non cr=E9dit=E9\r\n")).unwrap();
    assert_eq!(e.subject, "Réclamation");
    assert_eq!(e.text, "Dépôt non crédité");
}

#[test]
fn multipart_alternative_keeps_both_bodies() {
    let h = "From: a@b.test\nSubject: alt\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary=\"XX\"\n";
    let body = b"--XX\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain version\r\n--XX\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html <b>version</b></p>\r\n--XX--\r\n";
    let e = parse(&msg(h, body)).unwrap();
    assert_eq!(e.text, "plain version");
    assert!(e.html.unwrap().contains("<b>version</b>"));
    assert!(e.attachments.is_empty());
}

#[test]
fn html_only_gets_a_derived_text_body() {
    let h = "From: a@b.test\nSubject: html\nContent-Type: text/html; charset=utf-8\n";
    let e = parse(&msg(
        h,
        b"<html><body><p>Deposit <b>missing</b></p><script>x()</script></body></html>",
    ))
    .unwrap();
    assert!(
        e.text.contains("Deposit") && e.text.contains("missing"),
        "{}",
        e.text
    );
    assert!(!e.text.contains("<b>"));
    assert!(e.html.is_some());
}

#[test]
fn related_inline_image_is_kept_with_its_content_id() {
    let png = [0x89u8, b'P', b'N', b'G', 0, 1, 2, 3];
    let h =
        "From: a@b.test\nSubject: screenshot\nContent-Type: multipart/related; boundary=\"R\"\n";
    let body = format!(
        "--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>see <img src=\"cid:shot1@x\"></p>\r\n--R\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\nContent-ID: <shot1@x>\r\nContent-Disposition: inline\r\n\r\n{}\r\n--R--\r\n",
        B64.encode(png)
    );
    let e = parse(&msg(h, body.as_bytes())).unwrap();
    assert_eq!(e.attachments.len(), 1);
    let a = &e.attachments[0];
    assert_eq!(a.bytes, png);
    assert!(a.inline);
    assert_eq!(a.content_id.as_deref(), Some("shot1@x"));
    assert_eq!(a.content_type, "image/png");
    assert_eq!(a.filename, "attachment-1.png");
}

#[test]
fn mixed_with_rfc2231_chinese_filename_and_pdf() {
    let h = "From: a@b.test\nSubject: files\nContent-Type: multipart/mixed; boundary=\"M\"\n";
    let body = format!(
        "--M\r\nContent-Type: text/plain\r\n\r\nattached\r\n--M\r\nContent-Type: image/jpeg\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename*=UTF-8''%E6%88%AA%E5%9B%BE.jpg\r\n\r\n{}\r\n--M\r\nContent-Type: application/pdf; name=\"statement.pdf\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"statement.pdf\"\r\n\r\n{}\r\n--M--\r\n",
        B64.encode([0xffu8, 0xd8, 0xff, 0xe0]),
        B64.encode(b"%PDF-1.4 test")
    );
    let e = parse(&msg(h, body.as_bytes())).unwrap();
    assert_eq!(e.text, "attached");
    let names: Vec<_> = e.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(names, ["截图.jpg", "statement.pdf"]);
    assert!(e.attachments.iter().all(|a| !a.inline));
    assert_eq!(e.attachments[1].bytes, b"%PDF-1.4 test");
}

#[test]
fn attachment_of_unknown_type_and_hostile_name() {
    let h = "From: a@b.test\nSubject: x\nContent-Type: multipart/mixed; boundary=\"M\"\n";
    let body = "--M\r\nContent-Type: text/plain\r\n\r\nhi\r\n--M\r\nContent-Type: application/x-weird\r\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\r\n\r\nroot:x:0:0\r\n--M--\r\n";
    let e = parse(&msg(h, body.as_bytes())).unwrap();
    assert_eq!(e.attachments[0].filename, "passwd");
    assert_eq!(e.attachments[0].content_type, "application/x-weird");
}

#[test]
fn forwarded_message_is_an_attachment() {
    let h =
        "From: a@b.test\nSubject: Fwd: phishing?\nContent-Type: multipart/mixed; boundary=\"M\"\n";
    let body = "--M\r\nContent-Type: text/plain\r\n\r\nIs this email from you?\r\n--M\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@exchange-verify.test\r\nSubject: Verify your wallet\r\nMessage-ID: <fake@phish>\r\n\r\nSend us your seed phrase\r\n--M--\r\n";
    let e = parse(&msg(h, body.as_bytes())).unwrap();
    assert_eq!(e.attachments.len(), 1);
    assert_eq!(e.attachments[0].content_type, "message/rfc822");
    assert!(e.attachments[0].filename.ends_with(".eml"));
    assert!(String::from_utf8_lossy(&e.attachments[0].bytes).contains("Verify your wallet"));
    assert!(e.bounce.is_none());
}

#[test]
fn threading_headers() {
    let h = "From: a@b.test\nSubject: Re: [XD-10042] Withdrawal\nIn-Reply-To: <out-1@xdesk>\nReferences: <orig@mail> <out-1@xdesk>\n";
    let e = parse(&msg(h, b"thanks")).unwrap();
    assert_eq!(e.in_reply_to, ["out-1@xdesk"]);
    assert_eq!(e.references, ["orig@mail", "out-1@xdesk"]);
    assert_eq!(ticket_number_in(&e.subject), Some(TicketNumber::new(10042)));
}

#[test]
fn ticket_numbers_in_subjects() {
    assert_eq!(
        ticket_number_in("Re: [XD-10042] x"),
        Some(TicketNumber::new(10042))
    );
    assert_eq!(
        ticket_number_in("回复：xd-10077 提币"),
        Some(TicketNumber::new(10077))
    );
    assert_eq!(ticket_number_in("ABXD-10042"), None);
    assert_eq!(ticket_number_in("XD-12 too short"), None);
    assert_eq!(ticket_number_in("no number"), None);
    assert_eq!(
        ticket_number_in("XD- XD-20001"),
        Some(TicketNumber::new(20001))
    );
}

#[test]
fn missing_subject_and_sender_are_absent_not_errors() {
    let e = parse(&msg("Message-ID: <x@y>\n", b"body only")).unwrap();
    assert_eq!(e.subject, "");
    assert_eq!(e.from, None);
    assert_eq!(e.text, "body only");
}

#[test]
fn empty_and_headerless_input_is_unparseable() {
    assert!(parse(b"").is_err());
    assert!(parse(b"  \r\n ").is_err());
}

fn automatic_of(headers: &str) -> Option<Automatic> {
    parse(&msg(&format!("From: a@b.test\n{headers}"), b"x"))
        .unwrap()
        .automatic
}

#[test]
fn auto_replies_are_recognised() {
    assert_eq!(
        automatic_of("Subject: Hi\nAuto-Submitted: auto-replied\n"),
        Some(Automatic::AutoReply)
    );
    assert_eq!(
        automatic_of("Subject: Hi\nAuto-Submitted: auto-generated\n"),
        Some(Automatic::AutoReply)
    );
    assert_eq!(automatic_of("Subject: Hi\nAuto-Submitted: no\n"), None);
    assert_eq!(
        automatic_of("Subject: Hi\nX-Autoreply: yes\n"),
        Some(Automatic::AutoReply)
    );
    assert_eq!(
        automatic_of("Subject: Hi\nX-Auto-Response-Suppress: All\n"),
        Some(Automatic::AutoReply)
    );
    assert_eq!(
        automatic_of("Subject: Hi\nPrecedence: auto_reply\n"),
        Some(Automatic::AutoReply)
    );
    assert_eq!(
        automatic_of("Subject: Automatic reply: Away\n"),
        Some(Automatic::AutoReply)
    );
    let zh = rfc2047("UTF-8", encoding_rs::UTF_8, "自动回复：我在休假");
    assert_eq!(
        automatic_of(&format!("Subject: {zh}\n")),
        Some(Automatic::AutoReply)
    );
}

#[test]
fn bulk_mail_is_recognised() {
    assert_eq!(
        automatic_of("Subject: News\nPrecedence: bulk\n"),
        Some(Automatic::Bulk)
    );
    assert_eq!(
        automatic_of("Subject: News\nPrecedence: junk\n"),
        Some(Automatic::Bulk)
    );
    assert_eq!(
        automatic_of("Subject: News\nList-Unsubscribe: <mailto:u@l.test>\n"),
        Some(Automatic::Bulk)
    );
    assert_eq!(
        automatic_of("Subject: News\nList-Id: <news.l.test>\n"),
        Some(Automatic::Bulk)
    );
    assert_eq!(
        automatic_of("Subject: Out of my depth with this withdrawal\n"),
        None
    );
}

#[test]
fn standard_dsn_names_the_failed_message() {
    let h = "From: Mail Delivery System <MAILER-DAEMON@mx.exchange.test>\nSubject: Undelivered Mail Returned to Sender\nAuto-Submitted: auto-replied\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"D\"\n";
    let body = "--D\r\nContent-Type: text/plain\r\n\r\nI'm sorry to have to inform you that your message could not be delivered.\r\n--D\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.exchange.test\r\n\r\nFinal-Recipient: rfc822; Gone@Example.com\r\nOriginal-Recipient: rfc822;gone@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 <gone@example.com>: Recipient address\r\n rejected: User unknown\r\n--D\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@exchange.test\r\nTo: gone@example.com\r\nSubject: [XD-10042] Re: Withdrawal\r\nMessage-ID: <xd-10042-3@exchange.test>\r\n\r\nWe have checked the chain.\r\n--D--\r\n";
    let e = parse(&msg(h, body.as_bytes())).unwrap();
    assert_eq!(e.automatic, Some(Automatic::Bounce));
    let b = e.bounce.unwrap();
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("xd-10042-3@exchange.test")
    );
    assert_eq!(b.recipients, ["gone@example.com"]);
    assert_eq!(b.action.as_deref(), Some("failed"));
    assert_eq!(b.status.as_deref(), Some("5.1.1"));
    assert_eq!(
        b.diagnostic.as_deref(),
        Some("550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown")
    );
    assert!(b.is_failure());
}

#[test]
fn dsn_with_headers_only_and_a_delay() {
    let h = "From: postmaster@mx.test\nSubject: Delivery delayed\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"D\"\n";
    let body = "--D\r\nContent-Type: text/plain\r\n\r\nStill trying.\r\n--D\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; slow@example.com\r\nAction: delayed\r\nStatus: 4.4.7\r\n--D\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@exchange.test\r\nMessage-ID: <slow-1@exchange.test>\r\n--D--\r\n";
    let b = parse(&msg(h, body.as_bytes())).unwrap().bounce.unwrap();
    assert_eq!(
        b.original_message_id.as_deref(),
        Some("slow-1@exchange.test")
    );
    assert!(!b.is_failure());
}

#[test]
fn non_standard_bounce_quoting_the_original() {
    let h = "From: MAILER-DAEMON@old.mx.test\nSubject: failure notice\n";
    let body = b"Sorry, we were unable to deliver your message.\r\n\r\n--- Below this line is a copy of the message.\r\n\r\nFrom: support@exchange.test\r\nMessage-ID: <legacy-7@exchange.test>\r\nSubject: hello\r\n";
    let e = parse(&msg(h, body)).unwrap();
    assert_eq!(e.automatic, Some(Automatic::Bounce));
    assert_eq!(
        e.bounce.unwrap().original_message_id.as_deref(),
        Some("legacy-7@exchange.test")
    );
}

/// One corpus entry: the raw mail and what parsing it must give.
struct Case {
    name: &'static str,
    raw: Vec<u8>,
    subject: &'static str,
    text_has: &'static str,
    attachments: &'static [&'static str],
    automatic: Option<Automatic>,
}

fn legacy(charset: &str, enc: &'static encoding_rs::Encoding, text: &str) -> Vec<u8> {
    msg(
        &format!(
            "From: a@b.test\nSubject: {}\nContent-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n",
            rfc2047(charset, enc, text)
        ),
        &encode(enc, text),
    )
}

fn more_cases() -> Vec<Case> {
    let png = B64.encode(b"\x89PNG\r\n\x1a\nfake");
    vec![
        Case {
            name: "Shift_JIS",
            raw: legacy("Shift_JIS", encoding_rs::SHIFT_JIS, "出金が届きません"),
            subject: "出金が届きません",
            text_has: "出金が届きません",
            attachments: &[],
            automatic: None,
        },
        Case {
            name: "EUC-KR",
            raw: legacy("EUC-KR", encoding_rs::EUC_KR, "출금이 안 됩니다"),
            subject: "출금이 안 됩니다",
            text_has: "출금이 안 됩니다",
            attachments: &[],
            automatic: None,
        },
        Case {
            name: "KOI8-R",
            raw: legacy("KOI8-R", encoding_rs::KOI8_R, "Вывод средств завис"),
            subject: "Вывод средств завис",
            text_has: "Вывод средств завис",
            attachments: &[],
            automatic: None,
        },
        Case {
            name: "windows-1252 smart quotes",
            raw: legacy("windows-1252", encoding_rs::WINDOWS_1252, "It’s “pending” – €50"),
            subject: "It’s “pending” – €50",
            text_has: "€50",
            attachments: &[],
            automatic: None,
        },
        Case {
            name: "Q-encoded subject split over two encoded words",
            raw: msg(
                "From: a@b.test\nSubject: =?UTF-8?Q?=E5=85=85=E5=80=BC?=\n =?UTF-8?Q?=E6=9C=AA=E5=88=B0=E8=B4=A6?=\nContent-Type: text/plain; charset=utf-8\n",
                "body".as_bytes(),
            ),
            subject: "充值未到账",
            text_has: "body",
            attachments: &[],
            automatic: None,
        },
        Case {
            name: "base64 UTF-8 text body",
            raw: msg(
                "From: a@b.test\nSubject: b64\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
                B64.encode("请帮我查一下这笔 USDT 提币\r\n".as_bytes()).as_bytes(),
            ),
            subject: "b64",
            text_has: "USDT 提币",
            attachments: &[],
            automatic: None,
        },
        Case {
            name: "two screenshots in multipart/mixed",
            raw: msg(
                "From: a@b.test\nSubject: shots\nContent-Type: multipart/mixed; boundary=\"S\"\n",
                format!("--S\r\nContent-Type: text/plain\r\n\r\nsee both\r\n--S\r\nContent-Type: image/png; name=\"one.png\"\r\nContent-Disposition: attachment; filename=\"one.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n--S\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"two.jpg\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n--S--\r\n").as_bytes(),
            ),
            subject: "shots",
            text_has: "see both",
            attachments: &["one.png", "two.jpg"],
            automatic: None,
        },
        Case {
            name: "mixed > alternative > related, as Outlook sends",
            raw: msg(
                "From: a@b.test\nSubject: nested\nContent-Type: multipart/mixed; boundary=\"M\"\n",
                format!("--M\r\nContent-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/plain\r\n\r\nplain part\r\n--A\r\nContent-Type: multipart/related; boundary=\"R\"\r\n\r\n--R\r\nContent-Type: text/html\r\n\r\n<p>html part<img src=\"cid:logo\"></p>\r\n--R\r\nContent-Type: image/png\r\nContent-ID: <logo>\r\nContent-Transfer-Encoding: base64\r\n\r\n{png}\r\n--R--\r\n--A--\r\n--M\r\nContent-Type: application/pdf; name=\"statement.pdf\"\r\nContent-Disposition: attachment; filename=\"statement.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--M--\r\n").as_bytes(),
            ),
            subject: "nested",
            text_has: "plain part",
            attachments: &["attachment-1.png", "statement.pdf"],
            automatic: None,
        },
        Case {
            name: "RFC 2231 filename continuation",
            raw: msg(
                "From: a@b.test\nSubject: 2231\nContent-Type: multipart/mixed; boundary=\"C\"\n",
                b"--C\r\nContent-Type: text/plain\r\n\r\nfile attached\r\n--C\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment;\r\n filename*0*=utf-8''%E4%BA%A4%E6%98%93;\r\n filename*1*=%E8%AE%B0%E5%BD%95.csv\r\n\r\na,b\r\n--C--\r\n",
            ),
            subject: "2231",
            text_has: "file attached",
            attachments: &["交易记录.csv"],
            automatic: None,
        },
        Case {
            name: "only an attachment, no text",
            raw: msg(
                "From: a@b.test\nSubject: just the file\nContent-Type: image/png; name=\"proof.png\"\nContent-Disposition: attachment; filename=\"proof.png\"\nContent-Transfer-Encoding: base64\n",
                png.as_bytes(),
            ),
            subject: "just the file",
            text_has: "",
            attachments: &["proof.png"],
            automatic: None,
        },
        Case {
            name: "calendar invite",
            raw: msg(
                "From: a@b.test\nSubject: call\nContent-Type: multipart/mixed; boundary=\"I\"\n",
                b"--I\r\nContent-Type: text/plain\r\n\r\nlet's talk\r\n--I\r\nContent-Type: text/calendar; method=REQUEST; name=\"invite.ics\"\r\nContent-Disposition: attachment; filename=\"invite.ics\"\r\n\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n--I--\r\n",
            ),
            subject: "call",
            text_has: "let's talk",
            attachments: &["invite.ics"],
            automatic: None,
        },
        Case {
            name: "unterminated multipart still gives its text",
            raw: msg(
                "From: a@b.test\nSubject: cut off\nContent-Type: multipart/mixed; boundary=\"X\"\n",
                b"--X\r\nContent-Type: text/plain\r\n\r\nthe mail was cut off here",
            ),
            subject: "cut off",
            text_has: "the mail was cut off",
            attachments: &[],
            automatic: None,
        },
        Case {
            name: "mailing-list digest",
            raw: msg(
                "From: news@exchange-news.test\nSubject: Weekly digest\nList-Id: <digest.exchange-news.test>\nPrecedence: list\n",
                b"This week in crypto",
            ),
            subject: "Weekly digest",
            text_has: "This week",
            attachments: &[],
            automatic: Some(Automatic::Bulk),
        },
        Case {
            name: "vacation responder with a long folded subject",
            raw: msg(
                "From: a@b.test\nSubject: Automatic reply: I am out of the office until Monday\n and will answer your message about the withdrawal then\nAuto-Submitted: auto-replied\n",
                b"I am away.",
            ),
            subject: "Automatic reply: I am out of the office until Monday and will answer your message about the withdrawal then",
            text_has: "away",
            attachments: &[],
            automatic: Some(Automatic::AutoReply),
        },
    ]
}

#[test]
fn corpus_of_charsets_structures_and_robots() {
    let cases = more_cases();
    assert!(cases.len() >= 14);
    for c in cases {
        let e = parse(&c.raw).unwrap_or_else(|err| panic!("{}: {err:?}", c.name));
        assert_eq!(e.subject, c.subject, "{}", c.name);
        assert!(e.text.contains(c.text_has), "{}: {:?}", c.name, e.text);
        let names: Vec<&str> = e.attachments.iter().map(|a| a.filename.as_str()).collect();
        assert_eq!(names, c.attachments, "{}", c.name);
        assert_eq!(e.automatic, c.automatic, "{}", c.name);
    }
}

/// Sender forms seen in real mail that a strict RFC 5322 reading loses: each must give the
/// address a person reads there (and the name, where there is one).
#[test]
fn senders_as_written_in_the_wild() {
    /// (From header, expected (address, name))
    type Case = (&'static str, Option<(&'static str, Option<&'static str>)>);
    let cases: &[Case] = &[
        (
            "John Smith john@example.com",
            Some(("john@example.com", Some("John Smith"))),
        ),
        (
            "\"Li Wei\" <Li.Wei@Example.com.>",
            Some(("li.wei@example.com", Some("Li Wei"))),
        ),
        ("li.wei@example.com.", Some(("li.wei@example.com", None))),
        (
            "\"Alice\" alice@example.com",
            Some(("alice@example.com", Some("Alice"))),
        ),
        (
            "bob@example.org (Bob Jones)",
            Some(("bob@example.org", None)),
        ),
        (
            "=?utf-8?B?546L5LqU?= wang@example.cn",
            Some(("wang@example.cn", Some("王五"))),
        ),
        ("<carol@EXAMPLE.COM>", Some(("carol@example.com", None))),
        (
            "Dave <dave@example.net>, Eve <eve@example.net>",
            Some(("dave@example.net", Some("Dave"))),
        ),
        (
            "Frank\r\n <frank@example.io>",
            Some(("frank@example.io", Some("Frank"))),
        ),
        ("Alice <alice at example.com>", None),
        ("undisclosed-recipients:;", None),
        ("\"no address here\"", None),
    ];
    for (from, want) in cases {
        let raw = msg(
            &format!("From: {from}\nTo: support@exchange.test\nSubject: Hi\n"),
            b"hello\r\n",
        );
        let got = parse(&raw).unwrap().from.map(|m| (m.address, m.name));
        let want = want.map(|(a, n)| (a.to_owned(), n.map(str::to_owned)));
        if let (Some((ga, gn)), Some((wa, wn))) = (&got, &want) {
            assert_eq!(ga, wa, "From: {from}");
            if wn.is_some() {
                assert_eq!(gn, wn, "From: {from}");
            }
        } else {
            assert_eq!(got, want, "From: {from}");
        }
    }
}

/// Raw 8-bit headers and text parts with no (or a wrong) charset, as old clients and some
/// exchanges' own systems send them: read in the encoding they are in, never as U+FFFD.
#[test]
fn undeclared_charsets_are_detected() {
    use encoding_rs::{BIG5, EUC_KR, GBK, SHIFT_JIS, WINDOWS_1252};
    let mail = |from: Vec<u8>, subject: Vec<u8>, headers: &str, body: Vec<u8>| {
        let mut v = b"From: ".to_vec();
        v.extend(from);
        v.extend(b"\r\nTo: support@exchange.test\r\nSubject: ");
        v.extend(subject);
        v.extend(format!("\r\nMIME-Version: 1.0\r\n{headers}\r\n").into_bytes());
        v.extend(body);
        v
    };
    let zh = "提币未到账，已经等了六个小时了，请帮我查一下这笔交易";
    // A Chinese subject and a Japanese name in raw bytes, no RFC 2047.
    let mut from = encode(SHIFT_JIS, "山田太郎");
    from.extend(b" <yamada@example.jp>");
    let e = parse(&mail(
        from,
        encode(GBK, zh),
        "Content-Type: text/plain\r\n",
        encode(
            GBK,
            "我的 USDT 提币从昨天开始一直显示处理中，交易哈希也查不到，请尽快处理。",
        ),
    ))
    .unwrap();
    assert_eq!(e.subject, zh);
    let sender = e.from.unwrap();
    assert_eq!(sender.address, "yamada@example.jp");
    assert_eq!(sender.name.as_deref(), Some("山田太郎"));
    assert!(e.text.contains("交易哈希也查不到"), "{}", e.text);
    // Bodies without a charset, in the encodings customers' clients use.
    for (enc, text) in [
        (
            BIG5,
            "我的提幣還沒有到帳，已經等了三個小時，請幫忙查詢一下這筆交易的狀態。",
        ),
        (
            EUC_KR,
            "출금 신청을 했는데 아직 도착하지 않았습니다. 거래 상태를 확인해 주세요.",
        ),
        (
            SHIFT_JIS,
            "出金がまだ届いていません。取引の状況を確認していただけますか。",
        ),
        (
            WINDOWS_1252,
            "Bonjour, mon dépôt n’est pas arrivé — pouvez-vous vérifier ? Merci, à bientôt.",
        ),
    ] {
        let e = parse(&mail(
            b"c@example.com".to_vec(),
            b"Help".to_vec(),
            "Content-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n",
            encode(enc, text),
        ))
        .unwrap();
        assert_eq!(e.text, text, "{}", enc.name());
    }
    // Declared UTF-8 but written in GBK, and a base64 part with no charset.
    let e = parse(&mail(
        b"c@example.com".to_vec(),
        b"Help".to_vec(),
        "Content-Type: text/plain; charset=utf-8\r\n",
        encode(GBK, zh),
    ))
    .unwrap();
    assert_eq!(e.text, zh);
    let e = parse(&mail(
        b"c@example.com".to_vec(),
        b"Help".to_vec(),
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n",
        B64.encode(encode(GBK, zh)).into_bytes(),
    ))
    .unwrap();
    assert_eq!(e.text, zh);
}

/// Random bytes and a binary file are no mail: refused as unparseable (the service keeps them
/// whole as an unreadable mail), whatever lines of "name: value" a lenient reading finds.
#[test]
fn random_bytes_are_unparseable() {
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    for size in [64usize, 5 * 1024, 64 * 1024] {
        let bytes: Vec<u8> = (0..size)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(
            parse(&bytes).is_err(),
            "{size} random bytes parsed as a mail"
        );
    }
    let lines = b"X-Thing: 1\r\nweird: value\r\n\r\nbody".to_vec();
    assert!(parse(&lines).is_err());
    assert!(parse(b"Subject: hi\r\n\r\nbody").is_ok());
}

/// A forwarded mail is named after its subject; two files with one name get distinct names.
#[test]
fn attachment_names_say_what_they_are() {
    let raw = msg(
        "From: a@example.com\nTo: support@exchange.test\nSubject: Fwd: phishing\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n",
        b"--B\r\nContent-Type: text/plain\r\n\r\nSee the attached mails and receipts.\r\n\
--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: fake@binance-support.top\r\nSubject: Re: Your account 1/2: verify now\r\n\r\nClick here.\r\n\
--B\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.org\r\n\r\nNo subject here.\r\n\
--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"receipt.pdf\"\r\n\r\n%PDF-1 first\r\n\
--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"Receipt.pdf\"\r\n\r\n%PDF-1 second\r\n\
--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"receipt.pdf\"\r\n\r\n%PDF-1 third\r\n\
--B--\r\n",
    );
    let e = parse(&raw).unwrap();
    let names: Vec<&str> = e.attachments.iter().map(|a| a.filename.as_str()).collect();
    assert_eq!(
        names,
        [
            "Re_ Your account 1_2_ verify now.eml",
            "attachment-2.eml",
            "receipt.pdf",
            "Receipt (2).pdf",
            "receipt (3).pdf",
        ]
    );
    assert!(String::from_utf8_lossy(&e.attachments[0].bytes).contains("Click here."));
    assert!(String::from_utf8_lossy(&e.attachments[4].bytes).contains("third"));
}

/// A multipart cut off before its closing boundary (as some mobile clients send them): every
/// image is decoded, none leaks into the text, and the mail says the parser could not be sure
/// it saw everything (the service then keeps the original beside the ticket).
#[test]
fn an_unclosed_multipart_keeps_every_part() {
    let png = b"\x89PNG\r\n\x1a\nfakeimagebytes";
    let mut body = String::from(
        "--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nThree screenshots attached.\r\n",
    );
    for i in 1..=3 {
        body.push_str(&format!(
            "--B\r\nContent-Type: image/png; name=\"shot{i}.png\"\r\nContent-Disposition: attachment; filename=\"shot{i}.png\"\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            B64.encode(png)
        ));
    }
    let head = "From: a@example.com\nSubject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n";
    let e = parse(&msg(head, body.as_bytes())).unwrap();
    assert_eq!(e.text, "Three screenshots attached.");
    assert_eq!(e.attachments.len(), 3);
    for a in &e.attachments {
        assert_eq!(a.bytes, png, "{}", a.filename);
    }
    assert!(e.incomplete);
    // The same mail closed properly is complete.
    body.push_str("--B--\r\n");
    let e = parse(&msg(head, body.as_bytes())).unwrap();
    assert!(!e.incomplete);
    assert!(e.attachments.iter().all(|a| a.bytes == png));
}

/// Well-formed base64 is known whole from its decoded length alone (the slow count is for
/// broken text only); missing padding, a stray character or a cut are not.
#[test]
fn whole_base64_is_told_by_its_length() {
    use crate::decode::base64_decoded_whole as whole;
    assert!(whole(b"aGVsbG8gd29y\r\nbGQ=\r\n", 11));
    assert!(whole(b"  aGk=\n", 2));
    assert!(whole(b"", 0));
    assert!(!whole(b"aGVsbG8gd29y\r\nbGQ\r\n", 10), "padding left off");
    assert!(!whole(b"aGVsbG8g*d29ybGQ=", 11), "a stray character");
    assert!(!whole(b"aGVsbG8gd29ybGQ=", 8), "decoded short");
}
