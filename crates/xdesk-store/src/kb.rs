//! The knowledge base: categories and sections, articles with one translation per language,
//! and every saved version. Saving writes the article, its translation and a revision in one
//! transaction; revision ids are the feed search indexes follow.

use crate::entities::{
    kb_article, kb_category, kb_deflection, kb_revision, kb_section, kb_translation, kb_vote,
};
use crate::{Store, StoreError, now};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Set, TransactionTrait,
};

pub type KbCategoryRow = kb_category::Model;
pub type KbSectionRow = kb_section::Model;
pub type KbArticleRow = kb_article::Model;
pub type KbTranslationRow = kb_translation::Model;
pub type KbRevisionRow = kb_revision::Model;

#[derive(Debug, Clone)]
pub struct NewKbSection {
    pub slug: String,
    pub name_en: String,
    pub name_zh: String,
}

#[derive(Debug, Clone)]
pub struct NewKbCategory {
    pub slug: String,
    pub name_en: String,
    pub name_zh: String,
    pub description_en: String,
    pub description_zh: String,
    pub sections: Vec<NewKbSection>,
}

/// An article's translation in one language, with the article's own fields.
#[derive(Debug, Clone)]
pub struct SaveKbArticle {
    pub slug: String,
    pub category: String,
    pub section: Option<String>,
    pub status: String,
    pub visibility: String,
    pub tags: Vec<String>,
    pub answers: Vec<String>,
    pub language: String,
    pub title: String,
    pub description: String,
    pub body: String,
    /// Who saved it (`agent:3`, `import`).
    pub actor: String,
}

/// An article with all its translations.
#[derive(Debug, Clone)]
pub struct KbArticleFull {
    pub article: KbArticleRow,
    pub category: String,
    pub section: Option<String>,
    pub translations: Vec<KbTranslationRow>,
}

/// The id of a row just saved.
fn saved_id(v: &sea_orm::ActiveValue<i64>) -> Result<i64, StoreError> {
    match v {
        sea_orm::ActiveValue::Set(id) | sea_orm::ActiveValue::Unchanged(id) => Ok(*id),
        sea_orm::ActiveValue::NotSet => Err(StoreError::Corrupt("a saved row has no id".into())),
    }
}

impl Store {
    /// Creates or updates categories and their sections by slug, in the given order.
    pub async fn put_kb_categories(&self, categories: &[NewKbCategory]) -> Result<(), StoreError> {
        let tx = self.db.begin().await?;
        for (pos, c) in categories.iter().enumerate() {
            let existing = kb_category::Entity::find()
                .filter(kb_category::Column::Slug.eq(c.slug.as_str()))
                .one(&tx)
                .await?;
            let mut m = match existing {
                Some(e) => kb_category::ActiveModel::from(e),
                None => kb_category::ActiveModel {
                    slug: Set(c.slug.clone()),
                    ..Default::default()
                },
            };
            m.name_en = Set(c.name_en.clone());
            m.name_zh = Set(c.name_zh.clone());
            m.description_en = Set(c.description_en.clone());
            m.description_zh = Set(c.description_zh.clone());
            m.position = Set(pos as i32);
            let row = m.save(&tx).await?;
            let category_id = saved_id(&row.id)?;
            for (spos, sec) in c.sections.iter().enumerate() {
                let existing = kb_section::Entity::find()
                    .filter(kb_section::Column::CategoryId.eq(category_id))
                    .filter(kb_section::Column::Slug.eq(sec.slug.as_str()))
                    .one(&tx)
                    .await?;
                let mut s = match existing {
                    Some(e) => kb_section::ActiveModel::from(e),
                    None => kb_section::ActiveModel {
                        category_id: Set(category_id),
                        slug: Set(sec.slug.clone()),
                        ..Default::default()
                    },
                };
                s.name_en = Set(sec.name_en.clone());
                s.name_zh = Set(sec.name_zh.clone());
                s.position = Set(spos as i32);
                s.save(&tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn kb_categories(
        &self,
    ) -> Result<Vec<(KbCategoryRow, Vec<KbSectionRow>)>, StoreError> {
        let cats = kb_category::Entity::find()
            .order_by_asc(kb_category::Column::Position)
            .all(&self.read)
            .await?;
        let secs = kb_section::Entity::find()
            .order_by_asc(kb_section::Column::Position)
            .all(&self.read)
            .await?;
        Ok(cats
            .into_iter()
            .map(|c| {
                let mine = secs
                    .iter()
                    .filter(|s| s.category_id == c.id)
                    .cloned()
                    .collect();
                (c, mine)
            })
            .collect())
    }

    /// Saves one translation of an article (made if new) and records the revision, in one
    /// transaction. Returns the revision's id.
    pub async fn save_kb_article(&self, a: &SaveKbArticle) -> Result<i64, StoreError> {
        // On SQLite an import (`xdesk kb import`, its own process) writes beside the running
        // server: a transaction that read before the server's commit cannot write after it
        // (SQLITE_BUSY_SNAPSHOT, which no busy timeout waits out). It rolled back whole, so it
        // is simply run again.
        let mut attempt = 0;
        loop {
            match self.save_kb_article_once(a).await {
                Err(e) if e.is_transient() && attempt < 10 => {
                    attempt += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                }
                other => return other,
            }
        }
    }

    async fn save_kb_article_once(&self, a: &SaveKbArticle) -> Result<i64, StoreError> {
        let at = now();
        let tx = self.db.begin().await?;
        let category = kb_category::Entity::find()
            .filter(kb_category::Column::Slug.eq(a.category.as_str()))
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("kb category"))?;
        let section_id = match &a.section {
            None => None,
            Some(s) => Some(
                kb_section::Entity::find()
                    .filter(kb_section::Column::CategoryId.eq(category.id))
                    .filter(kb_section::Column::Slug.eq(s.as_str()))
                    .one(&tx)
                    .await?
                    .ok_or(StoreError::NotFound("kb section"))?
                    .id,
            ),
        };
        let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let existing = kb_article::Entity::find()
            .filter(kb_article::Column::Slug.eq(a.slug.as_str()))
            .one(&tx)
            .await?;
        let mut m = match existing {
            Some(e) => kb_article::ActiveModel::from(e),
            None => kb_article::ActiveModel {
                slug: Set(a.slug.clone()),
                helpful_yes: Set(0),
                helpful_no: Set(0),
                created_at: Set(at),
                ..Default::default()
            },
        };
        m.category_id = Set(category.id);
        m.section_id = Set(section_id);
        m.status = Set(a.status.clone());
        m.visibility = Set(a.visibility.clone());
        m.tags = Set(json(&a.tags));
        m.answers = Set(json(&a.answers));
        m.updated_at = Set(at);
        let article_id = saved_id(&m.save(&tx).await?.id)?;
        let existing = kb_translation::Entity::find()
            .filter(kb_translation::Column::ArticleId.eq(article_id))
            .filter(kb_translation::Column::Language.eq(a.language.as_str()))
            .one(&tx)
            .await?;
        let mut t = match existing {
            Some(e) => kb_translation::ActiveModel::from(e),
            None => kb_translation::ActiveModel {
                article_id: Set(article_id),
                language: Set(a.language.clone()),
                ..Default::default()
            },
        };
        t.title = Set(a.title.clone());
        t.description = Set(a.description.clone());
        t.body = Set(a.body.clone());
        t.updated_at = Set(at);
        t.save(&tx).await?;
        let rev = kb_revision::ActiveModel {
            article_id: Set(article_id),
            language: Set(a.language.clone()),
            title: Set(a.title.clone()),
            description: Set(a.description.clone()),
            body: Set(a.body.clone()),
            status: Set(a.status.clone()),
            visibility: Set(a.visibility.clone()),
            actor: Set(a.actor.clone()),
            created_at: Set(at),
            ..Default::default()
        }
        .insert(&tx)
        .await?;
        tx.commit().await?;
        Ok(rev.id)
    }

    /// Every article with its translations, category and section slugs.
    pub async fn kb_articles(&self) -> Result<Vec<KbArticleFull>, StoreError> {
        self.kb_articles_where(sea_orm::Condition::all(), true)
            .await
    }

    /// Published public articles for listings (help-center pages, the sitemap): titles and
    /// descriptions only, every translation's `body` left empty, so a listing does not read
    /// the whole knowledge base's text.
    pub async fn kb_public_listing(&self) -> Result<Vec<KbArticleFull>, StoreError> {
        self.kb_articles_where(
            sea_orm::Condition::all()
                .add(kb_article::Column::Status.eq("published"))
                .add(kb_article::Column::Visibility.eq("public")),
            false,
        )
        .await
    }

    /// One article by its slug, with its translations.
    pub async fn kb_article(&self, slug: &str) -> Result<Option<KbArticleFull>, StoreError> {
        Ok(self
            .kb_articles_where(
                sea_orm::Condition::all().add(kb_article::Column::Slug.eq(slug)),
                true,
            )
            .await?
            .pop())
    }

    /// The articles `ids`, with their translations.
    pub async fn kb_articles_by_id(&self, ids: &[i64]) -> Result<Vec<KbArticleFull>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.kb_articles_where(
            sea_orm::Condition::all().add(kb_article::Column::Id.is_in(ids.to_vec())),
            true,
        )
        .await
    }

    /// The articles `cond` selects, with their translations (bodies empty unless `bodies`),
    /// category and section slugs; only their translations are read.
    async fn kb_articles_where(
        &self,
        cond: sea_orm::Condition,
        bodies: bool,
    ) -> Result<Vec<KbArticleFull>, StoreError> {
        let articles = kb_article::Entity::find()
            .filter(cond)
            .order_by_asc(kb_article::Column::Id)
            .all(&self.read)
            .await?;
        if articles.is_empty() {
            return Ok(Vec::new());
        }
        let cats = self.kb_categories().await?;
        let mut translations = kb_translation::Entity::find();
        // Every article: no need to list them; a few: only theirs.
        if articles.len() < 1_000 {
            translations = translations
                .filter(kb_translation::Column::ArticleId.is_in(articles.iter().map(|a| a.id)));
        }
        let translations = translations.order_by_asc(kb_translation::Column::Language);
        let translations = if bodies {
            translations.all(&self.read).await?
        } else {
            use kb_translation::Column as C;
            translations
                .select_only()
                .columns([
                    C::Id,
                    C::ArticleId,
                    C::Language,
                    C::Title,
                    C::Description,
                    C::UpdatedAt,
                ])
                .column_as(Expr::value(""), "body")
                .into_model::<KbTranslationRow>()
                .all(&self.read)
                .await?
        };
        Ok(articles
            .into_iter()
            .map(|a| {
                let (category, section) = cats
                    .iter()
                    .find(|(c, _)| c.id == a.category_id)
                    .map(|(c, secs)| {
                        (
                            c.slug.clone(),
                            secs.iter()
                                .find(|s| Some(s.id) == a.section_id)
                                .map(|s| s.slug.clone()),
                        )
                    })
                    .unwrap_or_default();
                let translations = translations
                    .iter()
                    .filter(|t| t.article_id == a.id)
                    .cloned()
                    .collect();
                KbArticleFull {
                    article: a,
                    category,
                    section,
                    translations,
                }
            })
            .collect())
    }

    /// Revisions after `after`, oldest first: what a search index has not seen yet.
    pub async fn kb_revisions_after(
        &self,
        after: i64,
        limit: u64,
    ) -> Result<Vec<KbRevisionRow>, StoreError> {
        Ok(kb_revision::Entity::find()
            .filter(kb_revision::Column::Id.gt(after))
            .order_by_asc(kb_revision::Column::Id)
            .limit(limit)
            .all(&self.read)
            .await?)
    }

    /// Counts a reader's "was this helpful?" answer once per article: voting again changes
    /// the reader's answer, it does not add one. Returns whether the counts changed.
    pub async fn kb_vote(
        &self,
        slug: &str,
        reader: &str,
        helpful: bool,
    ) -> Result<bool, StoreError> {
        let tx = self.db.begin().await?;
        let article = kb_article::Entity::find()
            .filter(kb_article::Column::Slug.eq(slug))
            .one(&tx)
            .await?
            .ok_or(StoreError::NotFound("article"))?;
        let earlier = kb_vote::Entity::find()
            .filter(kb_vote::Column::ArticleId.eq(article.id))
            .filter(kb_vote::Column::Reader.eq(reader))
            .one(&tx)
            .await?;
        let column = |yes: bool| {
            if yes {
                kb_article::Column::HelpfulYes
            } else {
                kb_article::Column::HelpfulNo
            }
        };
        let mut update = kb_article::Entity::update_many()
            .filter(kb_article::Column::Id.eq(article.id))
            .col_expr(column(helpful), Expr::col(column(helpful)).add(1));
        match earlier {
            Some(v) if v.helpful == helpful => return Ok(false),
            Some(v) => {
                update = update.col_expr(column(v.helpful), Expr::col(column(v.helpful)).sub(1));
                let mut v: kb_vote::ActiveModel = v.into();
                v.helpful = Set(helpful);
                v.update(&tx).await?;
            }
            None => {
                kb_vote::ActiveModel {
                    article_id: Set(article.id),
                    reader: Set(reader.to_owned()),
                    helpful: Set(helpful),
                    created_at: Set(now()),
                    ..Default::default()
                }
                .insert(&tx)
                .await?;
            }
        }
        update.exec(&tx).await?;
        tx.commit().await?;
        Ok(true)
    }
}

/// Who opened a suggested article: a customer, or an anonymous chat visitor by the ID their
/// widget keeps (they have no customer record until they write).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SuggestionReader<'a> {
    Customer(i64),
    Visitor(&'a str),
}

/// Per article: suggestions opened, and how many of those ended without a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeflectionCount {
    pub slug: String,
    pub opened: u64,
    pub deflected: u64,
    /// Of those, opened from the chat widget.
    pub chat_opened: u64,
    pub chat_deflected: u64,
}

impl Store {
    /// A reader opened an article suggested while they wrote a ticket (`channel` `portal`) or
    /// a chat's first message (`chat`).
    pub async fn record_suggestion_opened(
        &self,
        reader: SuggestionReader<'_>,
        channel: &str,
        slug: &str,
    ) -> Result<(), StoreError> {
        let (customer_id, visitor) = match reader {
            SuggestionReader::Customer(id) => (Some(id), None),
            SuggestionReader::Visitor(v) => (None, Some(v.to_owned())),
        };
        kb_deflection::ActiveModel {
            customer_id: Set(customer_id),
            visitor: Set(visitor),
            channel: Set(channel.to_owned()),
            slug: Set(slug.to_owned()),
            opened_at: Set(now()),
            ticket_id: Set(None),
            ..Default::default()
        }
        .insert(&self.db)
        .await?;
        Ok(())
    }

    /// The customer opened a ticket anyway: suggestions they opened since `since` did not
    /// deflect it. `visitor` is the chat visitor ID they had before writing, if any.
    pub async fn suggestions_led_to_ticket(
        &self,
        customer_id: i64,
        visitor: Option<&str>,
        since: DateTime<Utc>,
        ticket_id: i64,
    ) -> Result<(), StoreError> {
        let mut who = Condition::any().add(kb_deflection::Column::CustomerId.eq(customer_id));
        if let Some(v) = visitor {
            who = who.add(kb_deflection::Column::Visitor.eq(v));
        }
        kb_deflection::Entity::update_many()
            .col_expr(
                kb_deflection::Column::TicketId,
                Expr::value(Some(ticket_id)),
            )
            .filter(who)
            .filter(kb_deflection::Column::OpenedAt.gte(since))
            .filter(kb_deflection::Column::TicketId.is_null())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    /// Suggestions opened before `settled` (older ones have had their chance to become a
    /// ticket), per article, most opened first.
    pub async fn deflections(
        &self,
        settled: DateTime<Utc>,
    ) -> Result<Vec<DeflectionCount>, StoreError> {
        let rows = kb_deflection::Entity::find()
            .filter(kb_deflection::Column::OpenedAt.lt(settled))
            .all(&self.read)
            .await?;
        let mut out: Vec<DeflectionCount> = Vec::new();
        for r in rows {
            let i = match out.iter().position(|d| d.slug == r.slug) {
                Some(i) => i,
                None => {
                    out.push(DeflectionCount {
                        slug: r.slug.clone(),
                        opened: 0,
                        deflected: 0,
                        chat_opened: 0,
                        chat_deflected: 0,
                    });
                    out.len() - 1
                }
            };
            let chat = u64::from(r.channel == "chat");
            let deflected = u64::from(r.ticket_id.is_none());
            let d = &mut out[i];
            d.opened += 1;
            d.deflected += deflected;
            d.chat_opened += chat;
            d.chat_deflected += chat * deflected;
        }
        out.sort_by(|a, b| b.opened.cmp(&a.opened).then(a.slug.cmp(&b.slug)));
        Ok(out)
    }
}

impl Store {
    /// An article's saved versions, newest first.
    pub async fn kb_revisions(&self, article_id: i64) -> Result<Vec<KbRevisionRow>, StoreError> {
        Ok(kb_revision::Entity::find()
            .filter(kb_revision::Column::ArticleId.eq(article_id))
            .order_by_desc(kb_revision::Column::Id)
            .all(&self.read)
            .await?)
    }
}

impl Store {
    /// The newest revision's id: the feed position everything up to now is at.
    pub async fn kb_last_revision(&self) -> Result<i64, StoreError> {
        Ok(kb_revision::Entity::find()
            .order_by_desc(kb_revision::Column::Id)
            .one(&self.read)
            .await?
            .map_or(0, |r| r.id))
    }
}

impl Store {
    pub async fn kb_revision(&self, id: i64) -> Result<Option<KbRevisionRow>, StoreError> {
        Ok(kb_revision::Entity::find_by_id(id).one(&self.read).await?)
    }
}
