//! "Is this official?": what someone typed at `/verify` (an email address, a phone number, a
//! Telegram, X or Discord handle, a URL or domain, an agent's public ID) is compared with the
//! exchange's registry of official channels. Anything not in the registry is NOT official;
//! what resembles an entry (a confusable or punycode name, a letter more or less, another
//! top-level domain, the official name inside another one) is called a lookalike and names the
//! entry it imitates, because that is the scam the seeds warn about.

use crate::FieldError;
use unicode_security::confusable_detection::skeleton;

/// The kinds of official channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Email,
    Phone,
    Telegram,
    X,
    Discord,
    Domain,
    Agent,
}

impl Kind {
    pub const ALL: &'static [Kind] = &[
        Kind::Domain,
        Kind::Email,
        Kind::Phone,
        Kind::Telegram,
        Kind::X,
        Kind::Discord,
        Kind::Agent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Phone => "phone",
            Kind::Telegram => "telegram",
            Kind::X => "x",
            Kind::Discord => "discord",
            Kind::Domain => "domain",
            Kind::Agent => "agent",
        }
    }

    pub fn parse(s: &str) -> Result<Kind, FieldError> {
        Kind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| FieldError::new("kind", "invalid_kind", format!("unknown kind {s:?}")))
    }

    /// Handles live on one platform each, but a bare `@name` could be any of them.
    fn is_handle(self) -> bool {
        matches!(self, Kind::Telegram | Kind::X | Kind::Discord)
    }
}

/// Input understood: its kind (None for a bare handle, which may be any platform's) and its
/// normal form (lower case; a domain in its ASCII form; a phone number's digits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub kind: Option<Kind>,
    pub value: String,
    /// For domains and e-mail addresses: the host as people read it (punycode decoded).
    pub display: String,
    /// The host was written in punycode or holds non-ASCII letters.
    pub international: bool,
    /// For links: what stands before an `@` in the address (`https://official.example@evil.io`):
    /// browsers ignore it and go to the host after it, which is why phishers put a name there.
    pub userinfo: Option<String>,
}

/// One entry of the registry, as stored (see [`normalize_entry`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    /// Normal form; an e-mail entry may be `*@domain` for every address at a domain.
    pub value: String,
}

/// Why a value resembles an official one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resemblance {
    /// Letters from other alphabets that look the same (`binаnce` with a Cyrillic `а`).
    Confusable,
    /// An internationalised name (`xn--...`): often used to hide look-alike letters.
    Punycode,
    /// One or two characters added, removed, swapped or changed.
    Typo,
    /// The same name under another top-level domain (`binance.net` for `binance.com`).
    OtherTld,
    /// The official name used inside another one (`binance-support.com`, `binance.com.io`).
    ContainsName,
    /// The official name before an `@` in a link, which goes somewhere else.
    Userinfo,
}

impl Resemblance {
    pub fn as_str(self) -> &'static str {
        match self {
            Resemblance::Confusable => "confusable",
            Resemblance::Punycode => "punycode",
            Resemblance::Typo => "typo",
            Resemblance::OtherTld => "other_tld",
            Resemblance::ContainsName => "contains_name",
            Resemblance::Userinfo => "userinfo",
        }
    }
}

/// The answer: official (the entry's index), a lookalike of an entry, or unknown. Only the
/// first is official.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Official(usize),
    Lookalike(usize, Vec<Resemblance>),
    Unknown,
}

fn bad(reason: &str) -> FieldError {
    FieldError::new("q", "invalid_query", reason)
}

/// A host in its ASCII form, and as people read it; refused when it is no host at all.
fn host(raw: &str) -> Result<(String, String, bool), FieldError> {
    let raw = raw.trim().trim_end_matches('.').to_lowercase();
    if raw.is_empty() || raw.len() > 253 || raw.contains(char::is_whitespace) || !raw.contains('.')
    {
        return Err(bad("not a domain name"));
    }
    let (ascii, errors) = match idna::domain_to_ascii(&raw) {
        Ok(a) => (a, false),
        Err(_) => (raw.clone(), true),
    };
    if errors || ascii.split('.').any(str::is_empty) {
        return Err(bad("not a domain name"));
    }
    let (display, _) = idna::domain_to_unicode(&ascii);
    let international = ascii.split('.').any(|l| l.starts_with("xn--")) || !raw.is_ascii();
    Ok((ascii, display, international))
}

/// Where a URL points: its host (after any `user@` part, which browsers ignore), its path, and
/// that `user@` part (without a password).
fn url_parts(input: &str) -> (&str, &str, Option<&str>) {
    let rest = input
        .split_once("://")
        .map_or(input, |(_, r)| r)
        .trim_start_matches("www.");
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let (userinfo, authority) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.split(':').next().unwrap_or(u)), h),
        None => (None, authority),
    };
    let authority = authority.split(':').next().unwrap_or(authority);
    (authority, path, userinfo.filter(|u| !u.is_empty()))
}

/// Percent-decoded ASCII (`binance%2Ecom`), enough to read a name hidden in a link.
fn decode_ascii(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) if h * 16 + l < 128 => {
                out.push(char::from(u8::try_from(h * 16 + l).unwrap_or(b'?')));
                i += 3;
            }
            _ => {
                let c = s[i..].chars().next().unwrap_or('?');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

fn handle(kind: Option<Kind>, raw: &str) -> Result<Query, FieldError> {
    let v = raw.trim().trim_start_matches('@').to_lowercase();
    if v.is_empty() || v.chars().count() > 64 || v.contains(char::is_whitespace) {
        return Err(bad("not a handle"));
    }
    Ok(Query {
        kind,
        display: v.clone(),
        international: !v.is_ascii(),
        value: v,
        userinfo: None,
    })
}

fn domain_query(kind: Kind, h: &str) -> Result<Query, FieldError> {
    let (value, display, international) = host(h)?;
    Ok(Query {
        kind: Some(kind),
        value,
        display,
        international,
        userinfo: None,
    })
}

/// Understands what someone typed.
pub fn parse_query(input: &str) -> Result<Query, FieldError> {
    let s = input
        .trim()
        .trim_matches(|c: char| matches!(c, '"' | '\'' | '<' | '>' | '“' | '”'));
    if s.is_empty() {
        return Err(bad("enter something to check"));
    }
    if s.chars().count() > 320 {
        return Err(bad("too long"));
    }
    let lower = s.to_lowercase();
    if let Some(id) = agent_id(&lower) {
        return Ok(Query {
            kind: Some(Kind::Agent),
            display: id.clone(),
            value: id,
            international: false,
            userinfo: None,
        });
    }
    if let Some(rest) = lower.strip_prefix("discord:") {
        return handle(Some(Kind::Discord), rest);
    }
    if let Some(rest) = lower.strip_prefix("telegram:") {
        return handle(Some(Kind::Telegram), rest);
    }
    let is_url = lower.contains("://") || lower.starts_with("www.");
    if is_url || (lower.contains('/') && !lower.contains('@')) {
        let (h, path, userinfo) = url_parts(&lower);
        let first = path
            .trim_start_matches('/')
            .split(['/', '?', '#'])
            .next()
            .unwrap_or("");
        let platform = match h {
            "t.me" | "telegram.me" => Some(Kind::Telegram),
            "x.com" | "twitter.com" => Some(Kind::X),
            "discord.gg" => Some(Kind::Discord),
            _ => None,
        };
        if let Some(k) = platform
            && !first.is_empty()
        {
            return handle(Some(k), first);
        }
        let mut q = domain_query(Kind::Domain, h)?;
        q.userinfo = userinfo.map(decode_ascii);
        return Ok(q);
    }
    if let Some((local, domain)) = lower.rsplit_once('@')
        && !local.is_empty()
    {
        let (d, display, international) = host(domain)?;
        if local.contains(char::is_whitespace) {
            return Err(bad("not an e-mail address"));
        }
        return Ok(Query {
            kind: Some(Kind::Email),
            value: format!("{local}@{d}"),
            display: format!("{local}@{display}"),
            international,
            userinfo: None,
        });
    }
    if lower.starts_with('@') {
        return handle(None, &lower);
    }
    let digits: String = lower.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 6
        && lower
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
    {
        return Ok(Query {
            kind: Some(Kind::Phone),
            display: lower.clone(),
            value: digits,
            international: false,
            userinfo: None,
        });
    }
    if let Some((name, tag)) = lower.split_once('#')
        && tag.len() == 4
        && tag.chars().all(|c| c.is_ascii_digit())
    {
        return handle(Some(Kind::Discord), &format!("{name}#{tag}"));
    }
    if lower.contains('.') && !lower.contains(char::is_whitespace) {
        return domain_query(Kind::Domain, &lower);
    }
    handle(None, &lower)
}

/// An agent's public ID: `XA-` and eight letters or digits (Crockford's base 32).
fn agent_id(lower: &str) -> Option<String> {
    let rest = lower.strip_prefix("xa-")?;
    let rest: String = rest.chars().filter(|c| *c != '-').collect();
    (rest.len() == 8 && rest.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| format!("XA-{}", rest.to_uppercase()))
}

/// An entry as an admin types it, in its normal form for its kind.
pub fn normalize_entry(kind: Kind, value: &str) -> Result<String, FieldError> {
    let v = value.trim();
    let refuse = |why: &str| FieldError::new("value", "invalid_value", why);
    if kind == Kind::Email
        && let Some(domain) = v.strip_prefix("*@")
    {
        let (d, _, _) = host(domain).map_err(|_| refuse("not a domain after *@"))?;
        return Ok(format!("*@{d}"));
    }
    let q = parse_query(v).map_err(|e| refuse(&e.reason))?;
    let fits = match (kind, q.kind) {
        (k, None) => k.is_handle(),
        (k, Some(qk)) => k == qk,
    };
    if !fits {
        return Err(refuse(&format!("this is not a {} value", kind.as_str())));
    }
    Ok(q.value)
}

/// The public ID a new agent gets, from 40 random bits.
pub fn new_agent_id(random: [u8; 5]) -> String {
    format!("XA-{}", crockford(&random))
}

/// Random bytes from the system's generator (by way of a version 4 UUID's 122 random bits).
fn random<const N: usize>() -> [u8; N] {
    let u = uuid::Uuid::new_v4();
    let mut out = [0u8; N];
    // Bytes 6 and 8 carry the UUID's version and variant: skip them.
    for (o, b) in out.iter_mut().zip(
        u.as_bytes()
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 6 && *i != 8)
            .map(|(_, b)| *b),
    ) {
        *o = b;
    }
    out
}

/// A fresh agent public ID.
pub fn fresh_agent_id() -> String {
    new_agent_id(random())
}

/// A fresh message code.
pub fn fresh_message_code() -> String {
    new_message_code(random())
}

/// Crockford's base 32 (no I, L, O, U): read aloud and typed without mix-ups.
pub fn crockford(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut out = String::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for b in bytes {
        acc = (acc << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((acc >> bits) & 31) as usize]));
        }
        acc &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((acc << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The short code every outbound message carries, `K7Q2-M9XD-4HRT`, from 60 random bits.
pub fn new_message_code(random: [u8; 8]) -> String {
    let c = crockford(&random);
    format!("{}-{}-{}", &c[0..4], &c[4..8], &c[8..12])
}

/// A code as typed (any case, with or without dashes, `O` for `0` and `I`/`L` for `1`), in
/// its stored form; None when it cannot be one.
pub fn parse_message_code(input: &str) -> Option<String> {
    let c: String = input
        .trim()
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect();
    (c.len() == 12 && c.chars().all(|c| c.is_ascii_alphanumeric() && c != 'U'))
        .then(|| format!("{}-{}-{}", &c[0..4], &c[4..8], &c[8..12]))
}

/// Two-level public suffixes common among exchange users (no full list: a lookalike does not
/// need one to be caught).
const TWO_LEVEL: &[&str] = &[
    "co.uk", "com.cn", "net.cn", "org.cn", "com.hk", "com.tw", "com.sg", "com.au", "co.jp",
    "co.kr", "com.br", "com.tr", "co.id", "com.my", "com.ph", "com.vn",
];

/// (the name under the public suffix, the suffix, the labels before the name).
fn split_host(h: &str) -> (&str, &str, Vec<&str>) {
    let labels: Vec<&str> = h.split('.').collect();
    let n = labels.len();
    let suffix_len = if n >= 3 && TWO_LEVEL.contains(&labels[n - 2..].join(".").as_str()) {
        2
    } else {
        1
    };
    if n <= suffix_len {
        return (h, "", Vec::new());
    }
    let name = labels[n - suffix_len - 1];
    let suffix_start = h.len() - labels[n - suffix_len..].join(".").len();
    (
        name,
        &h[suffix_start..],
        labels[..n - suffix_len - 1].to_vec(),
    )
}

fn skel(s: &str) -> String {
    skeleton(&s.to_lowercase())
        .collect::<String>()
        .to_lowercase()
}

/// Damerau-Levenshtein distance (optimal string alignment), by characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, v) in d[0].iter_mut().enumerate() {
        *v = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// How a name resembles an official one it is not.
fn names_resemble(input: &str, official: &str) -> Vec<Resemblance> {
    let mut why = Vec::new();
    if input == official || official.is_empty() {
        return why;
    }
    let (si, so) = (skel(input), skel(official));
    if si == so {
        why.push(Resemblance::Confusable);
    } else {
        let allowed = if official.chars().count() >= 6 { 2 } else { 1 };
        if distance(&si, &so) <= allowed || distance(input, official) <= allowed {
            why.push(Resemblance::Typo);
        }
        let tokens = si.split(|c: char| !c.is_alphanumeric() || c.is_ascii_digit());
        if official.chars().count() >= 3 && (tokens.clone().any(|t| t == so) || si.contains(&so)) {
            why.push(Resemblance::ContainsName);
        }
    }
    why
}

fn host_resembles(input: &str, official: &str, international: bool) -> Vec<Resemblance> {
    let (in_unicode, _) = idna::domain_to_unicode(input);
    let (off_unicode, _) = idna::domain_to_unicode(official);
    let (iname, isuffix, isubs) = split_host(&in_unicode);
    let (oname, osuffix, _) = split_host(&off_unicode);
    let mut why = Vec::new();
    if iname == oname && isuffix != osuffix {
        why.push(Resemblance::OtherTld);
    } else {
        why.extend(names_resemble(iname, oname));
        if why.is_empty() && skel(&in_unicode) == skel(&off_unicode) {
            why.push(Resemblance::Confusable);
        }
    }
    // `binance.com.secure-login.io`, `binance.verify.io`: the official name as a subdomain.
    if !why.contains(&Resemblance::ContainsName)
        && isubs.iter().any(|l| *l == oname || skel(l) == skel(oname))
    {
        why.push(Resemblance::ContainsName);
    }
    if international && !why.is_empty() {
        why.push(Resemblance::Punycode);
    }
    why
}

fn is_under(host: &str, official: &str) -> bool {
    host == official || host.ends_with(&format!(".{official}"))
}

fn phone_matches(input: &str, official: &str) -> bool {
    input == official || (input.len() >= 7 && official.ends_with(input))
}

fn email_domain(v: &str) -> &str {
    v.rsplit_once('@').map_or(v, |(_, d)| d)
}

/// Checks a query against the registry.
pub fn check(q: &Query, registry: &[Entry]) -> Verdict {
    let verdict = check_value(q, registry);
    if matches!(verdict, Verdict::Official(_)) {
        return verdict;
    }
    // `https://binance.com@evil.io` goes to evil.io dressed as the exchange: a lookalike of
    // whatever official name, or near-name, stands before the `@`.
    if let Some(u) = q.userinfo.as_deref() {
        let u = u.trim_start_matches("www.");
        for (i, e) in registry.iter().enumerate() {
            let official = match e.kind {
                Kind::Domain => e.value.as_str(),
                Kind::Email => email_domain(&e.value),
                _ => continue,
            };
            let (oname, _, _) = split_host(official);
            let named = is_under(u, official)
                || !host_resembles(u, official, false).is_empty()
                || !names_resemble(u, oname).is_empty()
                || u == oname;
            if named {
                let mut why = vec![Resemblance::Userinfo];
                if let Verdict::Lookalike(j, more) = &verdict
                    && *j == i
                {
                    why.extend(more.iter().copied());
                }
                return Verdict::Lookalike(i, why);
            }
        }
    }
    verdict
}

fn check_value(q: &Query, registry: &[Entry]) -> Verdict {
    // Official first: an exact match wins over any resemblance to another entry.
    for (i, e) in registry.iter().enumerate() {
        let official = match (q.kind, e.kind) {
            (Some(Kind::Domain), Kind::Domain) => is_under(&q.value, &e.value),
            (Some(Kind::Email), Kind::Email) => match e.value.strip_prefix("*@") {
                Some(d) => email_domain(&q.value) == d,
                None => q.value == e.value,
            },
            (Some(Kind::Phone), Kind::Phone) => phone_matches(&q.value, &e.value),
            (Some(a), b) if a == b => q.value == e.value,
            (None, b) if b.is_handle() => q.value == e.value,
            _ => false,
        };
        if official {
            return Verdict::Official(i);
        }
    }
    // The entry with the most resemblances, then the closest one.
    let mut best: Option<(usize, Vec<Resemblance>, usize)> = None;
    for (i, e) in registry.iter().enumerate() {
        let why = match (q.kind, e.kind) {
            (Some(Kind::Domain), Kind::Domain) => {
                host_resembles(&q.value, &e.value, q.international)
            }
            (Some(Kind::Domain), Kind::Email) => {
                host_resembles(&q.value, email_domain(&e.value), q.international)
            }
            (Some(Kind::Email), Kind::Email | Kind::Domain) => {
                let official_domain = email_domain(&e.value);
                let domain = email_domain(&q.value);
                if domain == official_domain {
                    // The right domain but an address the exchange does not use.
                    let local = q.value.rsplit_once('@').map_or("", |(l, _)| l);
                    let off_local = e.value.rsplit_once('@').map_or("", |(l, _)| l);
                    if off_local == "*" {
                        Vec::new()
                    } else {
                        names_resemble(local, off_local)
                    }
                } else {
                    host_resembles(domain, official_domain, q.international)
                }
            }
            (Some(Kind::Phone), Kind::Phone) => {
                if q.value.len() == e.value.len() && distance(&q.value, &e.value) == 1 {
                    vec![Resemblance::Typo]
                } else {
                    Vec::new()
                }
            }
            (Some(Kind::Agent), Kind::Agent) => {
                if distance(&q.value, &e.value) <= 2 {
                    vec![Resemblance::Typo]
                } else {
                    Vec::new()
                }
            }
            (Some(a), b) if a == b && a.is_handle() => names_resemble(&q.value, &e.value),
            (None, b) if b.is_handle() => names_resemble(&q.value, &e.value),
            _ => Vec::new(),
        };
        if why.is_empty() {
            continue;
        }
        let rank = why.len() * 100 - distance(&q.value, &e.value).min(99);
        if best.as_ref().is_none_or(|(_, _, r)| rank > *r) {
            best = Some((i, why, rank));
        }
    }
    match best {
        Some((i, why, _)) => Verdict::Lookalike(i, why),
        None => Verdict::Unknown,
    }
}

/// The most distinct link hosts read from one text: each is checked against the registry
/// (about 35 µs), and 64 KiB of distinct links took 285 ms (found by xdesk-fuzz). A message
/// with more links than this is bulk, not a customer's question.
pub const MAX_LINK_HOSTS: usize = 200;

/// The hosts of the links in a text (`https://…`, `www.…`, and bare `name.tld/…`), in order,
/// once each: what inbound messages are checked for. A link with a `user@` part comes as
/// `https://user@host/`, for [`parse_query`] and [`check`] to judge whole.
pub fn link_hosts(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // Hosts already in `out`: looking each up in `out` itself made a text of many distinct
    // links quadratic (found by xdesk-fuzz).
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for raw in text.split(|c: char| c.is_whitespace() || "<>\"'()[]{}，。、「」（）".contains(c))
    {
        let w = raw.trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let lower = w.to_lowercase();
        let linky = lower.starts_with("http://")
            || lower.starts_with("https://")
            || lower.starts_with("www.")
            || (lower.contains('.')
                && !lower.contains('@')
                && lower
                    .split(['/', '?', '#'])
                    .next()
                    .and_then(|h| h.rsplit('.').next())
                    .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(char::is_alphabetic)));
        if !linky {
            continue;
        }
        let (h, _, userinfo) = url_parts(&lower);
        if let Ok((ascii, _, _)) = host(h) {
            // A name before an `@` is kept, so the link is judged as the bait it is.
            let target = match userinfo {
                Some(u) => format!("https://{u}@{ascii}/"),
                None => ascii,
            };
            if seen.insert(target.clone()) {
                out.push(target);
                if out.len() == MAX_LINK_HOSTS {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn registry() -> Vec<Entry> {
        [
            (Kind::Domain, "binance.com"),
            (Kind::Email, "*@binance.com"),
            (Kind::Email, "support@binance-mail.com"),
            (Kind::Phone, "+1 800 555 0199"),
            (Kind::Telegram, "@BinanceSupport"),
            (Kind::X, "https://x.com/binance"),
            (Kind::Discord, "discord:binance"),
            (Kind::Agent, "XA-7K2M9QXD"),
        ]
        .iter()
        .map(|(k, v)| Entry {
            kind: *k,
            value: normalize_entry(*k, v).unwrap_or_else(|e| unreachable!("{v}: {e}")),
        })
        .collect()
    }

    fn verdict(input: &str) -> Verdict {
        let q = parse_query(input).unwrap_or_else(|e| unreachable!("{input}: {e}"));
        check(&q, &registry())
    }

    fn lookalike(input: &str) -> (usize, Vec<Resemblance>) {
        match verdict(input) {
            Verdict::Lookalike(i, why) => (i, why),
            other => unreachable!("{input}: {other:?}"),
        }
    }

    #[test]
    fn official_channels_are_recognised_in_any_spelling() {
        for (input, entry) in [
            ("binance.com", 0),
            ("https://www.binance.com/en/support", 0),
            ("HTTPS://Accounts.Binance.com", 0),
            ("Lin@Binance.com", 1),
            ("support@binance-mail.com", 2),
            ("+1 (800) 555-0199", 3),
            ("800-555-0199", 3),
            ("@binancesupport", 4),
            ("https://t.me/BinanceSupport", 4),
            ("x.com/binance", 5),
            ("@binance", 5),
            ("discord:Binance", 6),
            ("xa-7k2m-9qxd", 7),
        ] {
            assert_eq!(verdict(input), Verdict::Official(entry), "{input}");
        }
    }

    #[test]
    fn lookalikes_name_what_they_imitate() {
        // A Cyrillic "а" in the middle, typed or in punycode.
        let (i, why) = lookalike("binаnce.com");
        assert_eq!(i, 0);
        assert!(
            why.contains(&Resemblance::Confusable) && why.contains(&Resemblance::Punycode),
            "{why:?}"
        );
        let puny = idna::domain_to_ascii("binаnce.com").unwrap_or_default();
        assert!(puny.starts_with("xn--"), "{puny}");
        let (i, why) = lookalike(&format!("https://{puny}/login"));
        assert_eq!(i, 0);
        assert!(why.contains(&Resemblance::Punycode), "{why:?}");
        // An extra, a missing, a swapped and a changed letter.
        for typo in [
            "binancce.com",
            "binane.com",
            "biannce.com",
            "blnance.com",
            "binance1.com",
        ] {
            let (i, why) = lookalike(typo);
            assert_eq!(i, 0, "{typo}");
            assert!(
                why.contains(&Resemblance::Typo) || why.contains(&Resemblance::Confusable),
                "{typo}: {why:?}"
            );
        }
        assert_eq!(lookalike("binance.net"), (0, vec![Resemblance::OtherTld]));
        assert_eq!(lookalike("binance.com.cn").1, vec![Resemblance::OtherTld]);
        assert!(
            lookalike("binance-support.com")
                .1
                .contains(&Resemblance::ContainsName)
        );
        assert!(
            lookalike("https://binance.com.secure-verify.io/")
                .1
                .contains(&Resemblance::ContainsName)
        );
        // The browser goes to evil.io: the official name before the @ is bait.
        for bait in [
            "https://binance.com@evil.io/",
            "http://www.binance.com:443@evil.io/login",
            "https://accounts.binance.com@evil.io",
            "https://binance%2Ecom@evil.io",
            "https://binance@evil.io",
            "https://blnance.com:pw@evil.io/x",
            "https://a@binance.com@evil.io",
        ] {
            let (i, why) = lookalike(bait);
            assert!(i <= 1, "{bait}");
            assert_eq!(why.first(), Some(&Resemblance::Userinfo), "{bait}");
        }
        // What goes to the official host stays official, and other user names stay unknown.
        assert_eq!(
            verdict("https://evil.io@binance.com/"),
            Verdict::Official(0)
        );
        assert!(matches!(
            verdict("https://alice@example.org/"),
            Verdict::Unknown
        ));
        // Mail from a lookalike domain, and a handle with a letter more.
        assert!(lookalike("help@binance-com.io").0 <= 1);
        assert_eq!(lookalike("support@binance-mall.com").0, 2);
        assert_eq!(lookalike("@BinanceSupportt").0, 4);
        assert!(
            lookalike("@binance_support_help")
                .1
                .contains(&Resemblance::ContainsName)
        );
        assert_eq!(lookalike("+1 800 555 0198").0, 3);
        assert_eq!(lookalike("XA-7K2M9QXB").0, 7);
    }

    #[test]
    fn unrelated_values_are_unknown_and_junk_is_refused() {
        for input in [
            "example.org",
            "@satoshi",
            "+44 20 7946 0000",
            "random.io",
            "XA-00000000",
        ] {
            assert_eq!(verdict(input), Verdict::Unknown, "{input}");
        }
        for junk in ["", "   ", "a b c", "http://", "x.", &"a".repeat(400)] {
            assert!(parse_query(junk).is_err(), "{junk:?}");
        }
        assert!(normalize_entry(Kind::Phone, "binance.com").is_err());
        assert!(normalize_entry(Kind::Email, "*@").is_err());
        assert!(Kind::parse("fax").is_err());
    }

    #[test]
    fn codes_are_short_unambiguous_and_forgiving() {
        let code = new_message_code([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4]);
        assert_eq!(code.len(), 14);
        assert!(!code.contains(['I', 'L', 'O', 'U']));
        assert_eq!(
            parse_message_code(&code.to_lowercase().replace('-', " ")),
            Some(code.clone())
        );
        assert_eq!(
            parse_message_code("OOOO-IIII-LLLL"),
            Some("0000-1111-1111".into())
        );
        assert_eq!(parse_message_code("short"), None);
        let id = new_agent_id([1, 2, 3, 4, 5]);
        assert_eq!(id.len(), 11);
        assert_eq!(
            parse_query(&id.to_lowercase()).map(|q| q.value).ok(),
            Some(id)
        );
    }

    /// Found by xdesk-fuzz: each host was looked up in the list of those before it, so a text
    /// of many distinct links took time quadratic in its length. The hosts of one 8 x 8 KiB text
    /// must cost about as much as those of an 8 KiB text 8 times (quadratic: 8 times as much);
    /// the bound (3) leaves room for noise, CPU time counts where Linux gives it.
    #[test]
    fn link_hosts_is_linear_in_distinct_links() {
        let text = |from: usize, n: usize| {
            (from..from + n)
                .map(|i| format!("h{i}.io "))
                .collect::<String>()
        };
        let hosts = link_hosts(&text(0, 3));
        assert_eq!(hosts, ["h0.io", "h1.io", "h2.io"]);
        assert_eq!(link_hosts("a.io b.io a.io"), ["a.io", "b.io"]);
        let small = text(100_000, 4000);
        let large = text(100_000, 32_000);
        // Read up to the cap, and no further.
        assert_eq!(link_hosts(&large).len(), MAX_LINK_HOSTS);
        assert_eq!(link_hosts(&large)[MAX_LINK_HOSTS - 1], "h100199.io");
        let ratio = crate::growth::growth(&small, &large, 8, |t| {
            link_hosts(t);
        });
        assert!(ratio < 3.0, "32,000 hosts cost {ratio:.1} x 8 x 4,000");
    }

    #[test]
    fn links_are_found_in_text() {
        let text = "请登录 https://binаnce.com/login 或 www.Binance.com，或者 binance-support.io/help。\
                    邮件 lin@example.com 不算链接；版本 1.2 也不算。";
        let hosts = link_hosts(text);
        assert_eq!(hosts.len(), 3, "{hosts:?}");
        assert!(hosts[0].starts_with("xn--"));
        assert_eq!(hosts[1], "binance.com");
        assert_eq!(hosts[2], "binance-support.io");
        let hosts = link_hosts("click https://binance.com@evil.io/login now");
        assert_eq!(hosts, vec!["https://binance.com@evil.io/".to_owned()]);
        let q = parse_query(&hosts[0]).unwrap();
        assert_eq!(q.value, "evil.io");
        assert!(matches!(check(&q, &registry()), Verdict::Lookalike(_, _)));
    }
}
