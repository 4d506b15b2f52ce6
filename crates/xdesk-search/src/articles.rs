//! The knowledge-base index: one document per article and language, title weighted above tags
//! and tags above the body, ranked by BM25. English words no article has also match with one
//! typo; hashes and addresses match exactly. Derived from the database: rebuilt or followed, never the truth.

use crate::analyzer::words;
use std::path::Path;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, STORED, STRING, Schema, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{IndexReader, IndexWriter, TantivyDocument, Term, doc};

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index directory: {0}")]
    Directory(#[from] tantivy::directory::error::OpenDirectoryError),
}

/// An article in one language, as indexed.
#[derive(Debug, Clone)]
pub struct ArticleDoc {
    pub slug: String,
    pub language: String,
    pub category: String,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    /// Markdown; indexed and shown in snippets as plain text.
    pub body: String,
    /// Published and public: what customers may find.
    pub public: bool,
}

/// A search result.
#[derive(Debug, Clone, PartialEq)]
pub struct ArticleHit {
    pub slug: String,
    pub language: String,
    pub title: String,
    pub score: f32,
    /// The best passage of the body, HTML-escaped, matches in `<b>`.
    pub snippet: String,
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct ArticleQuery<'a> {
    pub text: &'a str,
    pub language: Option<&'a str>,
    pub category: Option<&'a str>,
    /// Agents also find internal and draft articles.
    pub include_internal: bool,
    pub limit: usize,
}

#[derive(Clone, Copy)]
struct Fields {
    key: Field,
    slug: Field,
    language: Field,
    category: Field,
    public: Field,
    title: Field,
    tags: Field,
    body: Field,
}

/// Field weights: a word in the title counts three times one in the body.
const TITLE_BOOST: f32 = 3.0;
const TAGS_BOOST: f32 = 2.0;
/// A word matched only with a typo counts less than the word itself.
const FUZZY_BOOST: f32 = 0.4;

pub struct ArticleIndex {
    reader: IndexReader,
    writer: IndexWriter,
    f: Fields,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = crate::text_field;
    let f = Fields {
        key: b.add_text_field("key", STRING),
        slug: b.add_text_field("slug", STRING | STORED),
        language: b.add_text_field("language", STRING | STORED),
        category: b.add_text_field("category", STRING),
        public: b.add_text_field("public", STRING),
        title: b.add_text_field("title", text(true)),
        tags: b.add_text_field("tags", text(false)),
        body: b.add_text_field("body", text(true)),
    };
    (b.build(), f)
}

/// The words of a Markdown text without its marks, so snippets read as prose.
pub fn plain_text(markdown: &str) -> String {
    use pulldown_cmark::{Event, Parser, TagEnd};
    let mut out = String::with_capacity(markdown.len());
    for e in Parser::new(markdown) {
        match e {
            Event::Text(t) | Event::Code(t) => out.push_str(&t),
            Event::SoftBreak | Event::HardBreak => out.push(' '),
            Event::End(
                TagEnd::Paragraph | TagEnd::Heading(_) | TagEnd::Item | TagEnd::TableCell,
            ) => {
                out.push(' ');
            }
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Writer memory: enough for the demo and large imports alike on a small machine.
const WRITER_BYTES: usize = 20_000_000;

impl ArticleIndex {
    /// An index in memory: for tests and small knowledge bases.
    pub fn in_memory() -> Result<Self, SearchError> {
        Self::at(None)
    }

    /// The index in `dir`, made if new.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        Self::at(Some(dir))
    }

    fn at(dir: Option<&Path>) -> Result<Self, SearchError> {
        let (schema, f) = schema();
        let (_, reader, writer) = crate::open_index(dir, schema, WRITER_BYTES)?;
        Ok(Self { reader, writer, f })
    }

    /// Adds or replaces articles (by slug and language) and makes them searchable.
    pub fn upsert(&mut self, docs: &[ArticleDoc]) -> Result<(), SearchError> {
        let f = self.f;
        for d in docs {
            let key = format!("{}:{}", d.slug, d.language);
            self.writer.delete_term(Term::from_field_text(f.key, &key));
            self.writer.add_document(doc!(
                f.key => key,
                f.slug => d.slug.clone(),
                f.language => d.language.clone(),
                f.category => d.category.clone(),
                f.public => if d.public { "1" } else { "0" },
                f.title => d.title.clone(),
                f.tags => format!("{} {}", d.tags.join(" "), d.description),
                f.body => plain_text(&d.body),
            ))?;
        }
        self.writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    /// Replaces everything with `docs` in one commit: searches see the old set until the new
    /// one is complete.
    pub fn replace_all(&mut self, docs: &[ArticleDoc]) -> Result<(), SearchError> {
        self.writer.delete_all_documents()?;
        self.upsert(docs)
    }

    /// Removes an article in one language.
    pub fn remove(&mut self, slug: &str, language: &str) -> Result<(), SearchError> {
        let key = format!("{slug}:{language}");
        self.writer
            .delete_term(Term::from_field_text(self.f.key, &key));
        self.writer.commit()?;
        self.reader.reload()?;
        Ok(())
    }

    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn query(&self, q: &ArticleQuery<'_>) -> Option<BooleanQuery> {
        let f = self.f;
        let mut words = words(q.text);
        words.sort();
        words.dedup();
        if words.is_empty() {
            return None;
        }
        let searcher = self.reader.searcher();
        let unknown: Vec<&String> = words
            .iter()
            .filter(|w| {
                [f.title, f.body].iter().all(|field| {
                    searcher
                        .doc_freq(&Term::from_field_text(*field, w))
                        .is_ok_and(|n| n == 0)
                })
            })
            .collect();
        let mut should: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for w in &words {
            for (field, boost) in [(f.title, TITLE_BOOST), (f.tags, TAGS_BOOST), (f.body, 1.0)] {
                let term = Term::from_field_text(field, w);
                should.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs)),
                        boost,
                    )),
                ));
                // An English word of five letters or more that no article has is likely a
                // typo: it also matches with one. (Fuzzy matching is costly; known words skip it.)
                if w.len() >= 5
                    && w.chars().all(|c| c.is_ascii_alphabetic())
                    && unknown.contains(&w)
                {
                    should.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(FuzzyTermQuery::new(term, 1, true)),
                            boost * FUZZY_BOOST,
                        )),
                    ));
                }
            }
        }
        let mut must: Vec<(Occur, Box<dyn Query>)> =
            vec![(Occur::Must, Box::new(BooleanQuery::new(should)))];
        let mut filter = |field: Field, value: &str| {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_text(field, value),
                    IndexRecordOption::Basic,
                )),
            ));
        };
        if let Some(l) = q.language {
            filter(f.language, l);
        }
        if let Some(c) = q.category {
            filter(f.category, c);
        }
        if !q.include_internal {
            filter(f.public, "1");
        }
        Some(BooleanQuery::new(must))
    }

    /// The best articles for `q`, best first.
    pub fn search(&self, q: &ArticleQuery<'_>) -> Result<Vec<ArticleHit>, SearchError> {
        let Some(query) = self.query(q) else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let limit = q.limit.clamp(1, 100);
        let top = searcher.search(&query, &TopDocs::with_limit(limit).order_by_score())?;
        let snippets = SnippetGenerator::create(&searcher, &query, self.f.body)?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let d: TantivyDocument = searcher.doc(address)?;
            let text = |field: Field| {
                d.get_first(field)
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_owned()
            };
            hits.push(ArticleHit {
                slug: text(self.f.slug),
                language: text(self.f.language),
                title: text(self.f.title),
                score,
                snippet: snippets.snippet_from_doc(&d).to_html(),
            });
        }
        Ok(hits)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn article(slug: &str, language: &str, title: &str, body: &str, public: bool) -> ArticleDoc {
        ArticleDoc {
            slug: slug.into(),
            language: language.into(),
            category: "deposits".into(),
            title: title.into(),
            description: String::new(),
            tags: Vec::new(),
            body: body.into(),
            public,
        }
    }

    fn index() -> ArticleIndex {
        let mut i = ArticleIndex::in_memory().unwrap();
        i.upsert(&[
            article(
                "deposit-not-credited",
                "en",
                "Deposit not credited",
                "Check the confirmations of your deposit.",
                true,
            ),
            article(
                "deposit-not-credited",
                "zh",
                "充值未到账",
                "请查看充值记录和区块确认数。",
                true,
            ),
            article(
                "withdrawal-pending",
                "en",
                "Withdrawal pending",
                "Withdrawals are reviewed for security.",
                true,
            ),
            article(
                "agent-recovery",
                "en",
                "Agent procedure: deposit recovery",
                "Internal steps for deposits.",
                false,
            ),
        ])
        .unwrap();
        i
    }

    fn slugs(i: &ArticleIndex, text: &str, language: &str, internal: bool) -> Vec<String> {
        i.search(&ArticleQuery {
            text,
            language: Some(language),
            include_internal: internal,
            limit: 5,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|h| h.slug)
        .collect()
    }

    #[test]
    fn finds_in_each_language_with_typos_and_keeps_internal_articles_for_agents() {
        let i = index();
        assert_eq!(
            slugs(&i, "我的充值没到账", "zh", false),
            ["deposit-not-credited"]
        );
        assert_eq!(
            slugs(&i, "withdrawl pending", "en", false)[0],
            "withdrawal-pending"
        );
        assert_eq!(slugs(&i, "depost", "en", false), ["deposit-not-credited"]);
        assert!(!slugs(&i, "deposit recovery", "en", false).contains(&"agent-recovery".to_owned()));
        assert_eq!(
            slugs(&i, "deposit recovery", "en", true)[0],
            "agent-recovery"
        );
        assert!(slugs(&i, "？！", "en", false).is_empty());
    }

    #[test]
    fn replacing_an_article_does_not_duplicate_it() {
        let mut i = index();
        let n = i.len();
        i.upsert(&[article(
            "withdrawal-pending",
            "en",
            "Withdrawal under review",
            "Reviews.",
            true,
        )])
        .unwrap();
        assert_eq!(i.len(), n);
        i.remove("withdrawal-pending", "en").unwrap();
        assert_eq!(i.len(), n - 1);
    }

    #[test]
    fn markdown_marks_are_not_in_the_text() {
        assert_eq!(
            plain_text("## Steps\n\n1. Open **Assets > Deposit**\n2. Copy `0xabc`"),
            "Steps Open Assets > Deposit Copy 0xabc"
        );
    }

    #[test]
    fn snippets_mark_the_words_found() {
        let i = index();
        let hits = i
            .search(&ArticleQuery {
                text: "confirmations",
                language: Some("en"),
                limit: 1,
                ..Default::default()
            })
            .unwrap();
        assert!(
            hits[0].snippet.contains("<b>confirmations</b>"),
            "{}",
            hits[0].snippet
        );
    }
}
