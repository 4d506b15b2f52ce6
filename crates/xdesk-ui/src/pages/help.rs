//! The public help center: categories, articles and search in English and Chinese, readable
//! without JavaScript and on a phone, with what search engines read (description, canonical
//! and hreflang links, a sitemap), and "was this helpful?" on every article.

use crate::UiState;
use crate::i18n::{Lang, Tr};
use crate::page::{Ctx, READER_COOKIE, cookie};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use xdesk_search::articles::ArticleHit;
use xdesk_service::kb::KbSearch;
use xdesk_store::KbArticleFull;

#[derive(Deserialize, Default)]
pub(crate) struct HelpQuery {
    lang: Option<String>,
    q: Option<String>,
    voted: Option<u8>,
}

/// `?lang=` (the canonical address of each language) wins over the visitor's language.
fn in_language(mut ctx: Ctx, q: &HelpQuery) -> Ctx {
    if let Some(l) = q.lang.as_deref().and_then(Lang::from_code) {
        ctx.tr = Tr::new(l);
    }
    ctx
}

/// An article's title in `lang`, else in any language it has.
fn title_in(a: &KbArticleFull, lang: &str) -> String {
    a.translations
        .iter()
        .find(|t| t.language == lang)
        .or_else(|| a.translations.first())
        .map(|t| t.title.clone())
        .unwrap_or_default()
}

pub(crate) struct CategoryCard {
    pub slug: String,
    pub name: String,
    pub description: String,
    /// (slug, title)
    pub articles: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "help/home.html")]
struct HomePage<'a> {
    ctx: &'a Ctx,
    base: &'a str,
    query: &'a str,
    categories: Vec<CategoryCard>,
    /// Open incidents' latest updates, before the reader writes to support.
    notices: Vec<xdesk_service::status::Notice>,
}

fn name(lang: Lang, en: &str, zh: &str) -> String {
    match lang {
        Lang::Zh => zh.to_owned(),
        Lang::En => en.to_owned(),
    }
}

pub(crate) async fn home(
    ctx: Ctx,
    State(s): State<UiState>,
    Query(q): Query<HelpQuery>,
    headers: HeaderMap,
) -> Response {
    let ctx = in_language(ctx, &q);
    let lang = ctx.tr.lang;
    let (cats, articles) = match (
        s.services.help_categories().await,
        s.services.help_articles().await,
    ) {
        (Ok(c), Ok(a)) => (c, a),
        (Err(e), _) | (_, Err(e)) => return ctx.service_error(&e),
    };
    let categories = cats
        .into_iter()
        .map(|(c, _)| CategoryCard {
            articles: articles
                .iter()
                .filter(|a| a.category == c.slug)
                .take(6)
                .map(|a| (a.article.slug.clone(), title_in(a, lang.code())))
                .collect(),
            name: name(lang, &c.name_en, &c.name_zh),
            description: name(lang, &c.description_en, &c.description_zh),
            slug: c.slug,
        })
        .collect();
    let notices = help_notices(&s, lang).await;
    let mut r = ctx.render(
        StatusCode::OK,
        &HomePage {
            ctx: &ctx,
            base: &s.services.portal.public_url,
            query: "",
            categories,
            notices: notices.clone(),
        },
    );
    crate::pages::status::count_notices(&s, &ctx, &headers, "help", &notices, &mut r).await;
    r
}

#[derive(Template)]
#[template(path = "help/category.html")]
struct CategoryPage<'a> {
    ctx: &'a Ctx,
    base: &'a str,
    category: CategoryCard,
    /// (section name, [(slug, title)])
    sections: Vec<(String, Vec<(String, String)>)>,
    notices: Vec<xdesk_service::status::Notice>,
}

pub(crate) async fn category(
    ctx: Ctx,
    State(s): State<UiState>,
    Path(slug): Path<String>,
    Query(q): Query<HelpQuery>,
    headers: HeaderMap,
) -> Response {
    let ctx = in_language(ctx, &q);
    let lang = ctx.tr.lang;
    let (cats, articles) = match (
        s.services.help_categories().await,
        s.services.help_articles().await,
    ) {
        (Ok(c), Ok(a)) => (c, a),
        (Err(e), _) | (_, Err(e)) => return ctx.service_error(&e),
    };
    let Some((c, secs)) = cats.into_iter().find(|(c, _)| c.slug == slug) else {
        return ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text"));
    };
    let mine: Vec<&KbArticleFull> = articles.iter().filter(|a| a.category == c.slug).collect();
    let mut sections: Vec<(String, Vec<(String, String)>)> = secs
        .iter()
        .map(|sec| {
            (
                name(lang, &sec.name_en, &sec.name_zh),
                mine.iter()
                    .filter(|a| a.section.as_deref() == Some(sec.slug.as_str()))
                    .map(|a| (a.article.slug.clone(), title_in(a, lang.code())))
                    .collect(),
            )
        })
        .filter(|(_, a): &(String, Vec<_>)| !a.is_empty())
        .collect();
    let loose: Vec<(String, String)> = mine
        .iter()
        .filter(|a| a.section.is_none())
        .map(|a| (a.article.slug.clone(), title_in(a, lang.code())))
        .collect();
    if !loose.is_empty() {
        sections.push((ctx.tr.t("help.more").to_owned(), loose));
    }
    let category = CategoryCard {
        name: name(lang, &c.name_en, &c.name_zh),
        description: name(lang, &c.description_en, &c.description_zh),
        slug: c.slug,
        articles: Vec::new(),
    };
    let notices = help_notices(&s, lang).await;
    let mut r = ctx.render(
        StatusCode::OK,
        &CategoryPage {
            ctx: &ctx,
            base: &s.services.portal.public_url,
            category,
            sections,
            notices: notices.clone(),
        },
    );
    crate::pages::status::count_notices(&s, &ctx, &headers, "help", &notices, &mut r).await;
    r
}

/// Every open incident's latest update, for a help-center page: a reader looking for an
/// answer learns first what is already known to be wrong. Never stops the page.
async fn help_notices(s: &UiState, lang: Lang) -> Vec<xdesk_service::status::Notice> {
    s.services
        .status_notices(lang.code(), None)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "status notices unavailable");
            Vec::new()
        })
}

#[derive(Template)]
#[template(path = "help/article.html")]
struct ArticlePage<'a> {
    ctx: &'a Ctx,
    base: &'a str,
    slug: &'a str,
    title: String,
    description: String,
    body_html: String,
    shown_lang: String,
    languages: Vec<String>,
    other_language: bool,
    category_slug: String,
    category_name: String,
    voted: bool,
    notices: Vec<xdesk_service::status::Notice>,
}

pub(crate) async fn article(
    ctx: Ctx,
    State(s): State<UiState>,
    Path(slug): Path<String>,
    Query(q): Query<HelpQuery>,
    headers: HeaderMap,
) -> Response {
    let ctx = in_language(ctx, &q);
    let lang = ctx.tr.lang;
    let a = match s.services.help_article(&slug).await {
        Ok(a) => a,
        Err(e) => return ctx.service_error(&e),
    };
    let Some(t) = a
        .translations
        .iter()
        .find(|t| t.language == lang.code())
        .or_else(|| a.translations.first())
    else {
        return ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text"));
    };
    let category_name = match s.services.help_categories().await {
        Ok(c) => c
            .into_iter()
            .find(|(c, _)| c.slug == a.category)
            .map(|(c, _)| name(lang, &c.name_en, &c.name_zh))
            .unwrap_or_default(),
        Err(e) => return ctx.service_error(&e),
    };
    let notices = help_notices(&s, lang).await;
    let mut r = ctx.render(
        StatusCode::OK,
        &ArticlePage {
            ctx: &ctx,
            base: &s.services.portal.public_url,
            slug: &slug,
            title: t.title.clone(),
            description: t.description.clone(),
            body_html: crate::markdown::to_html(&t.body),
            shown_lang: t.language.clone(),
            languages: a.translations.iter().map(|t| t.language.clone()).collect(),
            other_language: t.language != lang.code(),
            category_slug: a.category.clone(),
            category_name,
            voted: q.voted.is_some(),
            notices: notices.clone(),
        },
    );
    crate::pages::status::count_notices(&s, &ctx, &headers, "help", &notices, &mut r).await;
    r
}

#[derive(Deserialize)]
pub(crate) struct VoteForm {
    #[serde(default)]
    csrf: String,
    helpful: u8,
    lang: Option<String>,
}

/// Counts the answer once per reader: the browser keeps a reader token (made on its first
/// vote) and a second answer replaces the first.
pub(crate) async fn vote(
    ctx: Ctx,
    State(s): State<UiState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(f): Form<VoteForm>,
) -> Response {
    if !ctx.csrf_ok(&f.csrf) {
        return ctx.csrf_refused();
    }
    let (reader, new_reader) = match cookie(&headers, READER_COOKIE) {
        Some(r) if xdesk_service::kb::reader_token_ok(r) => (r.to_owned(), false),
        _ => (xdesk_service::kb::new_reader_token(), true),
    };
    match s.services.vote_kb(&slug, &reader, f.helpful == 1).await {
        Ok(_) => {
            let lang = f
                .lang
                .as_deref()
                .and_then(Lang::from_code)
                .unwrap_or(ctx.tr.lang);
            let mut r = Redirect::to(&format!(
                "/help/articles/{slug}?lang={}&voted=1",
                lang.code()
            ))
            .into_response();
            if new_reader {
                r.headers_mut().append(
                    header::SET_COOKIE,
                    ctx.cookie(READER_COOKIE, &reader, 60 * 60 * 24 * 365, "Lax"),
                );
            }
            r
        }
        Err(e) => ctx.service_error(&e),
    }
}

#[derive(Template)]
#[template(path = "help/search.html")]
struct SearchPage<'a> {
    ctx: &'a Ctx,
    query: &'a str,
    hits: Vec<ArticleHit>,
}

pub(crate) async fn search(
    ctx: Ctx,
    State(s): State<UiState>,
    Query(q): Query<HelpQuery>,
) -> Response {
    let ctx = in_language(ctx, &q);
    let query = q.q.as_deref().map(str::trim).unwrap_or_default();
    let hits = if query.is_empty() {
        Vec::new()
    } else {
        match s
            .services
            .search_kb(
                None,
                KbSearch {
                    text: query.to_owned(),
                    language: Some(ctx.tr.lang.code().to_owned()),
                    category: None,
                    limit: 20,
                },
            )
            .await
        {
            Ok(h) => h,
            Err(e) => return ctx.service_error(&e),
        }
    };
    ctx.render(
        StatusCode::OK,
        &SearchPage {
            ctx: &ctx,
            query,
            hits,
        },
    )
}

/// Every public article in each of its languages, with the other languages as alternates.
pub(crate) async fn sitemap(State(s): State<UiState>) -> Response {
    let articles = match s.services.help_articles().await {
        Ok(a) => a,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let base = s.services.portal.public_url.trim_end_matches('/');
    let esc = |v: &str| {
        v.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('"', "&quot;")
    };
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\" xmlns:xhtml=\"http://www.w3.org/1999/xhtml\">\n",
    );
    for a in &articles {
        let url = |lang: &str| {
            esc(&format!(
                "{base}/help/articles/{}?lang={lang}",
                a.article.slug
            ))
        };
        for t in &a.translations {
            xml.push_str(&format!(
                "<url><loc>{}</loc><lastmod>{}</lastmod>",
                url(&t.language),
                t.updated_at.format("%Y-%m-%d")
            ));
            for other in &a.translations {
                let hreflang = if other.language == "zh" {
                    "zh-CN"
                } else {
                    other.language.as_str()
                };
                xml.push_str(&format!(
                    "<xhtml:link rel=\"alternate\" hreflang=\"{hreflang}\" href=\"{}\"/>",
                    url(&other.language)
                ));
            }
            xml.push_str("</url>\n");
        }
    }
    xml.push_str("</urlset>\n");
    let mut r = xml.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    r
}

pub(crate) struct ReportRow {
    pub slug: String,
    pub title: String,
    pub yes: i64,
    pub no: i64,
    pub opened: u64,
    pub deflected: u64,
    pub chat_opened: u64,
    pub chat_deflected: u64,
}

#[derive(Template)]
#[template(path = "kb_report.html")]
struct ReportPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    rows: Vec<ReportRow>,
}

/// For editors: per article, "was this helpful?" answers, suggestions opened and the tickets
/// they deflected.
pub(crate) async fn report(
    ctx: Ctx,
    me: crate::page::SignedIn,
    State(s): State<UiState>,
) -> Response {
    let (deflections, articles) = match (
        s.services.deflection_report(&me.principal).await,
        s.services.help_articles().await,
    ) {
        (Ok(d), Ok(a)) => (d, a),
        (Err(e), _) | (_, Err(e)) => return ctx.service_error(&e),
    };
    let mut rows: Vec<ReportRow> = articles
        .iter()
        .map(|a| {
            let d = deflections.iter().find(|d| d.slug == a.article.slug);
            ReportRow {
                slug: a.article.slug.clone(),
                title: title_in(a, ctx.tr.lang.code()),
                yes: a.article.helpful_yes,
                no: a.article.helpful_no,
                opened: d.map_or(0, |d| d.opened),
                deflected: d.map_or(0, |d| d.deflected),
                chat_opened: d.map_or(0, |d| d.chat_opened),
                chat_deflected: d.map_or(0, |d| d.chat_deflected),
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        (b.deflected, b.opened, b.yes + b.no).cmp(&(a.deflected, a.opened, a.yes + a.no))
    });
    ctx.render(
        StatusCode::OK,
        &ReportPage {
            ctx: &ctx,
            agent_name: &me.agent.display_name,
            is_admin: me.principal.is_admin(),
            rows,
        },
    )
}
