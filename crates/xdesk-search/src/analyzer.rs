//! The search indexes' analyzer: the words of [`xdesk_domain::text`] (Chinese segmented with
//! jieba, English lowercased and stemmed, hashes and addresses whole) as a tantivy tokenizer,
//! the same at index and query time. tantivy's `AlphaNumOnlyFilter` would drop every Chinese
//! token, so the splitting is xdesk's own.

use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

/// The name the analyzer is registered under in every index.
pub const ANALYZER: &str = "xdesk_mixed";

/// Splits text into the words of [`xdesk_domain::text::words_at`].
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

impl Tokenizer for MixedTokenizer {
    type TokenStream<'a> = MixedTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> MixedTokenStream<'a> {
        self.tokens.clear();
        self.tokens.extend(
            xdesk_domain::text::words_at(text)
                .into_iter()
                .enumerate()
                .map(|(position, w)| Token {
                    offset_from: w.from,
                    offset_to: w.to,
                    position,
                    text: w.text,
                    position_length: 1,
                }),
        );
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
pub use xdesk_domain::text::words;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::analyzer;

    #[test]
    fn the_analyzer_gives_the_domain_words_with_positions() {
        let text = "USDT 提现记录 pending";
        let mut a = analyzer();
        let mut stream = a.token_stream(text);
        let mut seen = Vec::new();
        while stream.advance() {
            let t = stream.token();
            assert_eq!(t.position, seen.len());
            seen.push(t.text.clone());
        }
        assert_eq!(seen, xdesk_domain::text::words(text));
    }
}
