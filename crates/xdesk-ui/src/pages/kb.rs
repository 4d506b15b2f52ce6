//! Knowledge-base editing in the console: articles with their translations, a Markdown editor
//! with a live preview, and every saved version.

use crate::UiState;
use crate::page::{Ctx, Fields, SignedIn, field};
use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use xdesk_domain::issue_type::IssueType;
use xdesk_domain::kb::{ArticleFile, FrontMatter};
use xdesk_service::ServiceError;
use xdesk_store::KbRevisionRow;

pub(crate) struct ListRow {
    pub slug: String,
    pub title: String,
    pub category: String,
    pub status: String,
    pub internal: bool,
    pub languages: Vec<String>,
}

#[derive(Template)]
#[template(path = "kb/list.html")]
struct ListPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    rows: Vec<ListRow>,
    query: &'a str,
    hits: Vec<xdesk_search::articles::ArticleHit>,
}

#[derive(serde::Deserialize)]
pub(crate) struct ListQuery {
    q: Option<String>,
}

/// The articles, or with `q` the ones that answer it best (internal and drafts included).
pub(crate) async fn list(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    let query = q.q.as_deref().map(str::trim).unwrap_or_default();
    let hits = if query.is_empty() {
        Vec::new()
    } else {
        match s
            .services
            .search_kb(
                Some(&me.principal),
                xdesk_service::kb::KbSearch {
                    text: query.to_owned(),
                    language: None,
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
    let articles = match s.services.kb_articles_for_editing(&me.principal).await {
        Ok(a) => a,
        Err(e) => return ctx.service_error(&e),
    };
    let lang = ctx.tr.lang.code();
    let rows = articles
        .into_iter()
        .map(|a| ListRow {
            title: a
                .translations
                .iter()
                .find(|t| t.language == lang)
                .or_else(|| a.translations.first())
                .map(|t| t.title.clone())
                .unwrap_or_default(),
            languages: a.translations.iter().map(|t| t.language.clone()).collect(),
            slug: a.article.slug,
            category: a.category,
            internal: a.article.visibility == "internal",
            status: a.article.status,
        })
        .collect();
    ctx.render(
        StatusCode::OK,
        &ListPage {
            ctx: &ctx,
            agent_name: &me.agent.display_name,
            is_admin: me.principal.is_admin(),
            rows,
            query,
            hits,
        },
    )
}

#[derive(Template)]
#[template(path = "kb/edit.html")]
struct EditPage<'a> {
    ctx: &'a Ctx,
    agent_name: &'a str,
    is_admin: bool,
    is_new: bool,
    slug: String,
    language: String,
    front: FrontMatter,
    body: String,
    preview: String,
    /// (category, [sections])
    categories: Vec<(String, Vec<String>)>,
    issues: &'static [IssueType],
    history: Vec<KbRevisionRow>,
    error: Option<String>,
}

async fn edit_page(
    ctx: &Ctx,
    me: &SignedIn,
    s: &UiState,
    file: ArticleFile,
    is_new: bool,
    error: Option<String>,
) -> Response {
    let p = &me.principal;
    let categories = match s.services.help_categories().await {
        Ok(c) => c
            .into_iter()
            .map(|(c, secs)| (c.slug, secs.into_iter().map(|s| s.slug).collect()))
            .collect(),
        Err(e) => return ctx.service_error(&e),
    };
    let history = s
        .services
        .kb_history(p, &file.slug)
        .await
        .unwrap_or_default();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    ctx.render(
        status,
        &EditPage {
            ctx,
            agent_name: &me.agent.display_name,
            is_admin: p.is_admin(),
            is_new,
            preview: crate::markdown::to_html(&file.body),
            slug: file.slug,
            language: file.language,
            front: file.front,
            body: file.body,
            categories,
            issues: IssueType::ALL,
            history,
            error,
        },
    )
}

fn blank(slug: &str, language: &str) -> ArticleFile {
    ArticleFile {
        slug: slug.to_owned(),
        language: language.to_owned(),
        front: FrontMatter {
            title: String::new(),
            description: String::new(),
            category: String::new(),
            section: None,
            tags: Vec::new(),
            answers: Vec::new(),
            status: "draft".into(),
            visibility: "public".into(),
        },
        body: String::new(),
    }
}

/// A new article (`/console/kb/new/{lang}`) or a translation of one (`/console/kb/{slug}/{lang}`).
pub(crate) async fn edit(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Path((slug, language)): Path<(String, String)>,
) -> Response {
    if !xdesk_domain::kb::LANGUAGES.contains(&language.as_str()) {
        return ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text"));
    }
    if slug == "new" {
        return edit_page(&ctx, &me, &s, blank("", &language), true, None).await;
    }
    let a = match s
        .services
        .kb_article_for_editing(&me.principal, &slug)
        .await
    {
        Ok(Some(a)) => a,
        Ok(None) => return ctx.error(StatusCode::NOT_FOUND, ctx.tr.t("error.not_found_text")),
        Err(e) => return ctx.service_error(&e),
    };
    // A missing translation starts from the article's fields and another language's text.
    let t = a
        .translations
        .iter()
        .find(|t| t.language == language)
        .or_else(|| a.translations.first());
    let file = match t {
        Some(t) => xdesk_service::kb::file_of(&a, t, &language),
        None => blank(&slug, &language),
    };
    edit_page(&ctx, &me, &s, file, false, None).await
}

pub(crate) async fn save(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let (category, section) = match field(&f, "category").split_once('/') {
        Some((c, s)) => (c.to_owned(), Some(s.to_owned())),
        None => (field(&f, "category").to_owned(), None),
    };
    let file = ArticleFile {
        slug: field(&f, "slug").trim().to_owned(),
        language: field(&f, "language").to_owned(),
        front: FrontMatter {
            title: field(&f, "title").trim().to_owned(),
            description: field(&f, "description").trim().to_owned(),
            category,
            section,
            tags: field(&f, "tags")
                .split([',', '，'])
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
                .collect(),
            answers: f
                .iter()
                .filter(|(k, _)| k == "answers")
                .map(|(_, v)| v.clone())
                .collect(),
            status: field(&f, "status").to_owned(),
            visibility: if field(&f, "internal") == "1" {
                "internal".into()
            } else {
                "public".into()
            },
        },
        body: field(&f, "body").to_owned(),
    };
    match s.services.save_kb_article(&me.principal, &file).await {
        Ok(()) => {
            Redirect::to(&format!("/console/kb/{}/{}", file.slug, file.language)).into_response()
        }
        Err(ServiceError::Field(e)) => {
            let text = format!("{}: {}", e.field, e.reason);
            let is_new = field(&f, "slug").is_empty();
            edit_page(&ctx, &me, &s, file, is_new, Some(text)).await
        }
        Err(e) => ctx.service_error(&e),
    }
}

/// The editor's live preview: the Markdown as readers will see it, sanitised.
pub(crate) async fn preview(ctx: Ctx, _me: SignedIn, Form(f): Form<Fields>) -> Response {
    let mut r = axum::response::Html(crate::markdown::to_html(field(&f, "body"))).into_response();
    ctx.finish(&mut r);
    r
}

/// Makes an earlier version current again (a new version; the history keeps both).
pub(crate) async fn restore(
    ctx: Ctx,
    me: SignedIn,
    State(s): State<UiState>,
    Form(f): Form<Fields>,
) -> Response {
    if !ctx.csrf_ok(field(&f, "csrf")) {
        return ctx.csrf_refused();
    }
    let Ok(revision) = field(&f, "revision").parse() else {
        return ctx.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ctx.tr.t("error.bad_choice"),
        );
    };
    match s
        .services
        .restore_kb_revision(&me.principal, revision)
        .await
    {
        Ok(file) => {
            Redirect::to(&format!("/console/kb/{}/{}", file.slug, file.language)).into_response()
        }
        Err(e) => ctx.service_error(&e),
    }
}
