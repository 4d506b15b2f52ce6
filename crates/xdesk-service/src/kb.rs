//! The knowledge base: import and export as Markdown files with front matter, and search over
//! the article index, which is derived from the database (rebuilt at start and after changes;
//! never the source of truth).

use crate::{Principal, ServiceError, Services};
use serde_json::json;
use std::sync::{Arc, RwLock};
use xdesk_domain::FieldError;
use xdesk_domain::kb::{ArticleFile, Categories, FrontMatter};
use xdesk_search::articles::{ArticleDoc, ArticleHit, ArticleIndex, ArticleQuery};
use xdesk_store::{NewAuditEntry, NewKbCategory, NewKbSection, SaveKbArticle, SuggestionReader};

/// The article index shared by the node's requests.
pub type KbIndex = Arc<RwLock<ArticleIndex>>;

/// A new reader token for "was this helpful?" votes, kept by the reader's browser.
pub fn new_reader_token() -> String {
    crate::portal::random_token()
}

/// Whether a reader token is one [`new_reader_token`] could have made.
pub fn reader_token_ok(t: &str) -> bool {
    t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A suggestion opened counts as deflecting a ticket if none follows within this time.
pub const DEFLECTION_WINDOW_MINUTES: i64 = 30;

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub categories: usize,
    pub translations: usize,
}

/// What a search asks.
#[derive(Debug, Clone, Default)]
pub struct KbSearch {
    pub text: String,
    pub language: Option<String>,
    pub category: Option<String>,
    pub limit: usize,
}

/// What storage saves of an article file.
fn save_input(a: &ArticleFile, actor: &str) -> SaveKbArticle {
    let f = &a.front;
    SaveKbArticle {
        slug: a.slug.clone(),
        category: f.category.clone(),
        section: f.section.clone(),
        status: f.status.clone(),
        visibility: f.visibility.clone(),
        tags: f.tags.clone(),
        answers: f.answers.clone(),
        language: a.language.clone(),
        title: f.title.trim().to_owned(),
        description: f.description.clone(),
        body: a.body.clone(),
        actor: actor.to_owned(),
    }
}

/// An article's translations as the index takes them.
fn docs_of(a: xdesk_store::KbArticleFull) -> Vec<ArticleDoc> {
    let public = a.article.status == "published" && a.article.visibility == "public";
    let tags: Vec<String> = serde_json::from_str(&a.article.tags).unwrap_or_default();
    a.translations
        .into_iter()
        .map(|t| ArticleDoc {
            slug: a.article.slug.clone(),
            language: t.language,
            category: a.category.clone(),
            title: t.title,
            description: t.description,
            tags: tags.clone(),
            body: t.body,
            public,
        })
        .collect()
}

/// One translation of a stored article as a file: what export writes and the editor shows.
pub fn file_of(
    a: &xdesk_store::KbArticleFull,
    t: &xdesk_store::KbTranslationRow,
    language: &str,
) -> ArticleFile {
    ArticleFile {
        slug: a.article.slug.clone(),
        language: language.to_owned(),
        front: FrontMatter {
            title: t.title.clone(),
            description: t.description.clone(),
            category: a.category.clone(),
            section: a.section.clone(),
            tags: serde_json::from_str(&a.article.tags).unwrap_or_default(),
            answers: serde_json::from_str(&a.article.answers).unwrap_or_default(),
            status: a.article.status.clone(),
            visibility: a.article.visibility.clone(),
        },
        body: t.body.clone(),
    }
}

/// Agents and admins write articles; customers and API keys do not.
fn editor(p: &Principal) -> Result<(), ServiceError> {
    match p {
        Principal::Agent { .. } => Ok(()),
        _ => Err(ServiceError::Forbidden(
            "articles are written by agents".into(),
        )),
    }
}

fn index_error(e: impl std::fmt::Display) -> ServiceError {
    ServiceError::Internal(format!("search index: {e}"))
}

impl Services {
    pub fn with_kb_index(mut self, index: KbIndex) -> Self {
        self.kb_index = Some(index);
        self
    }

    /// Imports a knowledge base: the categories file (optional when they exist already) and
    /// article files named `<slug>.<lang>.md`. Every file is read and checked before anything
    /// is written; one bad file refuses the import, naming it. The operator and the demo import
    /// as [`Principal::System`].
    pub async fn import_kb(
        &self,
        by: &Principal,
        categories: Option<&str>,
        files: &[(String, String)],
    ) -> Result<ImportReport, ServiceError> {
        by.require_admin()?;
        let cats = match categories {
            Some(text) => Categories::parse(text)?,
            None => Categories {
                category: Vec::new(),
            },
        };
        let known = self.store.kb_categories().await?;
        let defined = |c: &str, s: Option<&str>| {
            cats.has(c, s)
                || known.iter().any(|(k, secs)| {
                    k.slug == c && s.is_none_or(|s| secs.iter().any(|x| x.slug == s))
                })
        };
        let mut articles = Vec::with_capacity(files.len());
        for (name, text) in files {
            let a = ArticleFile::parse(name, text)
                .map_err(|e| FieldError::new(format!("{name}: {}", e.field), e.code, e.reason))?;
            if !defined(&a.front.category, a.front.section.as_deref()) {
                return Err(FieldError::new(
                    format!("{name}: category"),
                    "unknown_category",
                    format!("no category `{}` with that section", a.front.category),
                )
                .into());
            }
            articles.push(a);
        }
        let actor = by.actor().to_string();
        self.store
            .put_kb_categories(
                &cats
                    .category
                    .iter()
                    .map(|c| NewKbCategory {
                        slug: c.slug.clone(),
                        name_en: c.name_en.clone(),
                        name_zh: c.name_zh.clone(),
                        description_en: c.description_en.clone(),
                        description_zh: c.description_zh.clone(),
                        sections: c
                            .section
                            .iter()
                            .map(|s| NewKbSection {
                                slug: s.slug.clone(),
                                name_en: s.name_en.clone(),
                                name_zh: s.name_zh.clone(),
                            })
                            .collect(),
                    })
                    .collect::<Vec<_>>(),
            )
            .await?;
        for a in &articles {
            self.store.save_kb_article(&save_input(a, &actor)).await?;
        }
        self.store
            .audit(NewAuditEntry {
                actor,
                action: "kb.import".into(),
                target: "kb".into(),
                ip: None,
                detail: json!({"categories": cats.category.len(), "translations": articles.len()}),
            })
            .await?;
        self.reindex_kb().await?;
        Ok(ImportReport {
            categories: cats.category.len(),
            translations: articles.len(),
        })
    }

    /// The whole knowledge base as files: `_categories.toml` and one `<slug>.<lang>.md` per
    /// translation, which [`Services::import_kb`] reads back.
    /// The operator's CLI exports as [`Principal::System`].
    pub async fn export_kb(&self, by: &Principal) -> Result<Vec<(String, String)>, ServiceError> {
        by.require_admin()?;
        let cats = Categories {
            category: self
                .store
                .kb_categories()
                .await?
                .into_iter()
                .map(|(c, secs)| xdesk_domain::kb::CategoryDef {
                    slug: c.slug,
                    name_en: c.name_en,
                    name_zh: c.name_zh,
                    description_en: c.description_en,
                    description_zh: c.description_zh,
                    section: secs
                        .into_iter()
                        .map(|s| xdesk_domain::kb::SectionDef {
                            slug: s.slug,
                            name_en: s.name_en,
                            name_zh: s.name_zh,
                        })
                        .collect(),
                })
                .collect(),
        };
        let mut out = vec![("_categories.toml".to_owned(), cats.to_text())];
        for a in self.store.kb_articles().await? {
            for t in &a.translations {
                let file = file_of(&a, t, &t.language);
                out.push((file.file_name(), file.to_text()));
            }
        }
        Ok(out)
    }

    /// Every article with all its translations, drafts and internal ones included: for editors.
    pub async fn kb_articles_for_editing(
        &self,
        p: &Principal,
    ) -> Result<Vec<xdesk_store::KbArticleFull>, ServiceError> {
        editor(p)?;
        Ok(self.store.kb_articles().await?)
    }

    /// An article's saved versions, newest first; none for an article not saved yet.
    pub async fn kb_history(
        &self,
        p: &Principal,
        slug: &str,
    ) -> Result<Vec<xdesk_store::KbRevisionRow>, ServiceError> {
        editor(p)?;
        match self.store.kb_article(slug).await? {
            Some(a) => Ok(self.store.kb_revisions(a.article.id).await?),
            None => Ok(Vec::new()),
        }
    }

    /// Saves one translation of an article (made if new), as an agent in the console: checked
    /// like an imported file, recorded as a revision, and searchable at once.
    pub async fn save_kb_article(
        &self,
        p: &Principal,
        file: &ArticleFile,
    ) -> Result<(), ServiceError> {
        editor(p)?;
        xdesk_domain::kb::check_slug(&file.slug)?;
        if !xdesk_domain::kb::LANGUAGES.contains(&file.language.as_str()) {
            return Err(FieldError::new("language", "invalid_language", "en or zh").into());
        }
        file.front.validate()?;
        self.store
            .save_kb_article(&save_input(file, &p.actor().to_string()))
            .await
            .map_err(|e| match e {
                xdesk_store::StoreError::NotFound(what) => {
                    FieldError::new("category", "unknown_category", format!("no such {what}"))
                        .into()
                }
                other => ServiceError::from(other),
            })?;
        self.audit_action(
            p,
            "kb.save",
            format!("kb:{}:{}", file.slug, file.language),
            None,
            json!({}),
        )
        .await?;
        self.reindex_article(&file.slug).await
    }

    /// Makes an earlier version current again, as a new revision: the history keeps both.
    pub async fn restore_kb_revision(
        &self,
        p: &Principal,
        revision: i64,
    ) -> Result<ArticleFile, ServiceError> {
        editor(p)?;
        let r = self
            .store
            .kb_revision(revision)
            .await?
            .ok_or(ServiceError::NotFound("revision"))?;
        let a = self
            .store
            .kb_articles_by_id(&[r.article_id])
            .await?
            .pop()
            .ok_or(ServiceError::NotFound("article"))?;
        let mut file = match a.translations.iter().find(|t| t.language == r.language) {
            Some(t) => file_of(&a, t, &r.language),
            None => return Err(ServiceError::NotFound("translation")),
        };
        file.front.title = r.title;
        file.front.description = r.description;
        file.front.status = r.status;
        file.front.visibility = r.visibility;
        file.body = r.body;
        self.save_kb_article(p, &file).await?;
        Ok(file)
    }

    /// Puts an article's current translations into the index (its status or visibility may
    /// have changed for all of them).
    async fn reindex_article(&self, slug: &str) -> Result<(), ServiceError> {
        if self.kb_index.is_none() {
            return Ok(());
        }
        let Some(a) = self.store.kb_article(slug).await? else {
            return Ok(());
        };
        self.upsert_articles(docs_of(a)).await
    }

    async fn upsert_articles(&self, docs: Vec<ArticleDoc>) -> Result<(), ServiceError> {
        let Some(index) = self.kb_index.clone() else {
            return Ok(());
        };
        tokio::task::spawn_blocking(move || {
            index
                .write()
                .map_err(index_error)?
                .upsert(&docs)
                .map_err(index_error)
        })
        .await
        .map_err(index_error)?
    }

    /// Puts into this node's index the articles saved since the last call (on any node), by
    /// following the revision feed. Returns how many articles it re-indexed.
    pub async fn follow_article_feed(&self) -> Result<usize, ServiceError> {
        if self.kb_index.is_none() {
            return Ok(0);
        }
        let from = self.kb_position.load(std::sync::atomic::Ordering::Acquire);
        let revisions = self.store.kb_revisions_after(from, 1_000).await?;
        let Some(last) = revisions.last().map(|r| r.id) else {
            return Ok(0);
        };
        let mut ids: Vec<i64> = revisions.iter().map(|r| r.article_id).collect();
        ids.sort_unstable();
        ids.dedup();
        let changed = self.store.kb_articles_by_id(&ids).await?;
        let n = changed.len();
        let docs: Vec<ArticleDoc> = changed.into_iter().flat_map(docs_of).collect();
        self.upsert_articles(docs).await?;
        self.kb_position
            .fetch_max(last, std::sync::atomic::Ordering::AcqRel);
        Ok(n)
    }

    /// Rebuilds the article index from the database.
    pub async fn reindex_kb(&self) -> Result<usize, ServiceError> {
        let Some(index) = &self.kb_index else {
            return Ok(0);
        };
        // Whatever is saved from here on is picked up by the feed.
        let position = self.store.kb_last_revision().await?;
        self.kb_position
            .fetch_max(position, std::sync::atomic::Ordering::AcqRel);
        let docs: Vec<ArticleDoc> = self
            .store
            .kb_articles()
            .await?
            .into_iter()
            .flat_map(docs_of)
            .collect();
        let n = docs.len();
        let index = index.clone();
        tokio::task::spawn_blocking(move || {
            let mut i = index.write().map_err(index_error)?;
            i.replace_all(&docs).map_err(index_error)
        })
        .await
        .map_err(index_error)??;
        Ok(n)
    }

    /// The help center's categories, in order, with their sections.
    pub async fn help_categories(
        &self,
    ) -> Result<Vec<(xdesk_store::KbCategoryRow, Vec<xdesk_store::KbSectionRow>)>, ServiceError>
    {
        Ok(self.store.kb_categories().await?)
    }

    /// Every article customers may read (published and public), for listings: titles and
    /// descriptions, without bodies.
    pub async fn help_articles(&self) -> Result<Vec<xdesk_store::KbArticleFull>, ServiceError> {
        Ok(self.store.kb_public_listing().await?)
    }

    /// One article customers may read; drafts and internal articles are "not found".
    pub async fn help_article(
        &self,
        slug: &str,
    ) -> Result<xdesk_store::KbArticleFull, ServiceError> {
        self.store
            .kb_article(slug)
            .await?
            .filter(|a| a.article.status == "published" && a.article.visibility == "public")
            .ok_or(ServiceError::NotFound("article"))
    }

    /// One article with all its translations, drafts and internal ones included: for editors.
    pub async fn kb_article_for_editing(
        &self,
        p: &Principal,
        slug: &str,
    ) -> Result<Option<xdesk_store::KbArticleFull>, ServiceError> {
        editor(p)?;
        Ok(self.store.kb_article(slug).await?)
    }

    /// Counts a reader's "was this helpful?" once per article; `reader` is the token their
    /// browser keeps (from [`new_reader_token`]), stored only as its hash. Answering again
    /// changes the reader's answer. Returns whether the counts changed.
    pub async fn vote_kb(
        &self,
        slug: &str,
        reader: &str,
        helpful: bool,
    ) -> Result<bool, ServiceError> {
        if !reader_token_ok(reader) {
            return Err(FieldError::new("reader", "malformed", "malformed reader token").into());
        }
        self.help_article(slug).await?;
        let reader = crate::auth::sha256_hex(reader);
        Ok(self.store.kb_vote(slug, &reader, helpful).await?)
    }

    /// Articles that may answer what a customer is writing, before they send a ticket.
    pub async fn suggest_articles(
        &self,
        text: &str,
        language: &str,
    ) -> Result<Vec<ArticleHit>, ServiceError> {
        let text: String = text.chars().take(500).collect();
        if text.trim().chars().count() < 2 {
            return Ok(Vec::new());
        }
        let mut hits = self
            .search_kb(
                None,
                KbSearch {
                    text,
                    language: Some(language.to_owned()),
                    category: None,
                    limit: 5,
                },
            )
            .await?;
        // Weak matches (a single common word) would only distract.
        if let Some(best) = hits.first().map(|h| h.score) {
            hits.retain(|h| h.score >= best * 0.3);
        }
        hits.truncate(3);
        Ok(hits)
    }

    /// A customer opened a suggested article: counted as a deflected ticket unless they open
    /// a ticket within [`DEFLECTION_WINDOW_MINUTES`].
    pub async fn suggestion_opened(&self, p: &Principal, slug: &str) -> Result<(), ServiceError> {
        let Principal::Customer { id } = p else {
            return Err(ServiceError::Forbidden("for customers".into()));
        };
        self.help_article(slug).await?;
        Ok(self
            .store
            .record_suggestion_opened(SuggestionReader::Customer(*id), "portal", slug)
            .await?)
    }

    /// A chat visitor opened an article the widget suggested before their first message:
    /// counted like the portal's, by their visitor ID while they are anonymous.
    pub async fn chat_suggestion_opened(
        &self,
        v: &crate::chat::ChatVisitor,
        slug: &str,
    ) -> Result<(), ServiceError> {
        self.help_article(slug).await?;
        let reader = match (v.customer_id, v.visitor_id.as_deref()) {
            (Some(id), _) => SuggestionReader::Customer(id),
            (None, Some(visitor)) => SuggestionReader::Visitor(visitor),
            (None, None) => return Err(ServiceError::Forbidden("no visitor".into())),
        };
        Ok(self
            .store
            .record_suggestion_opened(reader, "chat", slug)
            .await?)
    }

    /// A customer wrote a ticket (or a chat's first message): the suggestions they opened
    /// in the last [`DEFLECTION_WINDOW_MINUTES`] did not deflect it.
    pub(crate) async fn suggestions_did_not_deflect(
        &self,
        customer_id: i64,
        visitor: Option<&str>,
        ticket_id: i64,
    ) -> Result<(), ServiceError> {
        let since = chrono::Utc::now() - chrono::Duration::minutes(DEFLECTION_WINDOW_MINUTES);
        Ok(self
            .store
            .suggestions_led_to_ticket(customer_id, visitor, since, ticket_id)
            .await?)
    }

    /// Per article, suggestions opened and tickets they deflected, for editors.
    pub async fn deflection_report(
        &self,
        p: &Principal,
    ) -> Result<Vec<xdesk_store::DeflectionCount>, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden("for agents".into()));
        }
        let settled = chrono::Utc::now() - chrono::Duration::minutes(DEFLECTION_WINDOW_MINUTES);
        Ok(self.store.deflections(settled).await?)
    }

    /// Articles for a question. Customers (and no one signed in) find published public
    /// articles; agents also internal ones and drafts.
    pub async fn search_kb(
        &self,
        p: Option<&Principal>,
        q: KbSearch,
    ) -> Result<Vec<ArticleHit>, ServiceError> {
        let Some(index) = &self.kb_index else {
            return Ok(Vec::new());
        };
        if q.text.chars().count() > 500 {
            return Err(FieldError::new("q", "invalid_query", "at most 500 characters").into());
        }
        let include_internal = matches!(p, Some(Principal::Agent { .. }));
        let index = index.clone();
        tokio::task::spawn_blocking(move || {
            let i = index.read().map_err(index_error)?;
            i.search(&ArticleQuery {
                text: &q.text,
                language: q.language.as_deref(),
                category: q.category.as_deref(),
                include_internal,
                limit: if q.limit == 0 { 10 } else { q.limit },
            })
            .map_err(index_error)
        })
        .await
        .map_err(index_error)?
    }
}
