#!/usr/bin/env python3
"""Builds xdesk-mail's mail corpus: one `NNN-name.eml` per mail and beside it `NNN-name.json`,
what the sender meant (sender, subject, text, attachments, ...).

The expectation of every mail is written from the same inputs the mail is built from (the
text, the names, the file bytes), never from xdesk's parser. Run from anywhere:

    python3 crates/xdesk-mail/tests/corpus/generate.py

It removes the .eml/.json files it made before and writes them again; the output is
deterministic (fixed dates, ids and pseudo-random bytes), so an unchanged script gives an
unchanged corpus. Python 3.11, standard library only.
"""

import base64
import hashlib
import json
import os
import quopri
import struct
import zlib
from email.message import EmailMessage
from email.policy import SMTP

OUT = os.path.dirname(os.path.abspath(__file__))
CORPUS = []  # (file stem, raw bytes, expectation)

# --------------------------------------------------------------------------------------------
# Building blocks


def enc(s, charset):
    """`s` in `charset` (Python codec names)."""
    return s.encode(charset)


def b64(data, width=76):
    s = base64.b64encode(data).decode()
    return "\r\n".join(s[i : i + width] for i in range(0, len(s), width)) + "\r\n"


def qp(data):
    """Quoted-printable with CRLF line ends."""
    out = quopri.encodestring(data.replace(b"\r\n", b"\n")).decode()
    return out.replace("\n", "\r\n")


def ew_b(s, charset, label=None):
    """One RFC 2047 B-encoded word."""
    return "=?%s?B?%s?=" % (label or charset, base64.b64encode(enc(s, charset)).decode())


def ew_q(s, charset, label=None):
    """One RFC 2047 Q-encoded word."""
    out = []
    for byte in enc(s, charset):
        c = chr(byte)
        if c == " ":
            out.append("_")
        elif c.isascii() and (c.isalnum() or c in "!*+-/"):
            out.append(c)
        else:
            out.append("=%02X" % byte)
    return "=?%s?Q?%s?=" % (label or charset, "".join(out))


def head(pairs, eol=b"\r\n"):
    """Header lines from (name, value) pairs; a value may be raw bytes."""
    out = b""
    for name, value in pairs:
        if isinstance(value, str):
            value = value.encode("utf-8")
        out += name.encode() + b": " + value + eol
    return out


N = [0]


def std(frm="Customer <customer@example.com>", subject="Withdrawal pending", extra=()):
    """The usual top headers of a customer's mail."""
    N[0] += 1
    pairs = []
    if frm is not None:
        pairs.append(("From", frm))
    pairs.append(("To", "Support <support@exchange.test>"))
    if subject is not None:
        pairs.append(("Subject", subject))
    pairs.append(("Date", "Mon, 07 Dec 2026 10:%02d:00 +0800" % (N[0] % 60)))
    pairs.append(("Message-ID", "<corpus-%04d@example.com>" % N[0]))
    pairs.extend(extra)
    return pairs


def mail(pairs, body, eol=b"\r\n"):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return head(pairs, eol) + eol + body


def single(pairs, ctype, body_bytes, cte=None):
    """A one-part mail: `pairs` then MIME headers then the body (already encoded)."""
    p = list(pairs) + [("MIME-Version", "1.0"), ("Content-Type", ctype)]
    if cte:
        p.append(("Content-Transfer-Encoding", cte))
    return mail(p, body_bytes)


def part(headers, body):
    """One MIME body part: header lines, blank line, body (str or bytes)."""
    if isinstance(body, str):
        body = body.encode("utf-8")
    return head(headers) + b"\r\n" + body


def multipart(boundary, parts, preamble=b"", epilogue=b"", close=True):
    out = preamble
    for p in parts:
        # The line end before the next delimiter belongs to the delimiter (RFC 2046): a part
        # that ends in a line end gets one more.
        out += b"--" + boundary.encode() + b"\r\n" + p + b"\r\n"
    if close:
        out += b"--" + boundary.encode() + b"--\r\n" + epilogue
    return out


def mp_mail(pairs, subtype, boundary, parts, **kw):
    p = list(pairs) + [
        ("MIME-Version", "1.0"),
        ("Content-Type", 'multipart/%s; boundary="%s"' % (subtype, boundary)),
    ]
    return mail(p, multipart(boundary, parts, **kw))


def text_part(text, charset="utf-8", cte="8bit", subtype="plain", extra=()):
    data = enc(text, charset)
    if cte == "base64":
        body = b64(data).encode()
    elif cte == "quoted-printable":
        body = qp(data).encode()
    else:
        body = data + (b"" if data.endswith(b"\r\n") else b"\r\n")
    h = [("Content-Type", "text/%s; charset=%s" % (subtype, charset))]
    if cte:
        h.append(("Content-Transfer-Encoding", cte))
    h.extend(extra)
    return part(h, body)


def file_part(data, ctype, disposition="attachment", filename=None, name=None,
              cid=None, cte="base64", raw_disposition=None, raw_type=None):
    ct = raw_type or (ctype + ('; name="%s"' % name if name else ""))
    h = [("Content-Type", ct)]
    if cte:
        h.append(("Content-Transfer-Encoding", cte))
    if raw_disposition is not None:
        h.append(("Content-Disposition", raw_disposition))
    elif disposition:
        h.append(("Content-Disposition",
                  disposition + ('; filename="%s"' % filename if filename else "")))
    if cid:
        h.append(("Content-ID", "<%s>" % cid))
    body = b64(data).encode() if cte == "base64" else data
    return part(h, body)


def png(seed=0, w=2, h=2):
    """A small, valid PNG whose pixels depend on `seed`."""
    def chunk(kind, data):
        c = kind + data
        return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes((seed * 37 + x * 11 + y * 5) % 256 for x in range(w * 3))
                    for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def pdf(label="statement"):
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
            b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n% " + label.encode()
            + b"\ntrailer << /Root 1 0 R >>\n%%EOF\n")


JPEG = bytes([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]) + b"JFIF\x00" + bytes(range(64)) + b"\xff\xd9"


def prng(seed, n):
    x = seed
    out = bytearray()
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) % (1 << 64)
        out.append((x >> 33) & 0xFF)
    return bytes(out)


def att(name, data, ctype=None, **kw):
    a = {"name": name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    if ctype:
        a["content_type"] = ctype
    a.update(kw)
    return a


def add(stem, raw, *, from_address="customer@example.com", from_name="Customer",
        subject="Withdrawal pending", text="", contains=None, html=False, attachments=(),
        incomplete=False, automatic=None, bounce=None, **extra):
    e = {
        "from_address": from_address,
        "from_name": from_name,
        "subject": subject,
        "text_starts_with": text,
    }
    if contains:
        e["text_contains"] = contains
    e.update({
        "html": html,
        "attachments": list(attachments),
        "incomplete": incomplete,
        "automatic": automatic,
        "bounce": bounce,
    })
    e.update(extra)
    CORPUS.append((stem, raw, e))


def unparseable(stem, raw, why):
    CORPUS.append((stem, raw, {"unparseable": True, "note": why}))


ZH = "我的 USDT 提币从昨天开始一直显示处理中，交易哈希也查不到，请尽快处理。"
ZH_TW = "我的提幣還沒有到帳，已經等了三個小時，請幫忙查詢一下這筆交易的狀態。"
JA = "出金がまだ届いていません。取引の状況を確認していただけますか。"
KO = "출금 신청을 했는데 아직 도착하지 않았습니다. 거래 상태를 확인해 주세요."
RU = "Здравствуйте! Мой вывод средств завис уже третий день, прошу проверить транзакцию."
FR = "Bonjour, mon dépôt n’est pas arrivé — pouvez-vous vérifier ? Merci, à bientôt."
PL = "Dzień dobry, moja wypłata utknęła. Proszę o sprawdzenie transakcji, dziękuję."
DE = "Grüße aus München: meine Auszahlung über 500 € ist noch nicht angekommen."
EN = "Hello, my BTC withdrawal has been pending for six hours. Could you check it?"

# --------------------------------------------------------------------------------------------
# Senders


def senders():
    body = "Please check my withdrawal.\r\n"
    def s(stem, frm, addr, name, extra=(), subject="Withdrawal pending", frm_pairs=None):
        pairs = std(frm=frm, subject=subject, extra=extra) if frm_pairs is None else frm_pairs
        add(stem, single(pairs, "text/plain; charset=utf-8", body.encode(), "8bit"),
            from_address=addr, from_name=name, subject=subject,
            text="Please check my withdrawal.")

    s("sender-name-angle", "Li Wei <Li.Wei@Example.COM>", "li.wei@example.com", "Li Wei")
    s("sender-bare-address", "zhang.san@qq.com", "zhang.san@qq.com", None)
    s("sender-angle-only", "<carol@EXAMPLE.COM>", "carol@example.com", None)
    s("sender-name-no-angle", "John Smith john@example.com", "john@example.com", "John Smith")
    s("sender-quoted-name-no-angle", '"Alice" alice@example.com', "alice@example.com", "Alice")
    s("sender-trailing-dot-bare", "li.wei@example.com.", "li.wei@example.com", None)
    s("sender-trailing-dot-angle", '"Li Wei" <Li.Wei@Example.com.>', "li.wei@example.com", "Li Wei")
    s("sender-quoted-comma", '"Smith, John" <john.smith@example.com>', "john.smith@example.com",
      "Smith, John")
    s("sender-quoted-comma-zh", '"王, 小明" <wxm@163.com>', "wxm@163.com", "王, 小明")
    s("sender-2047-utf8", ew_b("王小明", "utf-8", "UTF-8") + " <wang@example.cn>",
      "wang@example.cn", "王小明")
    s("sender-2047-gb2312", ew_b("张三", "gb2312", "GB2312") + " <zhangsan@126.com>",
      "zhangsan@126.com", "张三")
    s("sender-2047-gbk-q", ew_q("欧阳娜娜", "gbk", "gbk") + " <ouyang@sina.com>",
      "ouyang@sina.com", "欧阳娜娜")
    s("sender-2047-big5", ew_b("陳大文", "big5", "Big5") + " <chan@example.hk>",
      "chan@example.hk", "陳大文")
    s("sender-2047-shift-jis", ew_b("山田太郎", "shift_jis", "Shift_JIS") + " <yamada@example.jp>",
      "yamada@example.jp", "山田太郎")
    s("sender-2047-iso-2022-jp", ew_b("鈴木一郎", "iso2022_jp", "ISO-2022-JP")
      + " <suzuki@example.jp>", "suzuki@example.jp", "鈴木一郎")
    s("sender-2047-euc-kr", ew_b("김민수", "euc_kr", "EUC-KR") + " <minsu@example.kr>",
      "minsu@example.kr", "김민수")
    s("sender-2047-no-angle", ew_b("王五", "utf-8", "utf-8") + " wang5@example.cn",
      "wang5@example.cn", "王五")
    s("sender-2047-in-quotes", '"' + ew_b("李娜", "utf-8", "UTF-8") + '" <lina@example.cn>',
      "lina@example.cn", "李娜")
    s("sender-2047-mixed-words", ew_b("王", "utf-8", "UTF-8") + " Wei <wei@example.com>",
      "wei@example.com", "王 Wei")
    s("sender-raw-utf8", "李雷 <lilei@example.com>", "lilei@example.com", "李雷")
    s("sender-raw-utf8-no-space", "张伟<ZhangWei@126.com>", "zhangwei@126.com", "张伟")
    s("sender-raw-gbk", enc("韩梅梅", "gbk") + b" <hanmeimei@example.com>",
      "hanmeimei@example.com", "韩梅梅")
    s("sender-raw-big5", enc("林志明", "big5") + b" <lin@example.tw>", "lin@example.tw", "林志明")
    s("sender-comment-name", "bob@example.org (Bob Jones)", "bob@example.org", "Bob Jones")
    s("sender-comment-2047", "wangwu@example.cn (" + ew_b("王五", "utf-8", "UTF-8") + ")",
      "wangwu@example.cn", "王五")
    s("sender-group", "Customers: alice@example.com;", "alice@example.com", None)
    s("sender-two-mailboxes", "Dave <dave@example.net>, Eve <eve@example.net>",
      "dave@example.net", "Dave")
    s("sender-uppercase", "MIKE CHEN <MIKE.CHEN@GMAIL.COM>", "mike.chen@gmail.com", "MIKE CHEN")
    s("sender-idn-unicode", "Müller <kunde@bücher.de>", "kunde@bücher.de", "Müller")
    s("sender-idn-zh", "用户 <user@例子.中国>", "user@例子.中国", "用户")
    s("sender-idn-punycode", "Hans <hans@XN--MNCHEN-3YA.DE>", "hans@xn--mnchen-3ya.de", "Hans")
    s("sender-folded", "Frank Li\r\n <frank@example.io>", "frank@example.io", "Frank Li")
    s("sender-spaces-in-angle", "Kim < kim@example.com >", "kim@example.com", "Kim")
    # Two From lines (a broken client): the first is the one shown to the sender.
    N[0] += 1
    pairs = [("From", "First Sender <first@example.com>"),
             ("From", "Second Sender <second@example.com>"),
             ("To", "support@exchange.test"), ("Subject", "Withdrawal pending"),
             ("Message-ID", "<corpus-two-from@example.com>")]
    s("sender-two-from-lines", None, "first@example.com", "First Sender", frm_pairs=pairs)
    # No From: the Sender header names who sent it.
    s("sender-only-sender-header", None, "ops@example.com", "Ops Desk",
      extra=[("Sender", "Ops Desk <ops@example.com>")])
    # No From nor Sender: Reply-To is where the person wants the answer.
    s("sender-only-reply-to", None, "reply@example.com", "Reply Here",
      extra=[("Reply-To", "Reply Here <reply@example.com>")])
    s("sender-none-undisclosed", "undisclosed-recipients:;", None, None)
    s("sender-no-address", '"no address here"', None, None)


# --------------------------------------------------------------------------------------------
# Subjects


def subjects():
    def j(stem, subject_header, subject, extra=()):
        pairs = std(subject=subject_header, extra=extra)
        add(stem, single(pairs, "text/plain; charset=utf-8", b"See subject.\r\n", "7bit"),
            subject=subject, text="See subject.")

    j("subject-utf8-b", ew_b("提币未到账", "utf-8", "UTF-8"), "提币未到账")
    j("subject-utf8-q", ew_q("充值未到账 USDT", "utf-8", "utf-8"), "充值未到账 USDT")
    j("subject-gb2312-b", ew_b("账户被冻结", "gb2312", "GB2312"), "账户被冻结")
    j("subject-gb2312-q-lower", ew_q("实名认证失败", "gb2312", "gb2312").replace("?Q?", "?q?"),
      "实名认证失败")
    j("subject-gbk-b", ew_b("提现申请一直审核中", "gbk", "GBK"), "提现申请一直审核中")
    j("subject-gb18030-b", ew_b("姓名𤭢无法认证", "gb18030", "GB18030"), "姓名𤭢无法认证")
    j("subject-big5-b", ew_b("提幣問題", "big5", "Big5"), "提幣問題")
    j("subject-shift-jis-b", ew_b("出金が届きません", "shift_jis", "Shift_JIS"), "出金が届きません")
    j("subject-iso-2022-jp", ew_b("口座の凍結について", "iso2022_jp", "ISO-2022-JP"),
      "口座の凍結について")
    j("subject-euc-kr-b", ew_b("출금이 안 됩니다", "euc_kr", "EUC-KR"), "출금이 안 됩니다")
    j("subject-koi8-r-q", ew_q("Вывод средств завис", "koi8_r", "KOI8-R"), "Вывод средств завис")
    j("subject-windows-1251-b", ew_b("Проблема с депозитом", "cp1251", "windows-1251"),
      "Проблема с депозитом")
    j("subject-windows-1252-q", ew_q("It’s “pending” – €50", "cp1252", "windows-1252"),
      "It’s “pending” – €50")
    j("subject-iso-8859-1-q", ew_q("Réclamation dépôt", "latin-1", "ISO-8859-1"),
      "Réclamation dépôt")
    j("subject-iso-8859-2-q", ew_q("Wypłata nie dotarła", "iso8859_2", "ISO-8859-2"),
      "Wypłata nie dotarła")
    j("subject-iso-8859-15-q", ew_q("Gebühr 5 €", "iso8859_15", "ISO-8859-15"), "Gebühr 5 €")
    j("subject-split-words", ew_b("充值", "utf-8", "UTF-8") + "\r\n "
      + ew_b("未到账", "utf-8", "UTF-8"), "充值未到账")
    # One character's bytes split over two encoded words (as some webmails do).
    raw = enc("提币未到账", "utf-8")
    j("subject-split-mid-char", "=?UTF-8?B?%s?=\r\n =?UTF-8?B?%s?=" % (
        base64.b64encode(raw[:4]).decode(), base64.b64encode(raw[4:]).decode()), "提币未到账")
    j("subject-mixed-plain-and-encoded", "Re: " + ew_b("提币未到账", "utf-8", "UTF-8")
      + " [XD-10042]", "Re: 提币未到账 [XD-10042]")
    j("subject-2231-language", "=?UTF-8*zh-CN?B?%s?=" % base64.b64encode(
        enc("身份验证", "utf-8")).decode(), "身份验证")
    for stem, codec, text in [
        ("subject-raw-gb2312", "gb2312", "充值未到账，请帮忙查询"),
        ("subject-raw-gbk", "gbk", "提币未到账，已经等了六个小时了，请帮我查一下这笔交易"),
        ("subject-raw-gb18030", "gb18030", "账户被冻结怎么办？我需要尽快提现，谢谢客服"),
        ("subject-raw-big5", "big5", "我的提幣還沒有到帳，請幫忙查詢這筆交易"),
        ("subject-raw-shift-jis", "shift_jis", "出金がまだ届いていません、確認をお願いします"),
        ("subject-raw-euc-kr", "euc_kr", "출금 신청이 처리되지 않았습니다 확인 부탁드립니다"),
        ("subject-raw-windows-1251", "cp1251", "Проблема с выводом средств на кошелёк"),
        ("subject-raw-windows-1252", "cp1252", "Dépôt non crédité — référence n° 12345"),
        ("subject-raw-utf8", "utf-8", "充值未到账 🚀 请帮忙"),
    ]:
        j(stem, enc(text, codec), text)
    long_en = ("Urgent: my withdrawal of 2.5 BTC to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh "
               "has been pending for more than six hours and the support chat keeps telling me "
               "to wait, but my transaction hash never appears on the explorer; please escalate "
               "this to the wallet team today")
    assert len(long_en) > 250
    cut1 = long_en.index(" ", 70)
    cut2 = long_en.index(" ", 150)
    folded = (long_en[:cut1] + "\r\n " + long_en[cut1 + 1:cut2] + "\r\n "
              + long_en[cut2 + 1:])
    assert folded.replace("\r\n ", " ") == long_en
    j("subject-long-folded", folded, long_en)
    long_zh = "提币未到账" * 24
    words = [ew_b(long_zh[i:i + 10], "utf-8", "UTF-8") for i in range(0, len(long_zh), 10)]
    j("subject-long-encoded-folded", "\r\n ".join(words), long_zh)
    s998 = ("Deposit missing " * 70)[:990] + " XD-1234"
    s998 = s998[:998 - len("Subject: ")]
    j("subject-998-line", s998, s998.strip())
    add("subject-missing", single(std(subject=None), "text/plain; charset=utf-8",
                                  b"No subject line at all.\r\n", "7bit"),
        subject="", text="No subject line at all.")
    add("subject-empty", single(std(subject=""), "text/plain; charset=utf-8",
                                b"Empty subject line.\r\n", "7bit"),
        subject="", text="Empty subject line.")
    j("subject-re", "Re: [XD-10042] Withdrawal pending", "Re: [XD-10042] Withdrawal pending")
    j("subject-huifu", ew_b("回复：[XD-10042] 提币未到账", "utf-8", "UTF-8"),
      "回复：[XD-10042] 提币未到账")
    j("subject-huifu-raw-ascii-colon", ew_b("回复: 充值问题", "gbk", "GBK"), "回复: 充值问题")
    j("subject-fwd", "Fwd: Your withdrawal request", "Fwd: Your withdrawal request")
    j("subject-zhuanfa", ew_b("转发: 系统通知", "utf-8", "UTF-8"), "转发: 系统通知")
    j("subject-dafu-outlook", ew_b("答复: 账户冻结", "gb2312", "gb2312"), "答复: 账户冻结")
    j("subject-re-re-fwd", "RE: Re: FW: deposit", "RE: Re: FW: deposit")


# --------------------------------------------------------------------------------------------
# Bodies


def bodies():
    for stem, charset, label, text in [
        ("body-utf8-8bit", "utf-8", "utf-8", ZH),
        ("body-gb2312-8bit", "gb2312", "gb2312", "充值三个小时还没到账，请帮忙查询一下。"),
        ("body-gbk-8bit", "gbk", "GBK", ZH),
        ("body-gb18030-8bit", "gb18030", "GB18030", "我叫王𤭢，实名认证总是失败，请人工审核。"),
        ("body-big5-8bit", "big5", "big5", ZH_TW),
        ("body-shift-jis-8bit", "shift_jis", "Shift_JIS", JA),
        ("body-euc-kr-8bit", "euc_kr", "EUC-KR", KO),
        ("body-koi8-r-8bit", "koi8_r", "KOI8-R", RU),
        ("body-windows-1251-8bit", "cp1251", "windows-1251", RU),
        ("body-windows-1252-8bit", "cp1252", "windows-1252", FR),
        ("body-windows-1250-8bit", "cp1250", "windows-1250", PL),
        ("body-iso-8859-1-8bit", "latin-1", "ISO-8859-1", "Réclamation : dépôt non crédité."),
        ("body-iso-8859-2-8bit", "iso8859_2", "ISO-8859-2", PL),
        ("body-iso-8859-5-8bit", "iso8859_5", "ISO-8859-5", RU),
        ("body-iso-8859-15-8bit", "iso8859_15", "ISO-8859-15", DE),
    ]:
        add(stem, single(std(), "text/plain; charset=%s" % label, enc(text, charset) + b"\r\n",
                         "8bit"), text=text)
    add("body-iso-2022-jp-7bit",
        single(std(), "text/plain; charset=ISO-2022-JP", enc(JA, "iso2022_jp") + b"\r\n", "7bit"),
        text=JA)
    # No charset declared: the encoding has to be recognised.
    for stem, charset, text in [
        ("body-undeclared-gbk", "gbk", ZH),
        ("body-undeclared-gb18030", "gb18030", "账户被冻结了，我需要尽快提现，请客服帮忙处理，谢谢。"),
        ("body-undeclared-big5", "big5", ZH_TW),
        ("body-undeclared-shift-jis", "shift_jis", JA),
        ("body-undeclared-euc-kr", "euc_kr", KO),
        ("body-undeclared-windows-1251", "cp1251", RU),
        ("body-undeclared-windows-1252", "cp1252", FR),
        ("body-undeclared-utf8", "utf-8", ZH),
    ]:
        add(stem, single(std(), "text/plain", enc(text, charset) + b"\r\n", "8bit"), text=text)
    add("body-no-mime-headers-gbk", mail(std(), enc(ZH, "gbk") + b"\r\n"), text=ZH)
    add("body-undeclared-gbk-base64", single(std(), "text/plain", b64(enc(ZH, "gbk")).encode(),
                                             "base64"), text=ZH)
    add("body-undeclared-big5-qp", single(std(), "text/plain", qp(enc(ZH_TW, "big5")).encode(),
                                          "quoted-printable"), text=ZH_TW)
    # A wrong charset.
    add("body-declared-utf8-is-gbk", single(std(), "text/plain; charset=utf-8",
                                            enc(ZH, "gbk") + b"\r\n", "8bit"), text=ZH)
    add("body-declared-ascii-is-utf8", single(std(), "text/plain; charset=us-ascii",
                                              enc(ZH, "utf-8") + b"\r\n", "8bit"), text=ZH)
    add("body-declared-latin1-is-utf8", single(std(), "text/plain; charset=iso-8859-1",
                                               enc(DE, "utf-8") + b"\r\n", "8bit"), text=DE)
    add("body-declared-gb2312-is-gb18030", single(
        std(), "text/plain; charset=gb2312", enc("我叫王𤭢，请人工审核。", "gb18030") + b"\r\n",
        "8bit"), text="我叫王𤭢，请人工审核。")
    add("body-unknown-charset-label", single(std(), "text/plain; charset=x-unknown-42",
                                             enc(ZH, "utf-8") + b"\r\n", "8bit"), text=ZH)
    # Transfer encodings.
    add("body-utf8-qp", single(std(), "text/plain; charset=utf-8", qp(enc(ZH + "\r\n" + EN,
                                                                     "utf-8")).encode(),
                               "quoted-printable"), text=ZH, contains=[EN])
    add("body-gb2312-qp", single(std(), "text/plain; charset=gb2312",
                                 qp(enc("充值三个小时还没到账，请帮忙查询一下。", "gb2312")).encode(),
                                 "quoted-printable"), text="充值三个小时还没到账，请帮忙查询一下。")
    long_line = EN + " " + ZH + " " + EN
    add("body-qp-soft-breaks", single(std(), "text/plain; charset=utf-8",
                                      qp(enc(long_line, "utf-8")).encode(), "quoted-printable"),
        text=long_line)
    add("body-utf8-base64", single(std(), "text/plain; charset=utf-8",
                                   b64(enc(ZH + "\r\n", "utf-8")).encode(), "base64"), text=ZH)
    add("body-big5-base64", single(std(), "text/plain; charset=big5",
                                   b64(enc(ZH_TW, "big5")).encode(), "base64"), text=ZH_TW)
    add("body-cte-uppercase", single(std(), "text/plain; charset=UTF-8",
                                     b64(enc(ZH, "utf-8")).encode(), "BASE64"), text=ZH)
    add("body-cte-unknown-8-bit", single(std(), "text/plain; charset=utf-8",
                                         enc(ZH, "utf-8") + b"\r\n", "8-bit"), text=ZH)
    # format=flowed (RFC 3676): soft line breaks are joined, space-stuffing removed.
    flowed = ("Hello support, my withdrawal of 0.5 ETH has been \r\n"
              "pending since yesterday and the transaction hash is \r\n"
              "not on etherscan.\r\n"
              " From the app it says processing.\r\n")
    add("body-format-flowed", single(std(), 'text/plain; charset=utf-8; format=flowed',
                                     flowed.encode(), "7bit"),
        text="Hello support, my withdrawal of 0.5 ETH has been pending since yesterday and the "
             "transaction hash is not on etherscan.\r\nFrom the app it says processing.")
    flowed_ds = "我的提币从昨天开始一直 \r\n显示处理中。\r\n"
    add("body-format-flowed-delsp", single(std(), 'text/plain; charset=utf-8; format=flowed; '
                                           'delsp=yes', flowed_ds.encode(), "8bit"),
        text="我的提币从昨天开始一直显示处理中。")
    # HTML.
    add("body-html-only", single(std(), "text/html; charset=utf-8",
                                 ("<html><body><p>Deposit <b>missing</b> since Monday</p>"
                                  "</body></html>\r\n").encode(), "7bit"),
        text="Deposit missing since Monday", html=True)
    add("body-html-only-gbk-qp", single(std(), "text/html; charset=gbk", qp(enc(
        "<html><body><div>充值未到账，请帮忙查询</div></body></html>\r\n", "gbk")).encode(),
        "quoted-printable"), text="充值未到账，请帮忙查询", html=True)
    add("body-alternative", mp_mail(std(), "alternative", "alt-1", [
        text_part(ZH, "utf-8", "base64"),
        text_part("<div>" + ZH + "</div>", "utf-8", "base64", "html"),
    ]), text=ZH, html=True)
    add("body-alternative-html-first", mp_mail(std(), "alternative", "alt-2", [
        text_part("<p>" + EN + "</p>", "utf-8", "7bit", "html"),
        text_part(EN, "utf-8", "7bit"),
    ]), text=EN, html=True)
    shot = png(1)
    add("body-related-cid", mp_mail(std(), "related", "rel-1", [
        text_part('<p>见截图</p><img src="cid:shot1@example.com">', "utf-8", "quoted-printable",
                  "html"),
        file_part(shot, "image/png", "inline", cid="shot1@example.com"),
    ]), text="见截图", html=True,
        attachments=[att("attachment-1.png", shot, "image/png", inline=True,
                         content_id="shot1@example.com")])
    # Outlook: related { alternative { plain, html }, image001.png }, in a mixed with a file.
    img = png(2)
    doc = pdf("outlook")
    add("body-outlook-structure", mp_mail(
        std(extra=[("X-Mailer", "Microsoft Outlook 16.0"), ("Thread-Index", "AQHZ1x2=")]),
        "mixed", "_004_OUTLOOK_", [
            part([("Content-Type", 'multipart/related; boundary="_003_OUTLOOK_"; '
                   'type="multipart/alternative"')], multipart("_003_OUTLOOK_", [
                part([("Content-Type", 'multipart/alternative; boundary="_000_OUTLOOK_"')],
                     multipart("_000_OUTLOOK_", [
                         text_part("您好，\r\n\r\n我的充值没有到账。", "gb2312", "base64"),
                         text_part('<p>您好，</p><p>我的充值没有到账。<img src="cid:image001.png@01DA">'
                                   '</p>', "gb2312", "base64", "html"),
                     ])),
                file_part(img, "image/png", "inline", filename="image001.png", name="image001.png",
                          cid="image001.png@01DA"),
            ])),
            file_part(doc, "application/pdf", filename="statement.pdf", name="statement.pdf"),
        ]), text="您好，", contains=["我的充值没有到账。"], html=True,
        attachments=[att("image001.png", img, "image/png", inline=True),
                     att("statement.pdf", doc, "application/pdf", inline=False)])
    # Apple Mail: alternative { plain (QP), related { html, image } }.
    img = png(3)
    add("body-apple-mail-structure", mp_mail(
        std(extra=[("X-Mailer", "Apple Mail (2.3731.700.6)")]), "alternative",
        "Apple-Mail=_5E1A3B2C-1111-4D4D-9999-0123456789AB", [
            text_part("Hi,\r\n\r\nThe deposit screenshot is below.\r\n\r\nThanks", "us-ascii",
                      "7bit"),
            part([("Content-Type", 'multipart/related; type="text/html"; '
                   'boundary="Apple-Mail=_REL-2222"')], multipart("Apple-Mail=_REL-2222", [
                text_part('<html><body>Hi,<br><br>The deposit screenshot is below.<br>'
                          '<img src="cid:F00D@apple"></body></html>', "us-ascii",
                          "quoted-printable", "html"),
                file_part(img, "image/png", "inline", filename="Screenshot 2026-12-07 at 10.01.png",
                          name="Screenshot 2026-12-07 at 10.01.png", cid="F00D@apple"),
            ])),
        ]), text="Hi,", contains=["The deposit screenshot is below."], html=True,
        attachments=[att("Screenshot 2026-12-07 at 10.01.png", img, "image/png", inline=True)])
    # Gmail: mixed { alternative { plain, html }, attachment }, boundaries of zeros.
    img = png(4)
    add("body-gmail-structure", mp_mail(std(frm="Mike <mike.trader@gmail.com>"), "mixed",
                                        "000000000000a1b2c3d4e5f6", [
        part([("Content-Type", 'multipart/alternative; boundary="000000000000a1b2c3d4e5f5"')],
             multipart("000000000000a1b2c3d4e5f5", [
                 text_part(EN + "\r\n", "UTF-8", None),
                 text_part('<div dir="ltr">' + EN + "</div>", "UTF-8", "quoted-printable", "html"),
             ])),
        file_part(img, "image/png", filename="image.png", name="image.png"),
    ]), from_address="mike.trader@gmail.com", from_name="Mike", text=EN, html=True,
        attachments=[att("image.png", img, "image/png", inline=False)])
    # QQ Mail: alternative, GB18030 base64 bodies.
    add("body-qq-mail-structure", mp_mail(
        std(frm=ew_b("小王", "gb18030", "gb18030") + " <123456789@qq.com>",
            subject=ew_b("充值问题", "gb18030", "gb18030"),
            extra=[("X-QQ-MIME", "TCMime 1.0 by Tencent"), ("X-Mailer", "QQMail 2.x"),
                   ("X-QQ-Mailer", "QQMail 2.x")]),
        "alternative", "----=_NextPart_6571A2B3_0D5E7F60_1A2B3C4D", [
            text_part("客服您好：\r\n我充值的USDT没有到账。", "gb18030", "base64"),
            text_part("<div>客服您好：</div><div>我充值的USDT没有到账。</div>", "gb18030", "base64",
                      "html"),
        ]), from_address="123456789@qq.com", from_name="小王", subject="充值问题",
        text="客服您好：", contains=["我充值的USDT没有到账。"], html=True)
    # 163 (Coremail): alternative, GBK base64.
    add("body-163-structure", mp_mail(
        std(frm=ew_b("李四", "gbk", "GBK") + " <lisi@163.com>",
            subject=ew_b("账户冻结", "gbk", "GBK"),
            extra=[("X-Mailer", "Coremail Webmail Server Version XT5.0.14"),
                   ("X-Coremail-Locale", "zh_CN")]),
        "alternative", "----=_Part_123456_789012.1701234567890", [
            text_part("你好，我的账户为什么被冻结了？", "GBK", "base64"),
            text_part("<div>你好，我的账户为什么被冻结了？</div>", "GBK", "base64", "html"),
        ]), from_address="lisi@163.com", from_name="李四", subject="账户冻结",
        text="你好，我的账户为什么被冻结了？", html=True)
    # Foxmail: alternative, GB2312 base64 with a gb2312 named attachment in mixed.
    doc = pdf("foxmail")
    add("body-foxmail-structure", mp_mail(
        std(frm='"' + ew_b("赵六", "gb2312", "gb2312") + '" <zhaoliu@foxmail.com>',
            subject=ew_b("提现记录", "gb2312", "gb2312"), extra=[("X-mailer", "Foxmail 7.2.25.228[cn]")]),
        "mixed", "----=_001_NextPart572182624333_=----", [
            part([("Content-Type", 'multipart/alternative; boundary="----=_002_NextPart_=----"')],
                 multipart("----=_002_NextPart_=----", [
                     text_part("附件是我的提现记录。", "gb2312", "base64"),
                     text_part("<html><body>附件是我的提现记录。</body></html>", "gb2312",
                               "quoted-printable", "html"),
                 ])),
            file_part(doc, "application/octet-stream",
                      raw_type='application/octet-stream; name="%s"' % ew_b("提现记录.pdf", "gb2312"),
                      raw_disposition='attachment; filename="%s"' % ew_b("提现记录.pdf", "gb2312")),
        ]), from_address="zhaoliu@foxmail.com", from_name="赵六", subject="提现记录",
        text="附件是我的提现记录。", html=True, attachments=[att("提现记录.pdf", doc)])
    # iPhone: text, inline photo, more text (both text parts are the body).
    photo = JPEG
    add("body-iphone-text-image-text", mp_mail(std(extra=[("X-Mailer", "iPhone Mail (21A329)")]),
                                               "mixed", "Apple-Mail-3A2B", [
        text_part("Here is the photo of my ID:", "us-ascii", "7bit"),
        file_part(photo, "image/jpeg", "inline", filename="IMG_0042.jpg", name="IMG_0042.jpg"),
        text_part("And the second page follows later.", "us-ascii", "7bit"),
    ]), text="Here is the photo of my ID:", contains=["And the second page follows later."],
        attachments=[att("IMG_0042.jpg", photo, "image/jpeg", inline=True)])
    # Nested: mixed { mixed { alternative {plain, html}, file }, file }.
    a1, a2 = pdf("inner"), png(5)
    add("body-nested-multiparts", mp_mail(std(), "mixed", "outer", [
        part([("Content-Type", 'multipart/mixed; boundary="inner"')], multipart("inner", [
            part([("Content-Type", 'multipart/alternative; boundary="alt"')], multipart("alt", [
                text_part("Nested plain text.", "utf-8", "7bit"),
                text_part("<p>Nested html text.</p>", "utf-8", "7bit", "html"),
            ])),
            file_part(a1, "application/pdf", filename="inner.pdf"),
        ])),
        file_part(a2, "image/png", filename="outer.png"),
    ]), text="Nested plain text.", html=True,
        attachments=[att("inner.pdf", a1, "application/pdf"), att("outer.png", a2, "image/png")])
    # Python's email package: a plain mail and one with a Chinese attachment name.
    m = EmailMessage(policy=SMTP)
    m["From"] = "Py Sender <py@example.com>"
    m["To"] = "support@exchange.test"
    m["Subject"] = "充值未到账（Python email）"
    m["Message-ID"] = "<corpus-python-1@example.com>"
    m.set_content(ZH + "\n" + EN + "\n")
    add("body-python-email-utf8", m.as_bytes(), from_address="py@example.com",
        from_name="Py Sender", subject="充值未到账（Python email）", text=ZH, contains=[EN])
    m = EmailMessage(policy=SMTP)
    m["From"] = "Py Sender <py@example.com>"
    m["To"] = "support@exchange.test"
    m["Subject"] = "Statement"
    m["Message-ID"] = "<corpus-python-2@example.com>"
    m.set_content("Statement attached.\n")
    m.add_alternative("<p>Statement attached.</p>\n", subtype="html")
    doc = pdf("python")
    m.add_attachment(doc, maintype="application", subtype="pdf", filename="对账单 2026-12.pdf")
    for i, p in enumerate(m.walk()):  # fixed boundaries, so the corpus is reproducible
        if p.is_multipart():
            p.set_boundary("py-boundary-%d" % i)
    add("body-python-email-attachment", m.as_bytes(), from_address="py@example.com",
        from_name="Py Sender", subject="Statement", text="Statement attached.", html=True,
        attachments=[att("对账单 2026-12.pdf", doc, "application/pdf")])
    # Calendar invites.
    ics = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\n"
           "UID:call-1@example.com\r\nSUMMARY:KYC review call\r\nDTSTART:20261208T020000Z\r\n"
           "END:VEVENT\r\nEND:VCALENDAR\r\n").encode()
    add("body-calendar-outlook", mp_mail(std(subject="KYC review call"), "alternative", "cal-1", [
        text_part("When: 8 December 2026 10:00 (UTC+08:00)", "utf-8", "7bit"),
        text_part("<p>When: 8 December 2026 10:00 (UTC+08:00)</p>", "utf-8", "7bit", "html"),
        part([("Content-Type", 'text/calendar; charset="utf-8"; method=REQUEST'),
              ("Content-Transfer-Encoding", "base64")], b64(ics)),
    ]), subject="KYC review call", text="When: 8 December 2026 10:00", html=True,
        attachments=[att("attachment-1.ics", ics, "text/calendar")])
    add("body-calendar-google", mp_mail(std(subject="Invitation: KYC call"), "mixed", "cal-2", [
        part([("Content-Type", 'multipart/alternative; boundary="cal-2-alt"')],
             multipart("cal-2-alt", [
                 text_part("You have been invited to the following event.", "UTF-8", "7bit"),
                 text_part("<p>You have been invited to the following event.</p>", "UTF-8",
                           "7bit", "html"),
                 part([("Content-Type", 'text/calendar; charset="UTF-8"; method=REQUEST'),
                       ("Content-Transfer-Encoding", "7bit")], ics),
             ])),
        file_part(ics, "application/ics", filename="invite.ics", name="invite.ics"),
    ]), subject="Invitation: KYC call", text="You have been invited", html=True,
        attachments=[att("attachment-1.ics", ics, "text/calendar"),
                     att("invite.ics", ics, "application/ics")])
    # Empty bodies.
    add("body-empty", mail(std(), b""), text="")
    add("body-empty-text-part", single(std(), "text/plain; charset=utf-8", b"", "7bit"), text="")
    add("body-multipart-empty-parts", mp_mail(std(), "alternative", "empty", [
        part([("Content-Type", "text/plain; charset=utf-8")], b""),
        part([("Content-Type", "text/html; charset=utf-8")], b""),
    ]), text="", html=True)
    add("body-preamble-epilogue", mp_mail(std(), "mixed", "pre", [
        text_part("Only this is the body.", "utf-8", "7bit"),
    ], preamble=b"This is a multi-part message in MIME format.\r\n\r\n",
        epilogue=b"Epilogue text nobody reads.\r\n"),
        text="Only this is the body.", text_not_contains=["multi-part message", "Epilogue"])
    add("body-mbox-from-line", b"From customer@example.com Mon Dec  7 10:00:00 2026\r\n"
        + single(std(), "text/plain; charset=utf-8", b"Mail saved from an mbox.\r\n", "7bit"),
        text="Mail saved from an mbox.")


# --------------------------------------------------------------------------------------------
# Attachments


def attachments():
    def m(stem, files_parts, expect, text="Files attached.", subject="Files", **kw):
        parts = [text_part(text, "utf-8", "7bit")] + files_parts
        add(stem, mp_mail(std(subject=subject), "mixed", "att-" + stem, parts), subject=subject,
            text=text, attachments=expect, **kw)

    img = png(10)
    name = "充值截图.png"
    m("att-rfc2231-utf8", [file_part(img, "image/png", raw_disposition=
        "attachment; filename*=UTF-8''" + "".join("%%%02X" % b for b in name.encode()))],
      [att(name, img, "image/png")])
    name = "交易记录 2026.csv"
    data = "时间,金额\r\n2026-12-07,100 USDT\r\n".encode()
    m("att-rfc2231-language", [file_part(data, "text/csv", raw_disposition=
        "attachment; filename*=utf-8'zh-cn'" + "".join("%%%02X" % b for b in name.encode()))],
      [att(name, data, "text/csv")])
    name = "身份证正面照片_高清版本_用于实名认证.jpg"
    enc_name = "".join("%%%02X" % b for b in name.encode())
    m("att-rfc2231-continuation", [file_part(JPEG, "image/jpeg", raw_disposition=
        "attachment;\r\n filename*0*=UTF-8''" + enc_name[:60] + ";\r\n filename*1*="
        + enc_name[60:120] + ";\r\n filename*2*=" + enc_name[120:])],
      [att(name, JPEG, "image/jpeg")])
    name = "withdrawal-confirmation-for-account-8812345-december-2026.pdf"
    doc = pdf("cont")
    m("att-rfc2231-plain-continuation", [file_part(doc, "application/pdf", raw_disposition=
        'attachment;\r\n filename*0="withdrawal-confirmation-for-account-";\r\n'
        ' filename*1="8812345-december-2026.pdf"')], [att(name, doc, "application/pdf")])
    name = "银行转账回单.pdf"
    doc = pdf("2047")
    m("att-2047-utf8", [file_part(doc, "application/pdf", filename=ew_b(name, "utf-8", "UTF-8"),
                                  name=ew_b(name, "utf-8", "UTF-8"))],
      [att(name, doc, "application/pdf")])
    name = "护照.jpg"
    m("att-2047-gb2312-name-only", [file_part(JPEG, "image/jpeg", disposition="attachment",
                                              name=ew_b(name, "gb2312", "gb2312"))],
      [att(name, JPEG, "image/jpeg")])
    name = "錢包地址.txt"
    data = "0x52908400098527886E0F7030069857D2E4169EE7\r\n".encode()
    m("att-2047-big5-q", [file_part(data, "text/plain", filename=ew_q(name, "big5", "big5"))],
      [att(name, data, "text/plain")])
    name = "截图 1.png"
    m("att-raw-utf8-name", [file_part(img, "image/png", raw_disposition=
        b'attachment; filename="' + name.encode() + b'"')],
      [att(name, img, "image/png")])
    name = "转账凭证.png"
    m("att-raw-gbk-name", [file_part(img, "image/png", raw_disposition=
        b'attachment; filename="' + enc(name, "gbk") + b'"')],
      [att(name, img, "image/png")])
    doc = pdf("ctname")
    m("att-name-on-content-type-only", [file_part(doc, "application/pdf", disposition=None,
                                                  name="kyc.pdf")],
      [att("kyc.pdf", doc, "application/pdf")])
    m("att-no-name", [file_part(doc, "application/pdf", disposition="attachment")],
      [att("attachment-1.pdf", doc, "application/pdf")])
    m("att-no-name-no-disposition", [file_part(img, "image/png", disposition=None)],
      [att("attachment-1.png", img, "image/png")])
    r1, r2, r3 = pdf("r1"), pdf("r2"), pdf("r3")
    m("att-duplicate-names", [
        file_part(r1, "application/pdf", filename="receipt.pdf"),
        file_part(r2, "application/pdf", filename="receipt.pdf"),
        file_part(r3, "application/pdf", filename="Receipt.pdf"),
    ], [att("receipt.pdf", r1), att("receipt (2).pdf", r2), att("Receipt (3).pdf", r3)])
    m("att-duplicate-cid-images", [
        file_part(png(11), "image/png", "inline", filename="image.png", cid="a@x"),
        file_part(png(12), "image/png", "inline", filename="image.png", cid="b@x"),
    ], [att("image.png", png(11), inline=True, content_id="a@x"),
        att("image (2).png", png(12), inline=True, content_id="b@x")])
    inner = head([("From", "Fake Support <support@binance-verify.top>"),
                  ("To", "customer@example.com"), ("Subject", "Verify your wallet now"),
                  ("Message-ID", "<phish-1@binance-verify.top>")]) + b"\r\nSend us your seed phrase.\r\n"
    m("att-forwarded-rfc822", [part([("Content-Type", "message/rfc822"),
                                     ("Content-Disposition", "attachment")], inner)],
      [att("Verify your wallet now.eml", inner, "message/rfc822")],
      text="Is this mail from you?", subject="Fwd: phishing?")
    inner = head([("From", "x@example.org"), ("Subject", ew_b("您的账户存在风险: 请立即验证", "utf-8", "UTF-8"))]) \
        + b"\r\nClick.\r\n"
    m("att-forwarded-rfc822-zh-subject", [part([("Content-Type", "message/rfc822")], inner)],
      [att("您的账户存在风险_ 请立即验证.eml", inner, "message/rfc822")],
      text="这封邮件是你们发的吗？", subject="Fwd: 钓鱼邮件")
    inner = head([("From", "x@example.org")]) + b"\r\nNo subject here.\r\n"
    m("att-forwarded-rfc822-no-subject", [part([("Content-Type", "message/rfc822")], inner)],
      [att("attachment-1.eml", inner, "message/rfc822")], subject="Fwd:")
    inner = head([("From", "x@example.org"), ("Subject", "Base64 wrapped")]) + b"\r\nBody.\r\n"
    m("att-forwarded-rfc822-base64", [part([("Content-Type", "message/rfc822"),
                                            ("Content-Transfer-Encoding", "base64")],
                                           b64(inner))],
      [att("Base64 wrapped.eml", inner, "message/rfc822")])
    # A customer forwards a bounce they got: their mail is no bounce.
    inner = (head([("From", "MAILER-DAEMON@mx.example.com"), ("Subject", "Undelivered Mail"),
                   ("MIME-Version", "1.0"),
                   ("Content-Type", 'multipart/report; report-type=delivery-status; '
                    'boundary="FWD_DSN"')]) + b"\r\n"
             + multipart("FWD_DSN", [
                 part([("Content-Type", "text/plain")], "Your message could not be delivered.\r\n"),
                 part([("Content-Type", "message/delivery-status")],
                      b"Final-Recipient: rfc822; x@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"),
             ]))
    m("att-forwarded-bounce", [part([("Content-Type", "message/rfc822")], inner)],
      [att("Undelivered Mail.eml", inner, "message/rfc822")],
      text="Why did my mail to you bounce?", subject="Fwd: Undelivered Mail")
    shot = png(13)
    m("att-octet-stream-screenshot", [file_part(shot, "application/octet-stream",
                                                filename="Screenshot_20261207-101500.png",
                                                name="Screenshot_20261207-101500.png")],
      [att("Screenshot_20261207-101500.png", shot, "application/octet-stream")])
    m("att-zero-byte", [file_part(b"", "text/plain", filename="empty.txt", cte="7bit")],
      [att("empty.txt", b"", "text/plain")])
    m("att-zero-byte-base64", [part([("Content-Type", 'application/pdf; name="blank.pdf"'),
                                     ("Content-Transfer-Encoding", "base64"),
                                     ("Content-Disposition", 'attachment; filename="blank.pdf"')],
                                    b"")],
      [att("blank.pdf", b"", "application/pdf")])
    big = prng(7, 3000)
    s = base64.b64encode(big).decode()
    odd = "\r\n".join(s[i:i + 997] for i in range(0, len(s), 997)) + "\r\n"
    m("att-base64-long-lines", [part([("Content-Type", "application/octet-stream"),
                                      ("Content-Transfer-Encoding", "base64"),
                                      ("Content-Disposition", 'attachment; filename="data.bin"')],
                                     odd)], [att("data.bin", big)])
    lens = [10, 77, 3, 64, 131, 1, 50]
    chunks, i, k = [], 0, 0
    while i < len(s):
        chunks.append(s[i:i + lens[k % len(lens)]])
        i += lens[k % len(lens)]
        k += 1
    m("att-base64-ragged-lines", [part([("Content-Type", "image/png"),
                                        ("Content-Transfer-Encoding", "base64"),
                                        ("Content-Disposition", 'attachment; filename="r.png"')],
                                       "\r\n".join(chunks) + "\r\n")],
      [att("r.png", big, "image/png")])
    data = b"0123456789A"  # 11 bytes: base64 ends in one '='
    m("att-base64-no-padding", [part([("Content-Type", "application/octet-stream"),
                                      ("Content-Transfer-Encoding", "base64"),
                                      ("Content-Disposition", 'attachment; filename="np.bin"')],
                                     base64.b64encode(data).decode().rstrip("=") + "\r\n")],
      [att("np.bin", data)])
    m("att-windows-path", [file_part(img, "image/png",
                                     filename="C:\\\\Users\\\\wang\\\\Desktop\\\\转账.png".replace(
                                         "\\\\", "\\"))],
      [att("转账.png", img, "image/png")])
    photo = JPEG
    m("att-inline-photo-with-name", [file_part(photo, "image/jpeg", "inline",
                                               filename="IMG_1234.JPG", name="IMG_1234.JPG")],
      [att("IMG_1234.JPG", photo, "image/jpeg", inline=True)])
    doc, img2 = pdf("many"), png(14)
    m("att-many-types", [
        file_part(doc, "application/pdf", filename="a.pdf"),
        file_part(img2, "image/png", filename="b.png"),
        file_part(b"PK\x03\x04" + prng(3, 60), "application/zip", filename="c.zip"),
        file_part("id,amount\r\n1,2\r\n".encode(), "text/csv", filename="d.csv", cte="7bit"),
    ], [att("a.pdf", doc, "application/pdf"), att("b.png", img2, "image/png"),
        att("c.zip", b"PK\x03\x04" + prng(3, 60), "application/zip"),
        att("d.csv", "id,amount\r\n1,2\r\n".encode(), "text/csv")])
    data = "plain text file\r\n".encode()
    m("att-text-file-attachment", [file_part(data, "text/plain", filename="notes.txt",
                                             cte="7bit")],
      [att("notes.txt", data, "text/plain")])
    # Only a file, no text part.
    doc = pdf("alone")
    add("att-single-part-file", single(std(subject="Just the file") + [
        ("Content-Disposition", 'attachment; filename="proof.pdf"')], 'application/pdf; name="proof.pdf"',
        b64(doc).encode(), "base64"), subject="Just the file", text="",
        attachments=[att("proof.pdf", doc, "application/pdf")])


# --------------------------------------------------------------------------------------------
# Broken structure (hand-written bytes)


def broken():
    shot = png(20)
    parts = [text_part("Three screenshots attached.", "utf-8", "7bit")] + [
        file_part(png(20 + i), "image/png", filename="shot%d.png" % i, name="shot%d.png" % i)
        for i in (1, 2, 3)]
    add("broken-unclosed-multipart", mp_mail(std(), "mixed", "B", parts, close=False),
        text="Three screenshots attached.", incomplete=True,
        attachments=[att("shot%d.png" % i, png(20 + i), "image/png") for i in (1, 2, 3)])
    add("broken-unclosed-text-last", mp_mail(std(), "mixed", "C", [
        file_part(shot, "image/png", filename="first.png"),
        text_part("The text came last and the mail was cut off here", "utf-8", "7bit"),
    ], close=False), text="The text came last and the mail was cut off here", incomplete=True,
        attachments=[att("first.png", shot, "image/png")])
    add("broken-unclosed-nested", mp_mail(std(), "mixed", "OUT", [
        part([("Content-Type", 'multipart/alternative; boundary="IN"')],
             multipart("IN", [text_part("inner plain", "utf-8", "7bit"),
                              text_part("<p>inner html</p>", "utf-8", "7bit", "html")],
                       close=False)),
        file_part(shot, "image/png", filename="after.png"),
    ]), text="inner plain", html=True, incomplete=True,
        attachments=[att("after.png", shot, "image/png")])
    # Truncated in the middle of a base64 attachment.
    full = mp_mail(std(), "mixed", "T", [text_part("Cut in the file.", "utf-8", "7bit"),
                                         file_part(prng(9, 600), "application/pdf",
                                                   filename="cut.pdf")], close=False)
    cut = full[: len(full) - 300]
    cut = cut[: cut.rfind(b"\r\n") + 2]
    add("broken-truncated-in-attachment", cut, text="Cut in the file.", incomplete=True,
        attachments=[{"name": "cut.pdf", "content_type": "application/pdf"}])
    body = multipart("XYZ", [text_part("No boundary parameter was sent.", "utf-8", "7bit"),
                             file_part(shot, "image/png", filename="nb.png")])
    add("broken-missing-boundary-param", mail(std() + [
        ("MIME-Version", "1.0"), ("Content-Type", "multipart/mixed")], body),
        text="No boundary parameter was sent.", incomplete=True,
        attachments=[att("nb.png", shot, "image/png")])
    body = multipart("ACTUAL", [text_part("The boundary in the header is not the one used.",
                                          "utf-8", "7bit"),
                                file_part(shot, "image/png", filename="mm.png")])
    add("broken-boundary-mismatch", mail(std() + [
        ("MIME-Version", "1.0"), ("Content-Type", 'multipart/mixed; boundary="DECLARED"')], body),
        text="The boundary in the header is not the one used.", incomplete=True,
        attachments=[att("mm.png", shot, "image/png")])
    add("broken-multipart-without-delimiters", mail(std() + [
        ("MIME-Version", "1.0"), ("Content-Type", 'multipart/mixed; boundary="NEVER"')],
        "多部分邮件却没有分隔线，正文就是这段文字。\r\n".encode()),
        text="多部分邮件却没有分隔线，正文就是这段文字。", incomplete=True)
    body = multipart("=_Part_1_2", [text_part("Unquoted boundary with an equals sign.", "utf-8",
                                              "7bit"),
                                    file_part(shot, "image/png", filename="eq.png")])
    add("broken-unquoted-boundary-equals", mail(std() + [
        ("MIME-Version", "1.0"), ("Content-Type", "multipart/mixed; boundary==_Part_1_2")], body),
        text="Unquoted boundary with an equals sign.",
        attachments=[att("eq.png", shot, "image/png")])
    crlf = mp_mail(std(), "mixed", "LE", [text_part("第一行\r\n第二行", "utf-8", "8bit"),
                                          file_part(shot, "image/png", filename="le.png")])
    lf = crlf.replace(b"\r\n", b"\n")
    add("broken-lf-only", lf, text="第一行\n第二行", attachments=[att("le.png", shot, "image/png")])
    add("broken-cr-only", crlf.replace(b"\r\n", b"\r"), text="第一行",
        contains=["第二行"], attachments=[att("le.png", shot, "image/png")])
    lines = crlf.split(b"\r\n")
    mixed = b"".join(l + (b"\r\n" if i % 2 else b"\n") for i, l in enumerate(lines[:-1])) + lines[-1]
    add("broken-mixed-line-endings", mixed, text="第一行", contains=["第二行"],
        attachments=[att("le.png", shot, "image/png")])
    add("broken-lf-only-single-part", single(std(), "text/plain; charset=gbk",
                                             enc("换行符只有LF。\r\n第二行。\r\n", "gbk"),
                                             "8bit").replace(b"\r\n", b"\n"),
        text="换行符只有LF。\n第二行。")
    # A header line without a colon in the middle of the header section.
    raw = (b"From: Customer <customer@example.com>\r\nTo: support@exchange.test\r\n"
           b"this line has no colon\r\nSubject: Header line without colon\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\n\r\nBody after a broken header.\r\n")
    add("broken-header-without-colon", raw, subject="Header line without colon",
        text="Body after a broken header.")
    raw = (b"From: Customer <customer@example.com>\r\nSubject: Space before colon\r\n"
           b"Content-Type : text/plain; charset=gbk\r\n\r\n" + enc("冒号前有空格。", "gbk") + b"\r\n")
    add("broken-space-before-colon", raw, subject="Space before colon", text="冒号前有空格。")
    refs = " ".join("<ref-%04d-%s@mail.example.com>" % (i, "x" * 20) for i in range(120))
    xlong = "y" * 3000
    raw = head(std(extra=[("References", refs), ("X-Long", xlong)])) + \
        b"Content-Type: text/plain; charset=utf-8\r\n\r\nLong headers above.\r\n"
    add("broken-very-long-header-lines", raw, text="Long headers above.")
    raw = single(std(subject="NUL bytes"), "text/plain; charset=utf-8",
                 b"Before NUL\x00after NUL.\r\nSecond line.\r\n", "8bit")
    add("broken-nul-bytes-body", raw, subject="NUL bytes", text="Before NUL",
        contains=["after NUL.", "Second line."])
    raw = (b"From: Customer <customer@example.com>\r\nSubject: NUL\x00 in header\r\n"
           b"Content-Type: text/plain\r\n\r\nBody.\r\n")
    add("broken-nul-in-header", raw, subject="NUL in header", text="Body.")
    raw = head(std(subject="Header section only"))
    add("broken-headers-only", raw, subject="Header section only", text="")
    raw = head(std(subject="Headers only, no final newline"))[:-2]
    add("broken-headers-only-no-newline", raw, subject="Headers only, no final newline", text="")
    raw = single(std(subject="Base64 declared, plain sent"), "text/plain; charset=utf-8",
                 "我没有编码这段文字。\r\n".encode(), "base64")
    add("broken-base64-declared-plain-sent", raw, subject="Base64 declared, plain sent",
        text="我没有编码这段文字。")
    raw = single(std(subject="Garbage in base64"), "text/plain; charset=utf-8",
                 (b64(enc(ZH, "utf-8"))[:40] + "!!\r\n" + b64(enc(ZH, "utf-8"))[40:]).encode(),
                 "base64")
    add("broken-base64-with-garbage", raw, subject="Garbage in base64", text=ZH[:10])
    raw = single(std(subject="Bad QP"), "text/plain; charset=utf-8",
                 b"Fee is 5=25 and 100% =ZZ done=\r\nfinal\r\n", "quoted-printable")
    add("broken-qp-invalid-escapes", raw, subject="Bad QP", text="Fee is 5% and 100% =ZZ donefinal")
    raw = (b"From: Customer <customer@example.com>\r\nSubject: Content-Type junk\r\n"
           b"MIME-Version: 1.0\r\nContent-Type: text/plain;; charset=\"utf-8\"; ;\r\n\r\n"
           + "类型头有多余的分号。\r\n".encode())
    add("broken-content-type-junk", raw, subject="Content-Type junk", text="类型头有多余的分号。")
    raw = (b"From: Customer <customer@example.com>\r\nSubject: No blank line\r\n"
           b"Content-Type: text/plain; charset=utf-8\r\nThe body starts without a blank line.\r\n")
    add("broken-no-blank-line", raw, subject="No blank line",
        text="The body starts without a blank line.")
    # Not mail at all.
    unparseable("broken-random-5k", prng(12345, 5 * 1024), "5 KB of pseudo-random bytes")
    unparseable("broken-binary-png", png(30, 8, 8) + prng(1, 400), "a PNG file")
    unparseable("broken-binary-pdf", pdf("not a mail") * 3, "a PDF file")
    unparseable("broken-binary-zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + prng(5, 800),
                "a ZIP file")
    unparseable("broken-empty", b"", "no bytes")
    unparseable("broken-whitespace-only", b"\r\n  \r\n\t\r\n", "only whitespace")


# --------------------------------------------------------------------------------------------
# Machine mail


def machine():
    def auto(stem, extra, subject, text, kind, frm="Li Wei <li.wei@example.com>",
             addr="li.wei@example.com", name="Li Wei", charset="utf-8"):
        pairs = std(frm=frm, subject=subject if isinstance(subject, str) else subject[0],
                    extra=extra)
        subj = subject if isinstance(subject, str) else subject[1]
        add(stem, single(pairs, "text/plain; charset=%s" % charset, enc(text, charset) + b"\r\n",
                         "8bit"), from_address=addr, from_name=name, subject=subj, text=text,
            automatic=kind)

    auto("auto-submitted-auto-replied", [("Auto-Submitted", "auto-replied")],
         "Automatic reply: Withdrawal pending", "I am out of the office until Monday.",
         "auto_reply")
    auto("auto-submitted-auto-generated", [("Auto-Submitted", "auto-generated")],
         "Your ticket was received", "This is an automatically generated message.", "auto_reply")
    auto("auto-submitted-no-is-human", [("Auto-Submitted", "no")], "Still waiting",
         "A person typed this.", None)
    auto("auto-x-autoreply", [("X-Autoreply", "yes")], "Re: Withdrawal pending",
         "Thanks, I will answer later.", "auto_reply")
    auto("auto-x-autorespond", [("X-Autorespond", "vacation")], "Away",
         "Away until January.", "auto_reply")
    auto("auto-outlook-suppress", [("X-Auto-Response-Suppress", "All")],
         "Automatic reply: [XD-10042] Withdrawal", "I am travelling with limited access to email.",
         "auto_reply")
    auto("auto-precedence-bulk", [("Precedence", "bulk")], "Weekly market report",
         "BTC rose 5% this week.", "bulk", frm="Exchange News <news@market.example>",
         addr="news@market.example", name="Exchange News")
    auto("auto-precedence-junk", [("Precedence", "junk")], "You won", "Claim now.", "bulk",
         frm="promo@spam.example", addr="promo@spam.example", name=None)
    auto("auto-list-unsubscribe", [("List-Unsubscribe", "<mailto:unsub@news.example>"),
                                   ("List-Id", "<news.example>")], "Newsletter December",
         "Our December newsletter.", "bulk", frm="news@news.example", addr="news@news.example",
         name=None)
    auto("auto-zh-subject-utf8", [], (ew_b("自动回复: 提币未到账", "utf-8", "UTF-8"),
                                      "自动回复: 提币未到账"),
         "您好，我现在休假中，回来后尽快回复。", "auto_reply", frm="王 <wang@qq.com>",
         addr="wang@qq.com", name="王")
    auto("auto-zh-subject-gbk-qq", [("X-QQ-MIME", "TCMime 1.0 by Tencent")],
         (ew_b("自动回复：您的邮件已收到", "gbk", "GBK"), "自动回复：您的邮件已收到"),
         "这是来自QQ邮箱的假期自动回复邮件。", "auto_reply", frm="123456@qq.com",
         addr="123456@qq.com", name=None, charset="gbk")
    auto("auto-zh-tw-subject-big5", [], (ew_b("自動回覆: 提幣問題", "big5", "Big5"),
                                         "自動回覆: 提幣問題"),
         "我正在休假，稍後回覆。", "auto_reply", frm="chan@example.hk", addr="chan@example.hk",
         name=None, charset="big5")
    auto("auto-out-of-office-subject", [], "Out of Office: Withdrawal pending",
         "I am out of the office.", "auto_reply")
    auto("auto-precedence-auto-reply", [("Precedence", "auto_reply")], "Re: your mail",
         "Received.", "auto_reply")

    # Bounces.
    orig = head([("From", "XDesk Support <support@exchange.test>"), ("To", "gone@example.com"),
                 ("Subject", "[XD-10042] Re: Withdrawal"),
                 ("Message-ID", "<xd-10042-3@exchange.test>"),
                 ("Date", "Mon, 07 Dec 2026 09:00:00 +0000")]) + b"\r\nWe have checked the chain.\r\n"
    orig_headers = orig.split(b"\r\n\r\n")[0] + b"\r\n"
    status = (b"Reporting-MTA: dns; mx.exchange.test\r\nArrival-Date: Mon, 07 Dec 2026 09:00:01 +0000\r\n\r\n"
              b"Final-Recipient: rfc822; gone@example.com\r\nOriginal-Recipient: rfc822;gone@example.com\r\n"
              b"Action: failed\r\nStatus: 5.1.1\r\nRemote-MTA: dns; mx.example.com\r\n"
              b"Diagnostic-Code: smtp; 550 5.1.1 <gone@example.com>: Recipient address\r\n"
              b" rejected: User unknown in local recipient table\r\n")
    bounce_failed = {"original_message_id": "xd-10042-3@exchange.test",
                     "recipients": ["gone@example.com"], "action": "failed", "status": "5.1.1"}
    daemon = "MAILER-DAEMON@mx.exchange.test (Mail Delivery System)"
    postfix_text = ("This is the mail system at host mx.exchange.test.\r\n\r\n"
                    "I'm sorry to have to inform you that your message could not\r\n"
                    "be delivered to one or more recipients. It's attached below.\r\n")
    report = 'multipart/report; report-type=delivery-status; boundary="%s"'

    def dsn(stem, parts, boundary, text, attachments, frm=daemon, subject="Undelivered Mail "
            "Returned to Sender", b=bounce_failed, extra=(), contains=None,
            addr="mailer-daemon@mx.exchange.test", name="Mail Delivery System", **kw):
        pairs = std(frm=frm, subject=subject, extra=[("Auto-Submitted", "auto-replied")]
                    + list(extra))
        pairs += [("MIME-Version", "1.0"), ("Content-Type", report % boundary)]
        add(stem, mail(pairs, multipart(boundary, parts)), from_address=addr, from_name=name,
            subject=subject, text=text, contains=contains, attachments=attachments,
            automatic="bounce", bounce=b, **kw)

    dsn("bounce-postfix", [
        part([("Content-Description", "Notification"), ("Content-Type", "text/plain; charset=us-ascii")],
             postfix_text),
        part([("Content-Description", "Delivery report"), ("Content-Type", "message/delivery-status")],
             status),
        part([("Content-Description", "Undelivered Message"), ("Content-Type", "message/rfc822")],
             orig),
    ], "8E3C21A0F4.1733562001/mx.exchange.test", "This is the mail system at host",
        [att("attachment-1.txt", status, "message/delivery-status"),
         att("[XD-10042] Re_ Withdrawal.eml", orig, "message/rfc822")])
    dsn("bounce-postfix-headers-only", [
        part([("Content-Type", "text/plain; charset=us-ascii")], postfix_text),
        part([("Content-Type", "message/delivery-status")], status),
        part([("Content-Type", "text/rfc822-headers")], orig_headers),
    ], "HDRS.1733562001", "This is the mail system at host",
        [att("attachment-1.txt", status, "message/delivery-status"),
         att("attachment-2.txt", orig_headers, "text/rfc822-headers")])
    # Exchange: the human part is an alternative of QP text and QP HTML; the status is QP too.
    ex_text = ("Your message to gone@example.com couldn’t be delivered.\r\n"
               "gone wasn’t found at example.com.\r\n")
    ex_html = ("<html><body><p>Your message to gone@example.com couldn’t be delivered.</p>"
               "<p>gone wasn’t found at example.com.</p></body></html>\r\n")
    dsn("bounce-exchange-qp", [
        part([("Content-Type", 'multipart/alternative; differences=Content-Type; '
               'boundary="ALT_EX"')], multipart("ALT_EX", [
            text_part(ex_text, "utf-8", "quoted-printable"),
            text_part(ex_html, "utf-8", "quoted-printable", "html"),
        ])),
        part([("Content-Type", "message/delivery-status"),
              ("Content-Transfer-Encoding", "quoted-printable")], qp(status)),
        part([("Content-Type", "message/rfc822"), ("Content-Transfer-Encoding", "quoted-printable")],
             qp(orig)),
    ], "_EX_REPORT_", "Your message to gone@example.com couldn’t be delivered.",
        [att("attachment-1.txt", status, "message/delivery-status"),
         att("[XD-10042] Re_ Withdrawal.eml", orig, "message/rfc822")],
        frm="Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.com>",
        addr="microsoftexchange329e71ec88ae4615bbc36ab6ce41109e@example.com",
        name="Microsoft Outlook", subject="Undeliverable: [XD-10042] Re: Withdrawal", html=True)
    # The bug the issue reports: a report whose parts are all quoted-printable.
    zh_text = "很抱歉，您的邮件无法送达 gone@example.com。\r\n原因：收件人不存在。\r\n"
    dsn("bounce-qp-parts", [
        text_part(zh_text, "utf-8", "quoted-printable"),
        part([("Content-Type", "message/delivery-status"),
              ("Content-Transfer-Encoding", "quoted-printable")],
             qp(status.replace(b"rejected: User", b"rejected: =User"))),
        part([("Content-Type", "text/rfc822-headers; charset=utf-8"),
              ("Content-Transfer-Encoding", "quoted-printable")], qp(orig_headers)),
    ], "QP_REPORT", "很抱歉，您的邮件无法送达 gone@example.com。",
        [att("attachment-1.txt", status.replace(b"rejected: User", b"rejected: =User"),
             "message/delivery-status"),
         att("attachment-2.txt", orig_headers, "text/rfc822-headers")],
        contains=["原因：收件人不存在。"], text_not_contains=["=E5", "=\r\n"])
    dsn("bounce-base64-parts", [
        text_part(zh_text, "utf-8", "base64"),
        part([("Content-Type", "message/delivery-status"), ("Content-Transfer-Encoding", "base64")],
             b64(status)),
        part([("Content-Type", "message/rfc822"), ("Content-Transfer-Encoding", "base64")],
             b64(orig)),
    ], "B64_REPORT", "很抱歉，您的邮件无法送达",
        [att("attachment-1.txt", status, "message/delivery-status"),
         att("[XD-10042] Re_ Withdrawal.eml", orig, "message/rfc822")])
    delayed = (b"Reporting-MTA: dns; mx.exchange.test\r\n\r\nFinal-Recipient: rfc822; slow@example.com\r\n"
               b"Action: delayed\r\nStatus: 4.4.7\r\n")
    dsn("bounce-delayed", [
        part([("Content-Type", "text/plain; charset=us-ascii")],
             "Delivery to slow@example.com has been delayed. Still trying.\r\n"),
        part([("Content-Type", "message/delivery-status")], delayed),
        part([("Content-Type", "text/rfc822-headers")], orig_headers),
    ], "DELAY", "Delivery to slow@example.com has been delayed.",
        [att("attachment-1.txt", delayed, "message/delivery-status"),
         att("attachment-2.txt", orig_headers, "text/rfc822-headers")],
        subject="Delayed Mail (still being retried)",
        b={"original_message_id": "xd-10042-3@exchange.test", "recipients": ["slow@example.com"],
           "action": "delayed", "status": "4.4.7"})
    gstatus = ("Reporting-MTA: dns; mx.exchange.test\r\n\r\nFinal-Recipient: rfc822; 用户@例子.中国\r\n"
               "Action: failed\r\nStatus: 5.1.1\r\n").encode()
    dsn("bounce-global-delivery-status", [
        part([("Content-Type", "text/plain; charset=utf-8")], "投递失败。\r\n"),
        part([("Content-Type", "message/global-delivery-status")], gstatus),
        part([("Content-Type", "message/rfc822")], orig),
    ], "GLOBAL", "投递失败。",
        [att("attachment-1.txt", gstatus, "message/global-delivery-status"),
         att("[XD-10042] Re_ Withdrawal.eml", orig, "message/rfc822")],
        b={"original_message_id": "xd-10042-3@exchange.test", "recipients": ["用户@例子.中国"],
           "action": "failed", "status": "5.1.1"})
    # Gmail: an alternative human part.
    dsn("bounce-gmail", [
        part([("Content-Type", 'multipart/related; boundary="gm-rel"')], multipart("gm-rel", [
            part([("Content-Type", 'multipart/alternative; boundary="gm-alt"')],
                 multipart("gm-alt", [
                     text_part("** Address not found **\r\n\r\nYour message wasn't delivered to "
                               "gone@example.com because the address couldn't be found.",
                               "UTF-8", "7bit"),
                     text_part("<html><p><b>Address not found</b></p></html>", "UTF-8", "7bit",
                               "html"),
                 ])),
        ])),
        part([("Content-Type", "message/delivery-status")], status),
        part([("Content-Type", "message/rfc822")], orig),
    ], "gm-report", "** Address not found **",
        [att("attachment-1.txt", status, "message/delivery-status"),
         att("[XD-10042] Re_ Withdrawal.eml", orig, "message/rfc822")],
        frm="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        addr="mailer-daemon@googlemail.com", name="Mail Delivery Subsystem",
        subject="Delivery Status Notification (Failure)", html=True)
    # Exim: plain text, the original quoted inline.
    exim = (b"This message was created automatically by mail delivery software.\r\n\r\n"
            b"A message that you sent could not be delivered to one or more of its\r\n"
            b"recipients. This is a permanent error. The following address(es) failed:\r\n\r\n"
            b"  gone@example.com\r\n    SMTP error from remote mail server after RCPT TO:<gone@example.com>:\r\n"
            b"    550 5.1.1 User unknown\r\n\r\n------ This is a copy of the message, including all the headers. ------\r\n\r\n"
            + orig)
    add("bounce-exim-plain", mail(std(frm="Mail Delivery System <Mailer-Daemon@mx.example.org>",
                                      subject="Mail delivery failed: returning message to sender",
                                      extra=[("Auto-Submitted", "auto-replied"),
                                             ("X-Failed-Recipients", "gone@example.com")]), exim),
        from_address="mailer-daemon@mx.example.org", from_name="Mail Delivery System",
        subject="Mail delivery failed: returning message to sender",
        text="This message was created automatically by mail delivery software.",
        contains=["550 5.1.1 User unknown"], automatic="bounce",
        bounce={"original_message_id": "xd-10042-3@exchange.test"})
    qmail = (b"Hi. This is the qmail-send program at mx.example.net.\r\n"
             b"I'm afraid I wasn't able to deliver your message to the following addresses.\r\n"
             b"This is a permanent error; I've given up. Sorry it didn't work out.\r\n\r\n"
             b"<gone@example.net>:\r\nSorry, no mailbox here by that name. (#5.1.1)\r\n\r\n"
             b"--- Below this line is a copy of the message.\r\n\r\n" + orig)
    add("bounce-qmail", mail(std(frm="MAILER-DAEMON@mx.example.net",
                                 subject="failure notice"), qmail),
        from_address="mailer-daemon@mx.example.net", from_name=None, subject="failure notice",
        text="Hi. This is the qmail-send program", contains=["no mailbox here by that name"],
        automatic="bounce", bounce={"original_message_id": "xd-10042-3@exchange.test"})
    # 163's Chinese bounce from postmaster, GBK base64, original as message/rfc822.
    zh = "系统退信：您发送的邮件未能成功投递到 gone@example.com，原因：用户不存在。"
    add("bounce-163-zh", mp_mail(std(frm="postmaster@163.com", subject=ew_b("系统退信", "gbk", "GBK")),
                                 "mixed", "----=_Part_bounce_163", [
        text_part(zh, "GBK", "base64"),
        part([("Content-Type", "message/rfc822")], orig),
    ]), from_address="postmaster@163.com", from_name=None, subject="系统退信", text=zh,
        attachments=[att("[XD-10042] Re_ Withdrawal.eml", orig, "message/rfc822")],
        automatic="bounce", bounce={"original_message_id": "xd-10042-3@exchange.test"})
    # A report with no Content-Type on the status part but the report type (QP again, Outlook).
    dsn("bounce-rfc822-headers-qp", [
        text_part("Delivery has failed to these recipients or groups:\r\n\r\ngone@example.com\r\n"
                  "The email address you entered couldn't be found. Please check the recipient’s "
                  "email address and try to resend the message.", "utf-8", "quoted-printable"),
        part([("Content-Type", "message/delivery-status")], status),
        part([("Content-Type", "text/rfc822-headers"), ("Content-Transfer-Encoding", "7bit")],
             orig_headers),
    ], "OUTLOOK_QP", "Delivery has failed to these recipients or groups:",
        [att("attachment-1.txt", status, "message/delivery-status"),
         att("attachment-2.txt", orig_headers, "text/rfc822-headers")],
        contains=["recipient’s email address"], frm="postmaster@outlook.com",
        addr="postmaster@outlook.com", name=None, subject="Undeliverable: [XD-10042] Re: Withdrawal")

    # A non-MIME bounce whose whole body is quoted-printable (a relay that re-encoded it).
    qp_body = ("投递失败 / Delivery failed:\r\n\r\n  gone@example.com: 550 5.1.1 mailbox unavailable "
               "(the recipient's mailbox does not exist on this server, please check the address)"
               "\r\n\r\n--- original message ---\r\n").encode() + orig
    add("bounce-qp-single-part", single(std(frm="MAILER-DAEMON@relay.example.net",
                                            subject="Returned mail: see transcript for details"),
                                        "text/plain; charset=utf-8", qp(qp_body).encode(),
                                        "quoted-printable"),
        from_address="mailer-daemon@relay.example.net", from_name=None,
        subject="Returned mail: see transcript for details", text="投递失败 / Delivery failed:",
        contains=["please check the address", "We have checked the chain."],
        text_not_contains=["=E6", "=\r\n"], automatic="bounce",
        bounce={"original_message_id": "xd-10042-3@exchange.test"})
    # multipart/mixed (not a report) with every part quoted-printable; the returned message's
    # headers hold '=' signs (a DKIM signature, an encoded subject).
    orig_eq = head([("DKIM-Signature", "v=1; a=rsa-sha256; d=exchange.test; s=x; b=AbC=="),
                    ("From", "support@exchange.test"), ("To", "gone@example.com"),
                    ("Subject", ew_b("提币已完成", "utf-8", "UTF-8")),
                    ("Message-ID", "<xd-10077-1@exchange.test>")]) + b"\r\nDone.\r\n"
    st = status.replace(b"gone@example.com", b"gone2@example.com")
    add("bounce-mixed-all-qp", mp_mail(std(frm="postmaster@mail.example.org",
                                           subject="Delivery Status Notification"), "mixed",
                                       "MIXED_QP", [
        text_part("Die Nachricht konnte nicht zugestellt werden – Empfänger unbekannt.", "utf-8",
                  "quoted-printable"),
        part([("Content-Type", "message/delivery-status"),
              ("Content-Transfer-Encoding", "quoted-printable")], qp(st)),
        part([("Content-Type", "message/rfc822"), ("Content-Transfer-Encoding", "quoted-printable")],
             qp(orig_eq)),
    ]), from_address="postmaster@mail.example.org", from_name=None,
        subject="Delivery Status Notification",
        text="Die Nachricht konnte nicht zugestellt werden – Empfänger unbekannt.",
        attachments=[att("attachment-1.txt", st, "message/delivery-status"),
                     att("提币已完成.eml", orig_eq, "message/rfc822")],
        automatic="bounce", bounce={"original_message_id": "xd-10077-1@exchange.test",
                                    "recipients": ["gone2@example.com"], "action": "failed",
                                    "status": "5.1.1"})
    # A security gateway that wraps the report in a multipart/mixed of its own, sent from an
    # address that is no mailer-daemon.
    add("bounce-wrapped-report", mp_mail(std(frm="Mail Gateway <noreply@gateway.example.com>",
                                             subject="Message blocked: [XD-10042] Re: Withdrawal"),
                                         "mixed", "WRAP", [
        text_part("Your message was not delivered. The report follows.", "utf-8", "7bit"),
        part([("Content-Type", report % "INNER_REPORT")], multipart("INNER_REPORT", [
            part([("Content-Type", "text/plain; charset=us-ascii")], postfix_text),
            part([("Content-Type", "message/delivery-status")], status),
            part([("Content-Type", "text/rfc822-headers")], orig_headers),
        ])),
    ]), from_address="noreply@gateway.example.com", from_name="Mail Gateway",
        subject="Message blocked: [XD-10042] Re: Withdrawal",
        text="Your message was not delivered. The report follows.",
        contains=["This is the mail system at host"],
        attachments=[att("attachment-1.txt", status, "message/delivery-status"),
                     att("attachment-2.txt", orig_headers, "text/rfc822-headers")],
        automatic="bounce", bounce=bounce_failed)


def main():
    senders()
    subjects()
    bodies()
    attachments()
    broken()
    machine()
    for f in os.listdir(OUT):
        if f[:3].isdigit() and f.endswith((".eml", ".json")):
            os.remove(os.path.join(OUT, f))
    stems = set()
    for i, (stem, raw, e) in enumerate(CORPUS, 1):
        assert stem not in stems, stem
        stems.add(stem)
        assert len(raw) < 60 * 1024, stem
        base = "%03d-%s" % (i, stem)
        with open(os.path.join(OUT, base + ".eml"), "wb") as f:
            f.write(raw)
        with open(os.path.join(OUT, base + ".json"), "w", encoding="utf-8") as f:
            json.dump(e, f, ensure_ascii=False, indent=1)
            f.write("\n")
    print("%d mails written to %s" % (len(CORPUS), OUT))


if __name__ == "__main__":
    main()
