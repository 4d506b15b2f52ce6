//! The ticket index: subject, every message, the customer (name and identities) and the crypto
//! case fields, so a transaction hash or an address finds its tickets. Every word of a query
//! must match (in any field), ranked by BM25 with the subject and case fields above the rest. Who may see a ticket is
//! part of the query, so a search never returns a hit the caller may not open. The index
//! remembers the change-feed position it has reached (in its commit), so a node catches up
//! after a restart from where it stopped.

use crate::articles::SearchError;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use tantivy::collector::TopDocs;
use tantivy::query::{
    BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, PhrasePrefixQuery, Query, RangeQuery,
    TermQuery,
};
use tantivy::schema::{FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{IndexReader, IndexWriter, TantivyDocument, Term, doc};
use xdesk_domain::text::{identifier_forms, words_at};

/// A ticket as indexed.
#[derive(Debug, Clone, Default)]
pub struct TicketDoc {
    pub id: i64,
    pub subject: String,
    /// Every message's text, internal notes included: agents search them.
    pub messages: String,
    /// The customer's name and identities.
    pub customer: String,
    /// Network, asset, hashes, addresses, memo, amount.
    pub crypto: String,
    pub state: String,
    pub group_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub customer_id: i64,
    /// Unix seconds.
    pub created_at: i64,
}

/// Which tickets a search may return.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    /// Tickets of these groups or assigned to these agents, and those of no group when
    /// `unrouted` (supervisors).
    Restricted {
        group_ids: Vec<i64>,
        agent_ids: Vec<i64>,
        unrouted: bool,
    },
    Customer(i64),
}

#[derive(Debug, Clone)]
pub struct TicketQuery<'a> {
    pub text: &'a str,
    pub scope: &'a Scope,
    pub states: &'a [String],
    pub group_id: Option<i64>,
    /// Created within `[from, to)`, Unix seconds.
    pub created_from: Option<i64>,
    pub created_to: Option<i64>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TicketHit {
    pub id: i64,
    pub score: f32,
    /// The best passage of the messages, HTML-escaped, matches in `<b>`.
    pub snippet: String,
}

#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    subject: Field,
    messages: Field,
    customer: Field,
    crypto: Field,
    state: Field,
    group_id: Field,
    assignee_id: Field,
    customer_id: Field,
    created_at: Field,
}

/// Stands for "none" in the group and assignee fields.
const NONE: i64 = -1;

/// The ticket index's indexing arena: what it buffers before writing a segment. The feed
/// follower commits every couple of seconds, so the arena never fills in service; a bulk
/// rebuild writes a segment each time it does.
const WRITER_BYTES: usize = 40_000_000;

/// Shared by the request handlers and the feed follower without an outer lock: searches read
/// through the reader and never wait for a commit, writes take the writer's own mutex (on a
/// blocking thread), and the position is a number anyone may read at once.
pub struct TicketIndex {
    reader: IndexReader,
    writer: Mutex<IndexWriter>,
    position: AtomicI64,
    f: Fields,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let text = crate::text_field;
    let f = Fields {
        id: b.add_i64_field("id", INDEXED | STORED | FAST),
        subject: b.add_text_field("subject", text(false)),
        messages: b.add_text_field("messages", text(true)),
        customer: b.add_text_field("customer", text(false)),
        crypto: b.add_text_field("crypto", text(false)),
        state: b.add_text_field("state", STRING),
        group_id: b.add_i64_field("group_id", INDEXED),
        assignee_id: b.add_i64_field("assignee_id", INDEXED),
        customer_id: b.add_i64_field("customer_id", INDEXED),
        created_at: b.add_i64_field("created_at", INDEXED | FAST),
    };
    (b.build(), f)
}

impl TicketIndex {
    pub fn in_memory() -> Result<Self, SearchError> {
        Self::at(None)
    }

    /// The index in `dir`, made if new.
    pub fn open(dir: &Path) -> Result<Self, SearchError> {
        Self::at(Some(dir))
    }

    fn at(dir: Option<&Path>) -> Result<Self, SearchError> {
        let (schema, f) = schema();
        let (index, reader, writer) = crate::open_index(dir, schema, WRITER_BYTES)?;
        // The position is kept in the last commit's payload: 0 for a new index.
        let position = index
            .load_metas()
            .ok()
            .and_then(|m| m.payload)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Ok(Self {
            reader,
            writer: Mutex::new(writer),
            position: AtomicI64::new(position),
            f,
        })
    }

    /// The change-feed position the index has reached (committed).
    pub fn position(&self) -> i64 {
        self.position.load(Ordering::Acquire)
    }

    fn writer(&self) -> std::sync::MutexGuard<'_, IndexWriter> {
        // A panic mid-write leaves nothing half-committed: tantivy commits or not.
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds or replaces tickets (by id) and records the feed position reached, in one commit.
    /// Blocks for the commit: call it off the async threads.
    pub fn upsert(&self, docs: &[TicketDoc], position: i64) -> Result<(), SearchError> {
        let f = self.f;
        let mut writer = self.writer();
        for d in docs {
            writer.delete_term(Term::from_field_i64(f.id, d.id));
            writer.add_document(doc!(
                f.id => d.id,
                f.subject => d.subject.clone(),
                f.messages => d.messages.clone(),
                f.customer => d.customer.clone(),
                f.crypto => d.crypto.clone(),
                f.state => d.state.clone(),
                f.group_id => d.group_id.unwrap_or(NONE),
                f.assignee_id => d.assignee_id.unwrap_or(NONE),
                f.customer_id => d.customer_id,
                f.created_at => d.created_at,
            ))?;
        }
        let mut commit = writer.prepare_commit()?;
        commit.set_payload(&position.to_string());
        commit.commit()?;
        self.position.store(position, Ordering::Release);
        drop(writer);
        self.reader.reload()?;
        Ok(())
    }

    /// Empties the index, to rebuild it from the start of the feed. Blocks for the commit.
    pub fn clear(&self) -> Result<(), SearchError> {
        self.writer().delete_all_documents()?;
        self.upsert(&[], 0)
    }

    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn term(field: Field, v: i64) -> Box<dyn Query> {
        Box::new(TermQuery::new(
            Term::from_field_i64(field, v),
            IndexRecordOption::Basic,
        ))
    }

    fn query(&self, q: &TicketQuery<'_>) -> Option<BooleanQuery> {
        let f = self.f;
        // Each word with the forms a hash or address prefix is looked up by, taken from the
        // text as typed (a word is stemmed; a prefix must not be).
        let mut ws: Vec<(String, Vec<String>)> = words_at(q.text)
            .into_iter()
            .map(|w| {
                let forms = q
                    .text
                    .get(w.from..w.to)
                    .map_or_else(Vec::new, identifier_forms);
                (w.text, forms)
            })
            .collect();
        ws.sort();
        ws.dedup_by(|a, b| a.0 == b.0);
        if ws.is_empty() {
            return None;
        }
        // Every word must be found, in any field: agents search for a particular case. An
        // English word no ticket has is likely a typo: it also matches with one.
        let searcher = self.reader.searcher();
        // The subject and case fields rank above the customer, the customer above messages.
        let weighted = [
            (f.subject, 3.0),
            (f.crypto, 3.0),
            (f.customer, 2.0),
            (f.messages, 1.0),
        ];
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for (w, forms) in &ws {
            let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
            let typo = w.len() >= 5
                && w.chars().all(|c| c.is_ascii_alphabetic())
                && [f.subject, f.messages].iter().all(|field| {
                    searcher
                        .doc_freq(&Term::from_field_text(*field, w))
                        .is_ok_and(|n| n == 0)
                });
            if typo {
                for field in [f.subject, f.messages] {
                    any.push((
                        Occur::Should,
                        Box::new(FuzzyTermQuery::new(
                            Term::from_field_text(field, w),
                            1,
                            true,
                        )),
                    ));
                }
            }
            for (field, boost) in weighted {
                any.push((
                    Occur::Should,
                    Box::new(BoostQuery::new(
                        Box::new(TermQuery::new(
                            Term::from_field_text(field, w),
                            IndexRecordOption::WithFreqs,
                        )),
                        boost,
                    )),
                ));
            }
            // A pasted hash or address may be cut short or lack its `0x`: match its start.
            for form in forms {
                for (field, boost) in weighted {
                    any.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(
                            Box::new(PhrasePrefixQuery::new(vec![Term::from_field_text(
                                field, form,
                            )])),
                            boost,
                        )),
                    ));
                }
            }
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        match q.scope {
            Scope::All => {}
            Scope::Restricted {
                group_ids,
                agent_ids,
                unrouted,
            } => {
                let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
                for g in group_ids {
                    any.push((Occur::Should, Self::term(f.group_id, *g)));
                }
                if *unrouted {
                    any.push((Occur::Should, Self::term(f.group_id, NONE)));
                }
                for a in agent_ids {
                    any.push((Occur::Should, Self::term(f.assignee_id, *a)));
                }
                // Nothing visible: a clause that matches nothing.
                if any.is_empty() {
                    any.push((Occur::Should, Self::term(f.id, NONE)));
                }
                must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
            }
            Scope::Customer(c) => must.push((Occur::Must, Self::term(f.customer_id, *c))),
        }
        if !q.states.is_empty() {
            let any = q
                .states
                .iter()
                .map(|s| {
                    let t: Box<dyn Query> = Box::new(TermQuery::new(
                        Term::from_field_text(f.state, s),
                        IndexRecordOption::Basic,
                    ));
                    (Occur::Should, t)
                })
                .collect();
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if let Some(g) = q.group_id {
            must.push((Occur::Must, Self::term(f.group_id, g)));
        }
        if q.created_from.is_some() || q.created_to.is_some() {
            use std::ops::Bound;
            let lo = q.created_from.map_or(Bound::Unbounded, |v| {
                Bound::Included(Term::from_field_i64(f.created_at, v))
            });
            let hi = q.created_to.map_or(Bound::Unbounded, |v| {
                Bound::Excluded(Term::from_field_i64(f.created_at, v))
            });
            must.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        Some(BooleanQuery::new(must))
    }

    /// The best tickets for `q` within its scope, best first.
    pub fn search(&self, q: &TicketQuery<'_>) -> Result<Vec<TicketHit>, SearchError> {
        let Some(query) = self.query(q) else {
            return Ok(Vec::new());
        };
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &query,
            &TopDocs::with_limit(q.limit.clamp(1, 200)).order_by_score(),
        )?;
        let snippets = SnippetGenerator::create(&searcher, &query, self.f.messages)?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let d: TantivyDocument = searcher.doc(address)?;
            hits.push(TicketHit {
                id: d.get_first(self.f.id).and_then(|v| v.as_i64()).unwrap_or(0),
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

    const TX: &str = "0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b";

    fn docs() -> Vec<TicketDoc> {
        vec![
            TicketDoc {
                id: 1,
                subject: "USDT 提现未到账".into(),
                messages: "我的提现一直在处理中".into(),
                customer: "Alice alice@example.com U1001".into(),
                crypto: format!("ethereum USDT {TX}"),
                state: "open".into(),
                group_id: Some(10),
                customer_id: 7,
                created_at: 1_000,
                ..Default::default()
            },
            TicketDoc {
                id: 2,
                subject: "Cannot log in".into(),
                messages: "2FA code rejected after phone change".into(),
                customer: "Bob bob@example.com".into(),
                state: "new".into(),
                group_id: Some(20),
                assignee_id: Some(5),
                customer_id: 8,
                created_at: 2_000,
                ..Default::default()
            },
        ]
    }

    fn ids(i: &TicketIndex, text: &str, scope: &Scope) -> Vec<i64> {
        i.search(&TicketQuery {
            text,
            scope,
            states: &[],
            group_id: None,
            created_from: None,
            created_to: None,
            limit: 10,
        })
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
    }

    #[test]
    fn finds_by_words_hash_and_customer_within_scope() {
        let i = TicketIndex::in_memory().unwrap();
        assert_eq!(i.position(), 0);
        i.upsert(&docs(), 42).unwrap();
        assert_eq!(i.position(), 42);
        assert_eq!(ids(&i, "提现", &Scope::All), [1]);
        assert_eq!(ids(&i, &TX.to_uppercase(), &Scope::All), [1]);
        assert_eq!(ids(&i, "alice@example.com", &Scope::All), [1]);
        assert_eq!(ids(&i, "2fa phone", &Scope::All), [2]);
        assert!(
            ids(&i, "2fa 提现", &Scope::All).is_empty(),
            "every word must match"
        );
        let payments = Scope::Restricted {
            group_ids: vec![10],
            agent_ids: vec![],
            unrouted: false,
        };
        assert_eq!(ids(&i, "2fa phone", &payments), Vec::<i64>::new());
        let assigned = Scope::Restricted {
            group_ids: vec![],
            agent_ids: vec![5],
            unrouted: false,
        };
        assert_eq!(ids(&i, "2fa phone", &assigned), [2]);
        let nothing = Scope::Restricted {
            group_ids: vec![],
            agent_ids: vec![],
            unrouted: false,
        };
        assert!(ids(&i, "提现", &nothing).is_empty());
        assert_eq!(ids(&i, "提现", &Scope::Customer(8)), Vec::<i64>::new());
    }

    #[test]
    fn finds_a_hash_or_address_by_its_start_and_without_0x() {
        let i = TicketIndex::in_memory().unwrap();
        let mut d = docs();
        d[1].crypto = "tron USDT TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t \
                       a84bba07931db925306a0799dc6ebd718b8c764d1c0acb3dea13519a60a077bb"
            .into();
        i.upsert(&d, 1).unwrap();
        let bare = TX.trim_start_matches("0x");
        for q in [
            &TX[..10],
            &TX[..18],
            bare,
            &bare[..8],
            &bare.to_uppercase(),
            &TX[..18].to_uppercase().replace("0X", "0x"),
        ] {
            assert_eq!(ids(&i, q, &Scope::All), [1], "{q}");
        }
        // A Tron id is stored without `0x`; pasted with one, or cut short, it is still found.
        assert_eq!(ids(&i, "0xa84bba07931db925", &Scope::All), [2]);
        assert_eq!(ids(&i, "TR7NHqjeKQ", &Scope::All), [2]);
        // Too short to be a prefix, or a prefix of nothing: no hit.
        assert!(ids(&i, &TX[..8], &Scope::All).is_empty());
        assert!(ids(&i, "0x88df0165", &Scope::All).is_empty());
        // Scope still applies.
        assert!(ids(&i, &bare[..12], &Scope::Customer(8)).is_empty());
    }

    #[test]
    fn the_feed_position_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        {
            let i = TicketIndex::open(dir.path()).unwrap();
            i.upsert(&docs(), 77).unwrap();
        }
        let i = TicketIndex::open(dir.path()).unwrap();
        assert_eq!(i.position(), 77);
        assert_eq!(i.len(), 2);
    }

    #[test]
    fn filters_and_replacement() {
        let i = TicketIndex::in_memory().unwrap();
        i.upsert(&docs(), 1).unwrap();
        let q = |states: &[String], from: Option<i64>| {
            i.search(&TicketQuery {
                text: "com",
                scope: &Scope::All,
                states,
                group_id: None,
                created_from: from,
                created_to: None,
                limit: 10,
            })
            .unwrap()
            .len()
        };
        assert_eq!(q(&[], None), 2);
        assert_eq!(q(&["new".to_owned()], None), 1);
        assert_eq!(q(&[], Some(1_500)), 1);
        let mut changed = docs();
        changed[0].state = "solved".into();
        i.upsert(&changed[..1], 2).unwrap();
        assert_eq!(i.len(), 2);
    }
}
