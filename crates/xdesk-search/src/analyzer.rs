//! One analyzer for both languages, the same at index and query time. Chinese runs are
//! segmented with jieba (search mode, so both "提现" and "提现记录" match), other runs split on
//! anything not alphanumeric (tantivy's `AlphaNumOnlyFilter` would drop every Chinese token),
//! lowercased, and English words stemmed. Long alphanumeric strings (transaction hashes,
//! addresses) are kept whole and unstemmed, so searching one finds it exactly.

use jieba_rs::Jieba;
use std::sync::LazyLock;
use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, Token, TokenStream, Tokenizer};

/// The name the analyzer is registered under in every index.
pub const ANALYZER: &str = "xdesk_mixed";

static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

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
fn looks_like_identifier(word: &str) -> bool {
    word.len() >= 16 && word.chars().any(|c| c.is_ascii_digit())
}

fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}' | '\u{f900}'..='\u{faff}'
        | '\u{20000}'..='\u{2a6df}')
}

/// Splits text into lowercased words, Chinese segmented, before stemming.
#[derive(Clone, Default)]
pub struct MixedTokenizer {
    tokens: Vec<Token>,
}

pub struct MixedTokenStream<'a> {
    tokens: &'a mut [Token],
    at: Option<usize>,
}

impl TokenStream for MixedTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let next = self.at.map_or(0, |i| i + 1);
        self.at = Some(next);
        next < self.tokens.len()
    }

    // tantivy calls these only after `advance` returned true.
    fn token(&self) -> &Token {
        &self.tokens[self.at.unwrap_or(0)]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.at.unwrap_or(0)]
    }
}

impl MixedTokenizer {
    fn push(&mut self, text: &str, from: usize, to: usize) {
        let word = text.to_lowercase();
        if word.is_empty() || STOPWORDS.contains(&word.as_str()) {
            return;
        }
        let word = if word.is_ascii() && !looks_like_identifier(&word) {
            stem(&word)
        } else {
            word
        };
        let position = self.tokens.len();
        self.tokens.push(Token {
            offset_from: from,
            offset_to: to,
            position,
            text: word,
            position_length: 1,
        });
    }

    fn cut(&mut self, text: &str) {
        self.tokens.clear();
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
                    self.push(w.word, s + at(w.start), s + at(w.end));
                }
            } else {
                self.push(run, s, e);
            }
        }
        // Search mode gives a long word after its parts; snippets need tokens in text order.
        self.tokens.sort_by_key(|t| (t.offset_from, t.offset_to));
        for (i, t) in self.tokens.iter_mut().enumerate() {
            t.position = i;
        }
    }
}

fn stem(word: &str) -> String {
    thread_local! {
        static STEMMER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(
            TextAnalyzer::builder(tantivy::tokenizer::RawTokenizer::default())
                .filter(Stemmer::new(Language::English))
                .build(),
        );
    }
    STEMMER.with(|s| {
        let mut s = s.borrow_mut();
        let mut stream = s.token_stream(word);
        if stream.advance() {
            stream.token().text.clone()
        } else {
            word.to_owned()
        }
    })
}

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = MixedTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MixedTokenStream<'a> {
        self.cut(text);
        MixedTokenStream {
            tokens: &mut self.tokens,
            at: None,
        }
    }
}

/// The analyzer to register in an index under [`ANALYZER`].
pub fn analyzer() -> TextAnalyzer {
    TextAnalyzer::from(MixedTokenizer::default())
}

/// The words `text` is indexed or searched by.
pub fn words(text: &str) -> Vec<String> {
    let mut t = MixedTokenizer::default();
    t.cut(text);
    t.tokens.into_iter().map(|t| t.text).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::words;

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
    fn offsets_point_into_the_text_in_order() {
        let text = "中国科学院的提现记录 pending";
        let mut t = super::MixedTokenizer::default();
        t.cut(text);
        for tok in &t.tokens {
            assert!(text.get(tok.offset_from..tok.offset_to).is_some());
        }
        assert!(
            t.tokens
                .windows(2)
                .all(|w| w[0].offset_from <= w[1].offset_from)
        );
    }
}
