//! Secrets a customer must never send to support: seed phrases (BIP-39, English and Chinese
//! word lists), private keys (WIF, extended keys, raw hex or base58 keys named as such) and
//! one-time 2FA codes. Found before anything is stored, so an agent never sees them and a
//! database leak cannot expose them.
//!
//! Ordinary transaction hashes and addresses are not secrets. A bare 64-hex string is read as a
//! hash, since an EVM private key and an EVM tx hash cannot be told apart by their characters;
//! it is a key only when the nearest label before it says "private key" (or 私钥, …) rather than
//! "tx"/"hash" (or 哈希, …).

use serde::Serialize;
use std::collections::HashSet;
use std::ops::Range;
use std::sync::LazyLock;

/// Shortest run of word-list words taken for a seed phrase: BIP-39's smallest mnemonic.
pub const MIN_SEED_WORDS: usize = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretKind {
    SeedPhrase,
    PrivateKey,
    OneTimeCode,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SecretKind::SeedPhrase => "seed_phrase",
            SecretKind::PrivateKey => "private_key",
            SecretKind::OneTimeCode => "one_time_code",
        }
    }

    fn label(self, zh: bool) -> &'static str {
        match (self, zh) {
            (SecretKind::SeedPhrase, false) => "seed phrase",
            (SecretKind::PrivateKey, false) => "private key",
            (SecretKind::OneTimeCode, false) => "2FA code",
            (SecretKind::SeedPhrase, true) => "助记词",
            (SecretKind::PrivateKey, true) => "私钥",
            (SecretKind::OneTimeCode, true) => "二次验证码",
        }
    }

    /// What replaces the secret in stored text.
    pub fn marker(self) -> String {
        format!("[secret removed by xdesk: {}]", self.label(false))
    }
}

/// One secret and where it sits in the text (byte offsets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: SecretKind,
    pub range: Range<usize>,
}

/// Text with every secret replaced by its marker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redacted {
    pub text: String,
    /// Each kind found, once, in a stable order.
    pub kinds: Vec<SecretKind>,
}

static ENGLISH: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    bip39::Language::English
        .word_list()
        .iter()
        .copied()
        .collect()
});

static CHINESE: LazyLock<HashSet<char>> = LazyLock::new(|| {
    [
        bip39::Language::SimplifiedChinese,
        bip39::Language::TraditionalChinese,
    ]
    .iter()
    .flat_map(|l| l.word_list().iter())
    .filter_map(|w| w.chars().next())
    .collect()
});

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4dbf}' | '\u{4e00}'..='\u{9fff}' | '\u{f900}'..='\u{faff}')
}

/// A maximal run of letters and digits that does not mix CJK with other scripts, so
/// "验证码123456" and "私钥是0xabc…" split where a reader would.
#[derive(Debug)]
struct Token<'a> {
    text: &'a str,
    range: Range<usize>,
}

fn tokens(text: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut start: Option<(usize, bool)> = None;
    for (i, c) in text.char_indices() {
        let word = c.is_alphanumeric();
        let cjk = is_cjk(c);
        if let Some((s, run_cjk)) = start {
            if word && cjk == run_cjk {
                continue;
            }
            out.push(Token {
                text: &text[s..i],
                range: s..i,
            });
        }
        start = word.then_some((i, cjk));
    }
    if let Some((s, _)) = start {
        out.push(Token {
            text: &text[s..],
            range: s..text.len(),
        });
    }
    out
}

fn is_english_word(t: &str) -> bool {
    t.len() >= 3 && t.len() <= 8 && ENGLISH.contains(t.to_lowercase().as_str())
}

fn is_chinese_word(t: &str) -> bool {
    let mut cs = t.chars();
    matches!((cs.next(), cs.next()), (Some(c), None) if CHINESE.contains(&c))
}

/// Numbering between words ("1. abandon 2. ability") does not break a phrase.
fn is_numbering(t: &str) -> bool {
    t.len() <= 2 && t.bytes().all(|b| b.is_ascii_digit())
}

fn seed_phrases(text: &str, toks: &[Token<'_>], out: &mut Vec<Finding>) {
    for is_word in [is_english_word as fn(&str) -> bool, is_chinese_word] {
        let mut run: Vec<&Token<'_>> = Vec::new();
        let mut flush = |run: &mut Vec<&Token<'_>>| {
            if let (true, Some(first), Some(last)) =
                (run.len() >= MIN_SEED_WORDS, run.first(), run.last())
            {
                out.push(Finding {
                    kind: SecretKind::SeedPhrase,
                    range: first.range.start..last.range.end,
                });
            }
            run.clear();
        };
        let mut prev: Option<&Token<'_>> = None;
        for t in toks {
            // A sentence ends the phrase, but not the dot of "1. abandon 2. ability".
            if let Some(p) = prev.replace(t) {
                let gap = &text[p.range.end..t.range.start];
                if !is_numbering(p.text) && gap.contains(['.', '!', '?', '。', '！', '？']) {
                    flush(&mut run);
                }
            }
            if is_word(t.text) {
                run.push(t);
            } else if !is_numbering(t.text) || run.is_empty() {
                flush(&mut run);
            }
        }
        flush(&mut run);
    }
}

/// Words that say a seed phrase follows, in the languages customers write.
const SEED_WORDS: &[&str] = &[
    "助记词",
    "助記詞",
    "助记符",
    "记忆词",
    "種子",
    "种子",
    "恢复词",
    "恢复短语",
    "恢復短語",
    "备份词",
    "钱包词",
    "私钥",
    "密语",
    "mnemonic",
    "seed",
    "recovery phrase",
    "secret phrase",
];

/// Not a word of that list, in [`CHINESE_INDEX`].
const NO_WORD: u16 = u16::MAX;

/// Each character of either Chinese list (one character a word) to its 11-bit index in the
/// simplified and in the traditional list ([`NO_WORD`] when not in that one): one lookup a
/// character for both lists.
static CHINESE_INDEX: LazyLock<std::collections::HashMap<char, [u16; 2]>> = LazyLock::new(|| {
    let mut index = std::collections::HashMap::new();
    for (l, lang) in [
        bip39::Language::SimplifiedChinese,
        bip39::Language::TraditionalChinese,
    ]
    .into_iter()
    .enumerate()
    {
        for (i, w) in lang.word_list().iter().enumerate() {
            if let (Some(c), Ok(i)) = (w.chars().next(), u16::try_from(i)) {
                index.entry(c).or_insert([NO_WORD; 2])[l] = i;
            }
        }
    }
    index
});

/// Whether `chars` are a BIP-39 mnemonic of either Chinese list, checksum included.
#[cfg(test)]
fn chinese_mnemonic(chars: &[char]) -> bool {
    let words: Vec<[u16; 2]> = chars
        .iter()
        .map(|c| CHINESE_INDEX.get(c).copied().unwrap_or([NO_WORD; 2]))
        .collect();
    (0..2).any(|l| checksum_ok(words.iter().map(|w| w[l])))
}

/// Whether `words` (11-bit indices of one list, [`NO_WORD`] for a character not in it) are a
/// BIP-39 mnemonic, checksum included. Checked here (word indices, then SHA-256 of the
/// entropy) rather than by the bip39 crate's parser, which costs about fifty times as much:
/// the scan makes this check for every run of list characters of a mnemonic's length, so a
/// message of such runs made the scan slow.
fn checksum_ok(words: impl ExactSizeIterator<Item = u16>) -> bool {
    use sha2::{Digest, Sha256};
    let n = words.len();
    if ![12, 15, 18, 21, 24].contains(&n) {
        return false;
    }
    // 11 bits a word: the entropy (32 bits for every 3 words), then 1 checksum bit for every
    // 3 words.
    let entropy_bytes = n / 3 * 4;
    let checksum_bits = n / 3;
    let mut bits = [0u8; 33];
    // Bits not yet written to `bits` (the low `pending` bits of `acc`).
    let (mut acc, mut pending, mut at) = (0u32, 0u32, 0);
    for w in words {
        if w == NO_WORD {
            return false;
        }
        acc = (acc << 11) | u32::from(w);
        pending += 11;
        while pending >= 8 {
            pending -= 8;
            bits[at] = (acc >> pending) as u8;
            at += 1;
        }
        acc &= (1 << pending) - 1;
    }
    if pending > 0 {
        bits[at] = (acc << (8 - pending)) as u8;
    }
    let hash = Sha256::digest(&bits[..entropy_bytes]);
    let shift = 8 - checksum_bits;
    bits[entropy_bytes] >> shift == hash[0] >> shift
}

/// The characters of a group of CJK tokens with their list indices, looked up once (the scan
/// checks many overlapping spans of a group), and for each list how many characters before
/// each one are not in it, so a span with such a character is passed over without its
/// checksum.
struct GroupChars {
    chars: Vec<(char, Range<usize>)>,
    words: Vec<[u16; 2]>,
    /// `missing[l][i]`: characters before the `i`th that are not words of list `l`.
    missing: [Vec<u32>; 2],
    /// `differ[i]`: characters before the `i`th whose indices in the two lists differ. (The
    /// lists give every character they share the same index, so a span of shared characters
    /// is checked once, not once a list.)
    differ: Vec<u32>,
}

impl GroupChars {
    fn new(g: &[&Token<'_>]) -> Self {
        let chars: Vec<(char, Range<usize>)> = g
            .iter()
            .flat_map(|t| {
                t.text
                    .char_indices()
                    .map(|(i, c)| (c, t.range.start + i..t.range.start + i + c.len_utf8()))
            })
            .collect();
        let words: Vec<[u16; 2]> = chars
            .iter()
            .map(|(c, _)| CHINESE_INDEX.get(c).copied().unwrap_or([NO_WORD; 2]))
            .collect();
        let missing = [0, 1].map(|l| {
            let mut m = Vec::with_capacity(words.len() + 1);
            let mut n = 0u32;
            m.push(n);
            for w in &words {
                n += u32::from(w[l] == NO_WORD);
                m.push(n);
            }
            m
        });
        let mut differ = Vec::with_capacity(words.len() + 1);
        let mut n = 0u32;
        differ.push(n);
        for w in &words {
            n += u32::from(w[0] != w[1]);
            differ.push(n);
        }
        GroupChars {
            chars,
            words,
            missing,
            differ,
        }
    }

    /// Whether the character is a word of either list (is in [`CHINESE`]).
    fn listed(&self, i: usize) -> bool {
        self.words[i] != [NO_WORD; 2]
    }

    /// Whether the `n` characters from the `from`th are a mnemonic of either list.
    fn mnemonic(&self, from: usize, n: usize) -> bool {
        let to = from + n;
        let in_list = |l: usize| self.missing[l][to] == self.missing[l][from];
        let check = |l: usize| checksum_ok(self.words[from..to].iter().map(|w| w[l]));
        if in_list(0) {
            check(0) || (self.differ[to] != self.differ[from] && in_list(1) && check(1))
        } else {
            in_list(1) && check(1)
        }
    }
}

/// Chinese users often type a phrase with no separator ("的一是在不了有和人这中大") or in
/// groups of characters. Every word of the Chinese lists is one common character, so such a
/// run is told from prose by BIP-39's checksum when it stands alone at a mnemonic's length,
/// and by a word like 助记词 just before it otherwise (then the whole run goes: a phrase with a
/// typo must not survive for lack of a checksum).
fn unspaced_chinese_phrases(
    text: &str,
    toks: &[Token<'_>],
    mentions: &Mentions<'_>,
    out: &mut Vec<Finding>,
) {
    // Runs of CJK tokens separated by nothing but spaces or numbering ("1.的一是在 2.不了有和").
    let mut groups: Vec<Vec<&Token<'_>>> = Vec::new();
    let mut prev_end: Option<usize> = None;
    for t in toks {
        if !t.text.chars().next().is_some_and(is_cjk) {
            if !is_numbering(t.text) {
                prev_end = None;
            }
            continue;
        }
        // Groups on one line: a line break ends the phrase as a reader sees it.
        let joins = prev_end.is_some_and(|end| {
            text[end..t.range.start]
                .chars()
                .all(|c| matches!(c, ' ' | '\u{3000}' | '.') || c.is_ascii_digit())
        });
        match groups.last_mut() {
            Some(g) if joins => g.push(t),
            _ => groups.push(vec![t]),
        }
        prev_end = Some(t.range.end);
    }
    for g in groups {
        if g.iter().all(|t| t.text.chars().count() == 1) {
            continue; // spaced single characters: `seed_phrases` judges those
        }
        let gc = GroupChars::new(&g);
        // Where each token's characters start in `gc`.
        let mut starts = Vec::with_capacity(g.len() + 1);
        starts.push(0);
        for t in &g {
            starts.push(starts[starts.len() - 1] + t.text.chars().count());
        }
        // Whole tokens that add up to a mnemonic's length and pass its checksum: typed in
        // groups ("的一是在 不了有和 人这中大") beside words that are not part of it.
        let mut aligned = false;
        for i in 0..g.len().min(48) {
            for j in i..g.len().min(i + 24) {
                let n = starts[j + 1] - starts[i];
                if n > 24 {
                    break;
                }
                if [12, 15, 18, 21, 24].contains(&n) && gc.mnemonic(starts[i], n) {
                    out.push(Finding {
                        kind: SecretKind::SeedPhrase,
                        range: g[i].range.start..g[j].range.end,
                    });
                    aligned = true;
                }
            }
        }
        if aligned {
            continue;
        }
        let chars = &gc.chars;
        let mut i = 0;
        while i < chars.len() {
            if !gc.listed(i) {
                i += 1;
                continue;
            }
            let start = i;
            while i < chars.len() && gc.listed(i) {
                i += 1;
            }
            // Naming only shortens a run, so a run shorter than a phrase is passed over
            // before its lead is read (a text of many short runs made the scan slow).
            if i - start < MIN_SEED_WORDS {
                continue;
            }
            let run = &chars[start..i];
            // A word like 助记词 just before the run, or inside it (its characters may be list
            // words themselves): a phrase may start after it, and does when only "是", "为" or
            // a colon stands between ("助记词是…", "助记词：…").
            let intro = |gap: &str| {
                gap.chars()
                    .all(|c| c.is_whitespace() || matches!(c, ':' | '：' | '是' | '为' | '為'))
            };
            let (from, to) = (run[0].1.start, run[run.len() - 1].1.end);
            let mut named: Option<(usize, bool)> = mentions
                .last(List::Seed, back(text, from, 16)..from)
                .map(|at| mentions.lowered(at, from))
                .filter(|gap| gap.chars().count() <= 3)
                .map(|gap| (0, intro(gap)));
            if let Some(at) = mentions.last(List::Seed, from..to)
                && let Some(k) = run
                    .iter()
                    .position(|(_, r)| r.start - from >= at - mentions.low(from))
            {
                let copula = run[k..]
                    .iter()
                    .take_while(|(c, _)| matches!(c, '是' | '为' | '為'))
                    .count();
                named = Some((k + copula.min(1), copula > 0));
            }
            let first = start + named.map_or(0, |(k, _)| k);
            let run = &chars[first..i];
            if run.len() < MIN_SEED_WORDS {
                continue;
            }
            let span = |a: usize, b: usize| run[a].1.start..run[b - 1].1.end;
            let exact = [24, 21, 18, 15, 12]
                .into_iter()
                .find(|&n| n <= run.len() && gc.mnemonic(first, n));
            let found = match (named, exact) {
                // Named: the phrase right after the word, checksum and all.
                (Some(_), Some(n)) => Some(span(0, n)),
                // Named and introduced, but no checksum: a typo must not let it through.
                (Some((_, true)), None) => Some(span(0, run.len().min(24))),
                (Some((_, false)), None) => None,
                (None, _)
                    if [12, 15, 18, 21, 24].contains(&run.len())
                        && gc.mnemonic(first, run.len()) =>
                {
                    Some(span(0, run.len()))
                }
                (None, _) if run.len() > 24 && gc.mnemonic(first, 24) => Some(span(0, 24)),
                (None, _) if run.len() > 24 && gc.mnemonic(i - 24, 24) => {
                    Some(span(run.len() - 24, run.len()))
                }
                (None, _) => None,
            };
            if let Some(range) = found {
                out.push(Finding {
                    kind: SecretKind::SeedPhrase,
                    range,
                });
            }
        }
    }
}

/// Where the `n` characters before byte `at` start. Read backwards from `at`: counting the
/// characters of the whole head made the scan quadratic in the text's length.
fn back(text: &str, at: usize, n: usize) -> usize {
    if n == 0 {
        return at;
    }
    text[..at]
        .char_indices()
        .rev()
        .nth(n - 1)
        .map_or(0, |(i, _)| i)
}

/// Where the `n` characters from byte `at` end.
fn ahead(text: &str, at: usize, n: usize) -> usize {
    text[at..]
        .char_indices()
        .nth(n)
        .map_or(text.len(), |(i, _)| at + i)
}

/// The last `n` characters before byte `at`, lowercased.
#[cfg(test)]
fn before(text: &str, at: usize, n: usize) -> String {
    text[back(text, at, n)..at].to_lowercase()
}

/// The position just past the last occurrence of any needle, if any: what the scan asked of
/// each window before [`Mentions`], kept to check it against.
#[cfg(test)]
fn last_mention(hay: &str, needles: &[&str]) -> Option<usize> {
    needles
        .iter()
        .filter_map(|n| hay.rfind(n).map(|i| i + n.len()))
        .max()
}

/// The keyword lists the scan looks for near a candidate.
#[derive(Debug, Clone, Copy)]
enum List {
    Seed = 0,
    Key = 1,
    Hash = 2,
    Otp = 3,
}

const LISTS: [&[&str]; 4] = [SEED_WORDS, KEY_WORDS, HASH_WORDS, OTP_WORDS];

/// A keyword's bytes and its list.
type Keyword = (&'static [u8], List);

/// The keywords of every list by their first byte, for [`Mentions`]' one pass.
static BY_FIRST_BYTE: LazyLock<Vec<Vec<Keyword>>> = LazyLock::new(|| {
    let mut by = vec![Vec::new(); 256];
    for (list, words) in [List::Seed, List::Key, List::Hash, List::Otp]
        .into_iter()
        .zip(LISTS)
    {
        for w in words {
            by[usize::from(w.as_bytes()[0])].push((w.as_bytes(), list));
        }
    }
    by
});

/// Every occurrence of every keyword in the lowercased text, found in one pass over it when
/// a candidate first asks. Each candidate (a 6-digit code, a hex key, a run of Chinese list
/// characters) asks which keywords end last in a window of characters around it; searching
/// each window for each keyword built a searcher per keyword and candidate, so a text of
/// many codes spent most of its time building them.
struct Mentions<'a> {
    text: &'a str,
    index: std::cell::OnceCell<MentionIndex>,
}

struct MentionIndex {
    /// The text lowercased, character by character (as `str::to_lowercase` does, but for
    /// the final sigma, which no keyword contains).
    lower: String,
    /// For each character boundary of the text, where its lowercase starts in `lower`.
    low: Vec<usize>,
    /// For each list, its keywords' occurrences in `lower` (start, end), sorted by end.
    found: [Vec<(usize, usize)>; 4],
}

#[cfg(test)]
thread_local! {
    /// Passes made over a text (or a part of it) in search of keywords, for the tests.
    static KEYWORD_PASSES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl<'a> Mentions<'a> {
    fn new(text: &'a str) -> Self {
        Mentions {
            text,
            index: std::cell::OnceCell::new(),
        }
    }

    fn index(&self) -> &MentionIndex {
        self.index.get_or_init(|| {
            #[cfg(test)]
            KEYWORD_PASSES.with(|p| p.set(p.get() + 1));
            let mut lower = String::with_capacity(self.text.len());
            let mut low = vec![0; self.text.len() + 1];
            for (i, c) in self.text.char_indices() {
                low[i] = lower.len();
                lower.extend(c.to_lowercase());
            }
            low[self.text.len()] = lower.len();
            let mut found: [Vec<(usize, usize)>; 4] = Default::default();
            let bytes = lower.as_bytes();
            for (i, b) in bytes.iter().enumerate() {
                for (w, list) in &BY_FIRST_BYTE[usize::from(*b)] {
                    if bytes[i..].starts_with(w) {
                        found[*list as usize].push((i, i + w.len()));
                    }
                }
            }
            for f in &mut found {
                f.sort_unstable_by_key(|&(start, end)| (end, start));
            }
            MentionIndex { lower, low, found }
        })
    }

    /// Where the character at byte `at` of the text starts in the lowercased text.
    fn low(&self, at: usize) -> usize {
        self.index().low[at]
    }

    /// The lowercased text from `low_from` (a position in it) to byte `to` of the text.
    fn lowered(&self, low_from: usize, to: usize) -> &str {
        let index = self.index();
        &index.lower[low_from..index.low[to]]
    }

    /// Just past the last keyword of `list` within `window` (bytes of the text, on character
    /// boundaries), as a position in the lowercased text: what `last_mention` gives for the
    /// window lowercased, shifted by where the window starts.
    fn last(&self, list: List, window: Range<usize>) -> Option<usize> {
        let index = self.index();
        let (from, to) = (index.low[window.start], index.low[window.end]);
        let found = &index.found[list as usize];
        let past = found.partition_point(|&(_, end)| end <= to);
        found[..past]
            .iter()
            .rev()
            .take_while(|&&(_, end)| end >= from)
            .find(|&&(start, _)| start >= from)
            .map(|&(_, end)| end)
    }
}

const KEY_WORDS: &[&str] = &[
    "private key",
    "private-key",
    "privatekey",
    "priv key",
    "privkey",
    "secret key",
    "wallet key",
    "私钥",
    "秘钥",
    "密钥",
    "私鑰",
    "密鑰",
];
const HASH_WORDS: &[&str] = &[
    "tx",
    "hash",
    "txid",
    "transaction",
    "哈希",
    "交易",
    "转账记录",
    "区块",
    "block",
];
const OTP_WORDS: &[&str] = &[
    "2fa",
    "two-factor",
    "two factor",
    "2-step",
    "2 step",
    "otp",
    "one-time",
    "one time",
    "authenticator",
    "google auth",
    "verification code",
    "security code",
    "sms code",
    "auth code",
    "login code",
    "验证码",
    "驗證碼",
    "动态码",
    "动态密码",
    "谷歌验证",
    "安全码",
    "校验码",
    "身份验证器",
];

fn is_hex(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_base58(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l'))
}

/// Wallet Import Format (mainnet or testnet) or an extended private key: the checksum makes
/// these unmistakable, so no label is needed.
fn is_self_evident_key(t: &str) -> bool {
    let Ok(payload) = bs58::decode(t).with_check(None).into_vec() else {
        return false;
    };
    match payload.len() {
        33 => matches!(payload.first(), Some(0x80 | 0xef)),
        34 => matches!(payload.first(), Some(0x80 | 0xef)) && payload.last() == Some(&0x01),
        78 => matches!(
            t.get(1..4),
            Some("prv") if matches!(t.as_bytes().first(), Some(b'x' | b't' | b'y' | b'z' | b'u' | b'v'))
        ),
        _ => false,
    }
}

fn private_keys(text: &str, toks: &[Token<'_>], mentions: &Mentions<'_>, out: &mut Vec<Finding>) {
    for t in toks {
        let s = t.text;
        let bare = s.strip_prefix("0x").unwrap_or(s);
        let looks_raw =
            (bare.len() == 64 && is_hex(bare)) || ((43..=90).contains(&s.len()) && is_base58(s));
        let secret = if (51..=52).contains(&s.len()) || s.len() == 111 {
            is_self_evident_key(s) || (looks_raw && labelled_key(text, t, mentions))
        } else {
            looks_raw && labelled_key(text, t, mentions)
        };
        if secret {
            out.push(Finding {
                kind: SecretKind::PrivateKey,
                range: t.range.clone(),
            });
        }
    }
}

/// The nearest label before the token names a key, not a hash.
fn labelled_key(text: &str, t: &Token<'_>, mentions: &Mentions<'_>) -> bool {
    let ctx = back(text, t.range.start, 60)..t.range.start;
    match (
        mentions.last(List::Key, ctx.clone()),
        mentions.last(List::Hash, ctx),
    ) {
        (Some(k), Some(h)) => k > h,
        (Some(_), None) => true,
        _ => false,
    }
}

fn one_time_codes(text: &str, toks: &[Token<'_>], mentions: &Mentions<'_>, out: &mut Vec<Finding>) {
    for t in toks {
        let s = t.text;
        if !(s.len() == 6 || s.len() == 8) || !s.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let (start, end) = (t.range.start, t.range.end);
        let near = mentions
            .last(List::Otp, back(text, start, 40)..start)
            .is_some()
            || mentions
                .last(List::Otp, end..ahead(text, end, 25))
                .is_some();
        if near {
            out.push(Finding {
                kind: SecretKind::OneTimeCode,
                range: t.range.clone(),
            });
        }
    }
}

/// Every secret in `text`, in order, without overlaps (the earlier or longer one wins).
pub fn find(text: &str) -> Vec<Finding> {
    let toks = tokens(text);
    let mentions = Mentions::new(text);
    let mut all = Vec::new();
    seed_phrases(text, &toks, &mut all);
    unspaced_chinese_phrases(text, &toks, &mentions, &mut all);
    private_keys(text, &toks, &mentions, &mut all);
    one_time_codes(text, &toks, &mentions, &mut all);
    all.sort_by_key(|f| (f.range.start, std::cmp::Reverse(f.range.end)));
    let mut out: Vec<Finding> = Vec::with_capacity(all.len());
    for f in all {
        if out.last().is_none_or(|l| f.range.start >= l.range.end) {
            out.push(f);
        }
    }
    out
}

/// `text` with every secret replaced by its marker.
pub fn redact(text: &str) -> Redacted {
    let found = find(text);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut kinds = Vec::new();
    for f in &found {
        out.push_str(&text[at..f.range.start]);
        out.push_str(&f.kind.marker());
        at = f.range.end;
        kinds.push(f.kind);
    }
    out.push_str(&text[at..]);
    kinds.sort();
    kinds.dedup();
    Redacted { text: out, kinds }
}

/// The warning sent to the customer at once, in the ticket's language (`zh…` or English).
pub fn customer_warning(language: &str, kinds: &[SecretKind]) -> String {
    let zh = language.starts_with("zh");
    let what: Vec<&str> = kinds.iter().map(|k| k.label(zh)).collect();
    if zh {
        format!(
            "安全提醒：您发送的内容中含有疑似{}的信息。我们已在保存前将其删除，客服人员看不到它。\
             客服永远不会向您索要助记词、私钥或二次验证码，任何索要这些信息的人都是骗子。\
             看到过它的人都可能转走您的资产：请立即把资产转移到一个新钱包；如果您发送了验证码，请马上修改密码并重置二次验证。",
            what.join("、")
        )
    } else {
        format!(
            "Security warning: your message contained what looks like a {}. We removed it before \
             storing your message, and no support agent can see it. Support will never ask for \
             your seed phrase, private keys or 2FA codes; anyone who does is a scammer. Anyone who \
             has seen it can take your funds: move them to a new wallet now, and if you sent a \
             2FA code, change your password and reset your 2FA.",
            what.join(" and a ")
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const EN12: &str =
        "abandon ability able about above absent absorb abstract absurd abuse access accident";
    const ZH12: &str = "的 一 是 在 不 了 有 和 人 这 中 大";

    fn kinds(text: &str) -> Vec<SecretKind> {
        redact(text).kinds
    }

    #[test]
    fn english_seed_phrase_is_removed() {
        let text = format!("Hi, my wallet words are {EN12}. Please help!");
        let r = redact(&text);
        assert_eq!(r.kinds, vec![SecretKind::SeedPhrase]);
        assert!(!r.text.contains("abandon"), "{}", r.text);
        assert!(
            r.text
                .starts_with("Hi, my wallet words are [secret removed")
        );
        assert!(r.text.ends_with(". Please help!"));
    }

    #[test]
    fn numbered_capitalised_24_word_phrase_is_one_finding() {
        let words: Vec<&str> = EN12.split(' ').chain(EN12.split(' ')).collect();
        let text: String = words
            .iter()
            .enumerate()
            .map(|(i, w)| format!("{}. {}\n", i + 1, w.to_uppercase()))
            .collect();
        let f = find(&text);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, SecretKind::SeedPhrase);
        assert!(redact(&text).text.trim_end().ends_with(']'));
    }

    #[test]
    fn eleven_words_are_not_a_phrase() {
        let eleven: Vec<&str> = EN12.split(' ').take(11).collect();
        assert!(find(&eleven.join(" ")).is_empty());
    }

    #[test]
    fn chinese_seed_phrase_is_removed() {
        let text = format!("我的助记词是：{ZH12}，帮我看看");
        let r = redact(&text);
        assert_eq!(r.kinds, vec![SecretKind::SeedPhrase]);
        assert!(!r.text.contains("的 一 是"), "{}", r.text);
        assert!(r.text.starts_with("我的助记词是："));
        assert!(r.text.ends_with("，帮我看看"));
    }

    /// BIP-39's all-zero entropy, in the Chinese list (the same vector as English's
    /// "abandon … about"), and 24 words made by the bip39 crate from fixed entropy.
    #[test]
    fn unspaced_chinese_seed_phrases_are_removed() {
        let zero = "的的的的的的的的的的的在";
        for text in [
            zero.to_owned(),
            format!("我的钱包：{zero}，帮我看看"),
            format!("help me {zero} thanks"),
        ] {
            let r = redact(&text);
            assert_eq!(r.kinds, vec![SecretKind::SeedPhrase], "{text}");
            assert!(!r.text.contains("的的的"), "{}", r.text);
        }
        let m24 = bip39::Mnemonic::from_entropy_in(bip39::Language::SimplifiedChinese, &[0x7f; 32])
            .unwrap()
            .to_string()
            .replace(' ', "");
        assert_eq!(m24.chars().count(), 24);
        let text = format!("帮我查一下这是不是我的{m24}。");
        let r = redact(&text);
        assert_eq!(r.kinds, vec![SecretKind::SeedPhrase], "{text}");
        // In groups of four, the way a phrase is copied off a backup card.
        let grouped: String = m24
            .chars()
            .collect::<Vec<_>>()
            .chunks(4)
            .map(|c| c.iter().collect::<String>())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            redact(&grouped).kinds,
            vec![SecretKind::SeedPhrase],
            "{grouped}"
        );
        let beside = format!("我的钱包 {grouped} 余额没了");
        let r = redact(&beside);
        assert_eq!(r.kinds, vec![SecretKind::SeedPhrase], "{beside}");
        assert!(
            r.text.starts_with("我的钱包 ") && r.text.ends_with(" 余额没了"),
            "{}",
            r.text
        );
        let lines = format!("我的钱包\n{zero}\n余额没了，怎么办");
        assert_eq!(
            redact(&lines).kinds,
            vec![SecretKind::SeedPhrase],
            "{lines}"
        );
        // Named as a mnemonic, a phrase with a typo (no valid checksum) still goes.
        let typo = format!("我的助记词是{}", &ZH12.replace(' ', ""));
        let r = redact(&typo);
        assert_eq!(r.kinds, vec![SecretKind::SeedPhrase], "{typo}");
        assert!(r.text.starts_with("我的助记"), "{}", r.text);
        let r = redact(&format!("助记词：{}", ZH12.replace(' ', "")));
        assert_eq!(r.kinds, vec![SecretKind::SeedPhrase]);
    }

    #[test]
    fn ordinary_chinese_prose_is_not_a_phrase() {
        let text = "您好，我在三天前从另一个交易所提币到这里，但是一直没有到账，请问是什么原因？\
                    我已经等了很久了，这是我的提币记录，麻烦帮我查一下，谢谢。";
        assert!(find(text).is_empty(), "{:?}", find(text));
        for text in [
            "我没有泄露助记词，但是我的账户被冻结了不知道为什么我没有做任何违规的事情",
            "我的助记词已经被别人知道了所以我的钱被偷走了请帮我查一下是怎么回事",
            "客服问我要助记词我没有给他因为我知道这是骗子常用的方法",
            "我的账户被冻结了，不知道为什么，我没有做任何违规的事情，请尽快帮我解决这个问题",
            "提现已经过去十二个小时了还没有到账，客服也没有回复，我很着急，这是我全部的钱",
            "我想问一下这个币为什么不能充值到我的地址上面去了，是不是网络有问题还是什么",
        ] {
            assert!(find(text).is_empty(), "{text}: {:?}", find(text));
        }
    }

    #[test]
    fn ordinary_english_prose_is_not_a_phrase() {
        let text = "Hello, I made a deposit of 2.5 ETH to my account three days ago and it still \
                    has not arrived. The transaction shows success on the explorer. Can you \
                    check what happened and when the balance will update? Thank you for your help.";
        assert!(find(text).is_empty(), "{:?}", find(text));
    }

    #[test]
    fn labelled_hex_private_key_is_removed_in_both_languages() {
        let key = "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";
        for text in [
            format!("my private key: 0x{key}"),
            format!("Here is my privkey {key} please recover"),
            format!("这是我的私钥{key}"),
            format!("私钥：0x{key}，请帮我找回"),
        ] {
            let r = redact(&text);
            assert_eq!(r.kinds, vec![SecretKind::PrivateKey], "{text}");
            assert!(!r.text.contains(key), "{text}");
        }
    }

    #[test]
    fn hashes_and_addresses_are_not_secrets() {
        let hash = "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060";
        let btc = "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";
        for text in [
            format!("tx hash {hash}"),
            format!("My deposit {hash} has not arrived"),
            btc.to_string(),
            format!("交易哈希：{hash}，没有到账"),
            format!("I lost my private key? no! the tx is {hash}"),
            "to 0x52908400098527886E0F7030069857D2E4169EE7 from bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq".into(),
            "TRON TN3W4H6rK2ce4vX9YnFQHwKENnHjoxb3m9 and Solana 4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T".into(),
            "Solana signature 5VERv8NMvzbJMEkV8xnrLkEaWRtSz9CosKDYjCJjBRnbJLgp8uirBgmQpjKhoR4tjF3ZpRzrFmBV6UjKdiSZkQUW".into(),
            "legacy address 1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2 and 3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy".into(),
        ] {
            assert!(find(&text).is_empty(), "{text}: {:?}", find(&text));
        }
    }

    #[test]
    fn wif_and_extended_keys_need_no_label() {
        // Well-known test vectors (bitcoin wiki / BIP-32), not anyone's funds.
        for key in [
            "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ",
            "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617",
            "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TGtRBeJgk33yuGBxrMPHi",
        ] {
            let text = format!("is this right? {key}");
            assert_eq!(kinds(&text), vec![SecretKind::PrivateKey], "{key}");
        }
    }

    #[test]
    fn one_time_codes_need_context_in_both_languages() {
        for text in [
            "My 2FA code is 492817",
            "google authenticator: 492817",
            "492817 is the OTP you asked for",
            "我的谷歌验证码是492817",
            "验证码：49281735",
        ] {
            assert_eq!(kinds(text), vec![SecretKind::OneTimeCode], "{text}");
        }
        for text in [
            "order 492817 is stuck",
            "I deposited 100000 USDT at block 19283746",
            "订单号 492817 一直没有到账",
        ] {
            assert!(find(text).is_empty(), "{text}");
        }
    }

    #[test]
    fn several_kinds_are_all_reported() {
        let text = format!("{EN12}\n2fa code 123456");
        assert_eq!(
            kinds(&text),
            vec![SecretKind::SeedPhrase, SecretKind::OneTimeCode]
        );
    }

    #[test]
    fn warning_speaks_the_ticket_language() {
        let en = customer_warning("en", &[SecretKind::SeedPhrase]);
        assert!(en.contains("seed phrase") && en.contains("new wallet"));
        let zh = customer_warning("zh-CN", &[SecretKind::PrivateKey, SecretKind::OneTimeCode]);
        assert!(zh.contains("私钥、二次验证码") && zh.contains("新钱包"));
    }

    /// The checksum check agrees with the bip39 crate's parser: valid mnemonics of every length
    /// in both Chinese lists, the same with one word changed, and runs of list characters.
    #[test]
    fn chinese_checksum_agrees_with_bip39() {
        let by_bip39 = |chars: &[char]| {
            let words = chars
                .iter()
                .map(char::to_string)
                .collect::<Vec<_>>()
                .join(" ");
            [
                bip39::Language::SimplifiedChinese,
                bip39::Language::TraditionalChinese,
            ]
            .into_iter()
            .any(|l| bip39::Mnemonic::parse_in_normalized(l, &words).is_ok())
        };
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let list: Vec<char> = CHINESE.iter().copied().collect();
        let mut valid = 0;
        for round in 0..400 {
            let len = [16, 20, 24, 28, 32][round % 5];
            let lang = if round % 2 == 0 {
                bip39::Language::SimplifiedChinese
            } else {
                bip39::Language::TraditionalChinese
            };
            let entropy: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let m = bip39::Mnemonic::from_entropy_in(lang, &entropy).unwrap();
            let mut chars: Vec<char> = m.words().filter_map(|w| w.chars().next()).collect();
            assert!(chinese_mnemonic(&chars), "{chars:?}");
            valid += 1;
            let at = next() as usize % chars.len();
            chars[at] = list[next() as usize % list.len()];
            assert_eq!(chinese_mnemonic(&chars), by_bip39(&chars), "{chars:?}");
            let n = [11, 12, 13, 15, 18, 21, 24][round % 7];
            let run: Vec<char> = (0..n).map(|_| list[next() as usize % list.len()]).collect();
            assert_eq!(chinese_mnemonic(&run), by_bip39(&run), "{run:?}");
        }
        assert_eq!(valid, 400);
        assert!(!chinese_mnemonic(&['的', 'a', '一']));
    }

    /// Found by xdesk-fuzz: `before` counted every character of the text ahead of each code or
    /// key it looked at, so a message of many 6-digit codes or hex keys took time quadratic in
    /// its length (and the Chinese checksum, checked by the bip39 crate, made runs of list
    /// characters slow). Scanning one 256 KiB text must cost about as much as scanning a 32 KiB
    /// part of it 8 times (quadratic: 8 times as much). The bound (3) leaves room for noise;
    /// CPU time is measured where Linux gives it (other processes on a busy machine do not
    /// count), and the fastest of three runs counts.
    #[test]
    fn scan_time_is_linear_in_the_text() {
        for unit in [
            "private key 4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b\n",
            "2fa code 123456 ",
            "验证码123456，",
        ] {
            let small = unit.repeat(32 * 1024 / unit.len());
            let large = small.repeat(8);
            let ratio = crate::growth::growth(&small, &large, 8, |t| {
                find(t);
            });
            assert!(
                ratio < 3.0,
                "{unit:?}: 256 KiB cost {ratio:.1} x 8 x 32 KiB"
            );
        }
    }

    /// Found by xdesk-fuzz: 64 KiB of `123456 ` took 44-62 ms, half of it building a string
    /// searcher per keyword for each code (the window before and after every code searched
    /// for each of 30 keywords), and a text of short runs of Chinese list characters ("的的�"
    /// repeated) searched the lead of every run though none could be a phrase. The keywords
    /// are now found in one pass over the text, made only when a candidate asks.
    #[test]
    fn keywords_are_searched_once_per_scan() {
        let passes = |text: &str| {
            KEYWORD_PASSES.with(|p| p.set(0));
            let found = find(text);
            (KEYWORD_PASSES.with(std::cell::Cell::get), found.len())
        };
        assert_eq!(passes(&"123456 ".repeat(2000)), (1, 0));
        assert_eq!(passes(&"2fa code 123456 ".repeat(1000)), (1, 1000));
        let keys = "private key 4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b\n";
        assert_eq!(passes(&keys.repeat(500)), (1, 500));
        // Nothing that asks: no pass at all.
        assert_eq!(passes(&"的的\u{fffd}".repeat(5000)), (0, 0));
        assert_eq!(passes(&"my deposit is late. ".repeat(1000)), (0, 0));
    }

    /// [`Mentions`] gives what searching each window lowercased gave, for windows before and
    /// after every position of texts mixing keywords of every list, characters whose lowercase
    /// is longer or ASCII (İ, the Kelvin sign) and the final sigma.
    #[test]
    fn mentions_agree_with_searching_each_window() {
        let parts = [
            "private key",
            "Private \u{212a}ey",
            "PRIVKEY",
            "tx",
            "TXID",
            "hash",
            "哈希",
            "私钥",
            "私",
            "钥",
            "助记词",
            "seed",
            "SEED",
            "2fa",
            "otp",
            "验证码",
            "İ",
            "Σ",
            "ς",
            "a",
            " ",
            "\n",
            "1",
            "的",
            "是",
            "block",
            "google auth",
            "one-time",
            "。",
        ];
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        for _ in 0..300 {
            let text: String = (0..next() % 40)
                .map(|_| parts[next() % parts.len()])
                .collect();
            let m = Mentions::new(&text);
            let bounds: Vec<usize> = text
                .char_indices()
                .map(|(i, _)| i)
                .chain([text.len()])
                .collect();
            for &at in &bounds {
                for n in [0, 1, 3, 16, 25, 40, 60] {
                    let from = back(&text, at, n);
                    let window = before(&text, at, n);
                    for (list, words) in [List::Seed, List::Key, List::Hash, List::Otp]
                        .into_iter()
                        .zip(LISTS)
                    {
                        let found = m.last(list, from..at).map(|end| end - m.low(from));
                        assert_eq!(found, last_mention(&window, words), "{text:?} {at} {n}");
                        let to = ahead(&text, at, n);
                        let after: String = text[at..]
                            .chars()
                            .take(n)
                            .collect::<String>()
                            .to_lowercase();
                        let found = m.last(list, at..to).map(|end| end - m.low(at));
                        assert_eq!(found, last_mention(&after, words), "{text:?} {at} {n}");
                        if let Some(end) = m.last(list, from..at) {
                            let gap = m.lowered(end, at);
                            let old = last_mention(&window, words).map(|e| &window[e..]);
                            assert_eq!(Some(gap.chars().count()), old.map(|g| g.chars().count()));
                        }
                    }
                }
            }
        }
    }

    /// A group's spans are judged as [`chinese_mnemonic`] judges their characters, with
    /// characters of one list only, of both and of neither.
    #[test]
    fn group_spans_agree_with_the_checksum() {
        let simplified = bip39::Language::SimplifiedChinese.word_list();
        let traditional = bip39::Language::TraditionalChinese.word_list();
        let only_one: Vec<char> = simplified
            .iter()
            .chain(traditional.iter())
            .filter_map(|w| w.chars().next())
            .filter(|c| CHINESE_INDEX[c].contains(&NO_WORD))
            .collect();
        assert!(!only_one.is_empty());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed as usize
        };
        let mut passed = 0;
        for round in 0..300 {
            // Valid mnemonics in either list, then a few characters changed.
            let lang = [
                bip39::Language::SimplifiedChinese,
                bip39::Language::TraditionalChinese,
            ][round % 2];
            let entropy: Vec<u8> = (0..[16, 20, 24, 28, 32][round % 5])
                .map(|_| next() as u8)
                .collect();
            let m = bip39::Mnemonic::from_entropy_in(lang, &entropy).unwrap();
            let mut chars: Vec<char> = m.words().filter_map(|w| w.chars().next()).collect();
            for _ in 0..round % 3 {
                let at = next() % chars.len();
                chars[at] = match next() % 3 {
                    0 => only_one[next() % only_one.len()],
                    1 => '圄',
                    _ => simplified[next() % 2048].chars().next().unwrap(),
                };
            }
            let text: String = chars.iter().collect();
            let toks = tokens(&text);
            let g: Vec<&Token<'_>> = toks.iter().collect();
            let gc = GroupChars::new(&g);
            for n in [12, 15, 18, 21, 24] {
                for from in 0..=chars.len().saturating_sub(n) {
                    if from + n > chars.len() {
                        continue;
                    }
                    let want = chinese_mnemonic(&chars[from..from + n]);
                    assert_eq!(gc.mnemonic(from, n), want, "{text} {from} {n}");
                    passed += usize::from(want);
                }
            }
        }
        assert!(passed >= 100, "{passed}");
    }

    #[test]
    fn before_reads_the_last_characters() {
        let text = "私钥是 Private Key: ab";
        let at = text.len() - 2;
        assert_eq!(before(text, at, 5), "key: ");
        assert_eq!(before(text, at, 4), "ey: ");
        assert_eq!(before(text, at, 100), "私钥是 private key: ");
        assert_eq!(before(text, at, 0), "");
        assert_eq!(before(text, 0, 10), "");
        assert_eq!(before(text, 3, 1), "私");
    }
}
