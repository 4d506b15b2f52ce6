//! Words of Chinese and English text, the same everywhere xdesk reads text (search indexes and
//! queries, triage). Chinese runs are segmented with jieba (search mode, so both "提现" and
//! "提现记录" are words), other runs split on anything not alphanumeric, lowercased, and English
//! words stemmed. Long alphanumeric strings (transaction hashes, addresses) are kept whole and
//! unstemmed. Words too common to mean anything are dropped.

use jieba_rs::Jieba;
use std::sync::LazyLock;

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);
static STEMMER: LazyLock<frostem::Stemmer> =
    LazyLock::new(|| frostem::Stemmer::new(frostem::Algorithm::English));

/// Words too common to help a search, in either language.
const STOPWORDS: &[&str] = &[
    "a",
    "an",
    "the",
    "and",
    "or",
    "of",
    "to",
    "in",
    "on",
    "for",
    "is",
    "are",
    "was",
    "be",
    "it",
    "my",
    "i",
    "me",
    "you",
    "your",
    "we",
    "our",
    "this",
    "that",
    "with",
    "at",
    "by",
    "do",
    "does",
    "did",
    "can",
    "how",
    "what",
    "why",
    "when",
    "where",
    "there",
    "have",
    "has",
    "的",
    "了",
    "在",
    "是",
    "我",
    "我的",
    "你",
    "您",
    "吗",
    "呢",
    "啊",
    "吧",
    "呀",
    "和",
    "与",
    "怎么",
    "怎么办",
    "怎样",
    "如何",
    "为什么",
    "什么",
    "一直",
    "还",
    "就",
    "都",
    "也",
    "请问",
    "一下",
    "这个",
    "那个",
    "已经",
    "可以",
    "能",
    "要",
    "会",
    "把",
    "被",
    "给",
    "有",
    "没",
];

/// Hashes and addresses: kept whole, never stemmed.
pub fn is_identifier(word: &str) -> bool {
    word.len() >= 16 && word.chars().any(|c| c.is_ascii_digit())
}

/// The fewest characters of a hash or address (after any `0x`) looked up as a prefix: agents
/// paste the first 8 or more; fewer would match unrelated cases.
pub const MIN_IDENTIFIER_PREFIX: usize = 8;

/// The lowercase forms under which a typed hash or address, whole or its first characters,
/// is looked up: hex with and without `0x` (EVM hashes carry it, Bitcoin and Tron ids do not,
/// and agents paste either), anything else as typed. Empty for a word that does not look like
/// one (it needs a digit, or a `0x` before hex) or is shorter than [`MIN_IDENTIFIER_PREFIX`].
pub fn identifier_forms(word: &str) -> Vec<String> {
    let hex = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !word.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Vec::new();
    }
    let lower = word.to_ascii_lowercase();
    let bare = match lower.strip_prefix("0x") {
        Some(digits) if hex(digits) => digits,
        _ if lower.bytes().any(|b| b.is_ascii_digit()) => &lower,
        _ => return Vec::new(),
    };
    if bare.len() < MIN_IDENTIFIER_PREFIX {
        Vec::new()
    } else if hex(bare) {
        vec![bare.to_owned(), format!("0x{bare}")]
    } else {
        vec![bare.to_owned()]
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}'
        | '\u{20000}'..='\u{2a6df}')
}

/// The longest word (in bytes) that is stemmed; longer ones are kept as they are. English words
/// are far shorter, and the stemmer copies the whole word for each change it makes (each `y`
/// after a vowel becomes `Y` first), so 64 KiB of `y` took 100-180 ms, growing with the square
/// of the length.
pub const MAX_STEMMED_LEN: usize = 64;

/// A word and the byte range of the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub from: usize,
    pub to: usize,
}

fn push(out: &mut Vec<Word>, text: &str, from: usize, to: usize) {
    let word = text.to_lowercase();
    if word.is_empty() || STOPWORDS.contains(&word.as_str()) {
        return;
    }
    let word = if word.is_ascii() && word.len() <= MAX_STEMMED_LEN && !is_identifier(&word) {
        STEMMER.stem(&word).into_owned()
    } else {
        word
    };
    out.push(Word {
        text: word,
        from,
        to,
    });
}

/// The words of `text` with their byte ranges, in text order.
pub fn words_at(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    // Runs of Chinese, and runs of other letters and digits; everything else separates.
    let mut runs: Vec<(usize, usize, bool)> = Vec::new();
    for (i, c) in text.char_indices() {
        let cjk = if is_cjk(c) {
            true
        } else if c.is_alphanumeric() {
            false
        } else {
            continue;
        };
        match runs.last_mut() {
            Some((_, end, kind)) if *end == i && *kind == cjk => *end = i + c.len_utf8(),
            _ => runs.push((i, i + c.len_utf8(), cjk)),
        }
    }
    for (s, e, cjk) in runs {
        let run = &text[s..e];
        if cjk {
            let starts: Vec<usize> = run.char_indices().map(|(b, _)| b).collect();
            let at = |n: usize| starts.get(n).copied().unwrap_or(run.len());
            for w in JIEBA.cut_for_search(run, true) {
                push(&mut out, w.word, s + at(w.start), s + at(w.end));
            }
        } else {
            push(&mut out, run, s, e);
        }
    }
    // Search mode gives a long word after its parts; snippets need words in text order.
    out.sort_by_key(|w| (w.from, w.to));
    out
}

/// The words of `text`, in text order.
pub fn words(text: &str) -> Vec<String> {
    words_at(text).into_iter().map(|w| w.text).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::{MAX_STEMMED_LEN, identifier_forms, words, words_at};

    #[test]
    fn hashes_are_looked_up_with_and_without_0x_in_any_case() {
        assert_eq!(identifier_forms("0x88DF0164"), ["88df0164", "0x88df0164"]);
        assert_eq!(
            identifier_forms("88df0164ab"),
            ["88df0164ab", "0x88df0164ab"]
        );
        assert_eq!(identifier_forms("TR7NHqjeKQ"), ["tr7nhqjekq"]);
        // Too short, no digit, or not one token: not a hash or address prefix.
        for not in [
            "0x88df016",
            "88df016",
            "withdrawal",
            "deadbeefcafe",
            "0x88df-0164",
            "提现12345678",
        ] {
            assert!(identifier_forms(not).is_empty(), "{not}");
        }
        assert_eq!(identifier_forms("0xdeadbeef"), ["deadbeef", "0xdeadbeef"]);
    }

    #[test]
    fn chinese_is_segmented_and_common_words_dropped() {
        let w = words("我的USDT提现一直在处理中，怎么办？");
        assert!(w.contains(&"usdt".to_owned()), "{w:?}");
        assert!(w.contains(&"提现".to_owned()), "{w:?}");
        assert!(w.contains(&"处理".to_owned()), "{w:?}");
        for gone in ["我的", "一直", "怎么办", "，", "？"] {
            assert!(!w.contains(&gone.to_owned()), "{gone} in {w:?}");
        }
    }

    #[test]
    fn english_is_lowercased_and_stemmed() {
        assert_eq!(words("Withdrawals PENDING!"), ["withdraw", "pend"]);
        assert_eq!(
            words("deposit not credited"),
            words("Deposits not crediting")
        );
    }

    #[test]
    fn mixed_text_keeps_both_languages() {
        let w = words("USDT 提现 pending 很久");
        assert!(
            w.starts_with(&["usdt".to_owned(), "提现".to_owned(), "pend".to_owned()]),
            "{w:?}"
        );
    }

    #[test]
    fn hashes_and_addresses_stay_whole() {
        let tx = "0x88DF016429689C079F3B2F6AD39FA052532C56795B733DA78A91EBE6A713944B";
        let w = words(&format!("tx {tx} to TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"));
        assert!(w.contains(&tx.to_lowercase()), "{w:?}");
        assert!(
            w.contains(&"tr7nhqjekqxgtci8q8zy4pl8otszgjlj6t".to_owned()),
            "{w:?}"
        );
    }

    #[test]
    fn ranges_point_into_the_text_in_order() {
        let text = "中国科学院的提现记录 pending";
        let w = words_at(text);
        assert!(w.iter().all(|w| text.get(w.from..w.to).is_some()));
        assert!(w.windows(2).all(|p| p[0].from <= p[1].from));
    }

    #[test]
    fn only_words_of_english_length_are_stemmed() {
        assert_eq!(words("yyyyy crediting"), ["yyyyy", "credit"]);
        for long in [
            "y".repeat(MAX_STEMMED_LEN + 1),
            "ay".repeat(MAX_STEMMED_LEN),
            "creditings".repeat(7),
        ] {
            assert_eq!(words(&long), std::slice::from_ref(&long));
        }
    }

    #[test]
    fn words_take_time_linear_in_the_text() {
        // Found by xdesk-fuzz: the stemmer rebuilt a word for each `y` it marked, so one word
        // of 64 KiB of `y` cost 5-6x as much as eight of 8 KiB (about 1x when linear).
        for unit in ["y", "ay", "Y", "充值到账", "的", "yes 提现 "] {
            let small = unit.repeat(8_192 / unit.len());
            let g = crate::growth::growth(&small, &small.repeat(8), 8, |t| {
                std::hint::black_box(words_at(t));
            });
            assert!(g < 3.0, "{unit:?}: 64 KiB costs {g:.1}x eight times 8 KiB");
        }
    }
}
