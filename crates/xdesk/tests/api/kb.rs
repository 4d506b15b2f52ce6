//! The knowledge base over real HTTP: the demo's articles import (English and Chinese), search
//! answers in both languages for anyone, internal articles only for agents, a bad import
//! writes nothing, and an export imports back the same.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::Value;

async fn search(app: &TestApp, token: Option<&str>, q: &str, lang: &str) -> Vec<Value> {
    let mut req = app
        .http
        .get(app.url("/api/v1/kb/search"))
        .query(&[("q", q), ("lang", lang)]);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<Vec<Value>>().await.unwrap()
}

fn slugs(hits: &[Value]) -> Vec<&str> {
    hits.iter().map(|h| h["slug"].as_str().unwrap()).collect()
}

backend_test!(the_help_center_answers_in_both_languages, |app| {
    let services = &app.running.as_ref().unwrap().services;
    xdesk::demo::seed_knowledge_base(services).await.unwrap();

    let hits = search(&app, None, "充值没到账怎么办", "zh").await;
    assert!(!hits.is_empty());
    assert_eq!(hits[0]["language"], "zh");
    assert!(
        hits[0]["snippet"].as_str().unwrap().contains("<b>"),
        "{}",
        hits[0]
    );
    let hits = search(&app, None, "withdrawl stuck pending", "en").await;
    assert!(!hits.is_empty());
    assert!(hits.iter().all(|h| h["language"] == "en"));

    // Internal articles: agents only.
    let agent = services.authenticate(&app.agent_token).await.unwrap();
    let files = services.export_kb(&agent).await.unwrap_err();
    assert!(matches!(files, xdesk_service::ServiceError::Forbidden(_)));
    let all = services.store.kb_articles().await.unwrap();
    let internal = all
        .iter()
        .find(|a| a.article.visibility == "internal" && a.article.status == "published")
        .expect("the demo has internal articles");
    let title = internal
        .translations
        .iter()
        .find(|t| t.language == "en")
        .unwrap()
        .title
        .clone();
    let public = search(&app, None, &title, "en").await;
    assert!(!slugs(&public).contains(&internal.article.slug.as_str()));
    let agents = search(&app, Some(&app.agent_token), &title, "en").await;
    assert_eq!(slugs(&agents)[0], internal.article.slug);

    // A bad file refuses the whole import, naming it; nothing is written.
    let before = services.store.kb_articles().await.unwrap().len();
    let files = vec![
        (
            "fresh-article.en.md".to_owned(),
            "+++\ntitle = \"Fresh\"\ncategory = \"deposits\"\n+++\nBody".to_owned(),
        ),
        (
            "broken.en.md".to_owned(),
            "+++\ntitle = \"Broken\"\ncategory = \"no-such-category\"\n+++\nBody".to_owned(),
        ),
    ];
    let e = services
        .import_kb(&xdesk_service::Principal::System, None, &files)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("broken.en.md"), "{e}");
    assert_eq!(services.store.kb_articles().await.unwrap().len(), before);

    // Export, then import into another server: the same answers.
    let admin = app.admin_token().await;
    let principal = services.authenticate(&admin).await.unwrap();
    let exported = services.export_kb(&principal).await.unwrap();
    assert!(exported.len() > 160);
    let other = spawn_app(Db::Sqlite).await.unwrap();
    let (cats, files): (Vec<_>, Vec<_>) = exported
        .into_iter()
        .partition(|(n, _)| n == "_categories.toml");
    other
        .running
        .as_ref()
        .unwrap()
        .services
        .import_kb(&xdesk_service::Principal::System, Some(&cats[0].1), &files)
        .await
        .unwrap();
    for (q, lang) in [("充值没到账怎么办", "zh"), ("lost my 2fa phone", "en")] {
        assert_eq!(
            slugs(&search(&app, None, q, lang).await),
            slugs(&search(&other, None, q, lang).await),
            "{q}"
        );
    }
    other.stop().await;
    app.stop().await;
});

backend_test!(
    the_help_center_pages_serve_customers_and_search_engines,
    |app| {
        let services = &app.running.as_ref().unwrap().services;
        xdesk::demo::seed_knowledge_base(services).await.unwrap();
        let mut web = crate::web::Web::new(&app);

        let r = web.get("/help?lang=zh").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body.contains("帮助中心") && r.body.contains("充值"),
            "{}",
            r.body
        );
        assert!(r.body.contains("hreflang=\"en\""));
        let r = web.get("/help/categories/deposits?lang=en").await;
        assert!(r.body.contains("Crypto deposits"), "{}", r.body);

        let r = web.get("/help/articles/deposit-not-credited?lang=en").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("<meta name=\"description\""));
        assert!(r.body.contains(&format!(
            "<link rel=\"canonical\" href=\"{}/help/articles/deposit-not-credited?lang=en\">",
            app.base
        )));
        assert!(r.body.contains("hreflang=\"zh-CN\""));
        assert!(r.body.contains("<h2>"), "Markdown is rendered");
        assert!(
            !r.body.contains("<script src=\"/static/console.js\""),
            "no script needed"
        );
        let r = web.get("/help/articles/deposit-not-credited?lang=zh").await;
        assert!(r.body.contains("lang=\"zh-CN\""));

        // Internal and draft articles are not public.
        for slug in [
            "agent-identity-check-2fa-reset",
            "futures-insurance-fund",
            "no-such-article",
        ] {
            let r = web.get(&format!("/help/articles/{slug}")).await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{slug}");
        }

        let r = web
            .get("/help/search?lang=zh&q=%E5%85%85%E5%80%BC%E6%B2%A1%E5%88%B0%E8%B4%A6")
            .await;
        assert!(
            r.body
                .contains("/help/articles/deposit-not-credited?lang=zh"),
            "{}",
            r.body
        );
        assert!(r.body.contains("<b>"));

        // Was it helpful? Counted; never without the form's token.
        let csrf = web.csrf();
        let r = web
            .post(
                "/help/articles/deposit-not-credited/vote",
                &[("csrf", csrf.as_str()), ("helpful", "1"), ("lang", "en")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(
            web.get(r.location())
                .await
                .body
                .contains("Thank you for your feedback.")
        );
        let r = web
            .post(
                "/help/articles/deposit-not-credited/vote",
                &[("csrf", "forged"), ("helpful", "0")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        let counts = || async {
            let a = services
                .store
                .kb_article("deposit-not-credited")
                .await
                .unwrap()
                .unwrap();
            (a.article.helpful_yes, a.article.helpful_no)
        };
        assert_eq!(counts().await, (1, 0));
        // One answer per reader: the same browser again changes nothing, a changed mind moves
        // its vote, another reader adds one, and a forged reader cookie is a new reader.
        assert!(web.jar.contains_key("xdesk_reader"));
        vote(&mut web, "1").await;
        assert_eq!(counts().await, (1, 0));
        vote(&mut web, "0").await;
        assert_eq!(counts().await, (0, 1));
        let mut other = crate::web::Web::new(&app);
        other.get("/help").await;
        vote(&mut other, "1").await;
        assert_eq!(counts().await, (1, 1));
        other
            .jar
            .insert("xdesk_reader".into(), "not-a-reader".into());
        vote(&mut other, "1").await;
        assert_eq!(counts().await, (2, 1));

        let r = web.get("/sitemap.xml").await;
        assert!(
            r.body
                .contains("/help/articles/deposit-not-credited?lang=zh")
        );
        assert!(r.body.contains("hreflang=\"zh-CN\""));
        assert!(!r.body.contains("agent-identity-check-2fa-reset"));
        app.stop().await;
    }
);

backend_test!(
    suggestions_while_typing_count_the_tickets_they_deflect,
    |app| {
        let services = &app.running.as_ref().unwrap().services;
        xdesk::demo::seed_knowledge_base(services).await.unwrap();
        // Two customers signed in to the portal through the email link's session.
        let mut customers = Vec::new();
        for email in ["mei@example.com", "ken@example.com"] {
            let identity = xdesk_domain::identity::Identity::parse("email", email).unwrap();
            let c = services
                .store
                .upsert_customer(&[identity], email, "zh")
                .await
                .unwrap();
            let token = format!("xdc_{}", uuid::Uuid::new_v4().simple());
            services
                .store
                .create_customer_session(
                    &xdesk_service::auth::sha256_hex(&token),
                    c.id,
                    chrono::Utc::now() + chrono::Duration::hours(1),
                )
                .await
                .unwrap();
            let mut web = crate::web::Web::new(&app);
            web.jar.insert("xdesk_portal".into(), token);
            web.jar.insert("xdesk_lang".into(), "zh".into());
            web.get("/portal/new").await;
            customers.push(web);
        }
        let mut asked = Vec::new();
        for web in &mut customers {
            let r = web
                .post(
                    "/portal/suggest",
                    &[("subject", "充值没到账"), ("body", "已经三个小时了")],
                )
                .await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(
                r.body
                    .contains("/portal/suggested/deposit-not-credited?lang=zh"),
                "{}",
                r.body
            );
            let r = web
                .get("/portal/suggested/deposit-not-credited?lang=zh")
                .await;
            assert_eq!(r.location(), "/help/articles/deposit-not-credited?lang=zh");
            asked.push(r);
        }
        // Nothing typed yet: nothing suggested.
        let r = customers[0]
            .post("/portal/suggest", &[("subject", ""), ("body", "")])
            .await;
        assert!(!r.body.contains("/portal/suggested/"));
        // Mei opens a ticket anyway; Ken does not.
        let csrf = customers[0].csrf();
        let form = reqwest::multipart::Form::new()
            .text("csrf", csrf)
            .text("issue_type", "other")
            .text("subject", "还是没到账")
            .text("body", "看了文章还是不行");
        let r = customers[0].post_multipart("/portal/new", form).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        // In the chat widget: two anonymous visitors open the suggestion; one then writes (a
        // chat opens), the other leaves. An article that does not exist is refused.
        use crate::chat::{connect, expect, send};
        use serde_json::json;
        let mut writes = connect(&app, "/api/v1/chat/customer?lang=zh", None).await;
        expect(&mut writes, "welcome").await;
        send(
            &mut writes,
            json!({"type": "suggestion_opened", "slug": "deposit-not-credited"}),
        )
        .await;
        send(
            &mut writes,
            json!({"type": "message", "body": "文章看了，还是没到账"}),
        )
        .await;
        expect(&mut writes, "ticket").await;
        let mut leaves = connect(&app, "/api/v1/chat/customer?lang=zh", None).await;
        expect(&mut leaves, "welcome").await;
        send(
            &mut leaves,
            json!({"type": "suggestion_opened", "slug": "deposit-not-credited"}),
        )
        .await;
        send(
            &mut leaves,
            json!({"type": "suggestion_opened", "slug": "no-such-article"}),
        )
        .await;
        assert_eq!(
            expect(&mut leaves, "error").await["code"],
            "suggestion_refused"
        );
        let counts = services
            .store
            .deflections(chrono::Utc::now() + chrono::Duration::hours(1))
            .await
            .unwrap();
        let d = counts
            .iter()
            .find(|d| d.slug == "deposit-not-credited")
            .unwrap();
        assert_eq!((d.opened, d.deflected), (4, 2));
        assert_eq!((d.chat_opened, d.chat_deflected), (2, 1));
        // Editors see the report; customers do not.
        let mut agent = crate::web::Web::new(&app);
        agent.sign_in("agent@x.test", None).await;
        let r = agent.get("/console/kb-report").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.body.contains("data-slug=\"deposit-not-credited\""));
        // Only suggestions older than the 30-minute window are settled and shown; the column
        // for the chat widget is there.
        assert!(
            r.body.contains("<td class=\"chat\">0 / 0</td>"),
            "{}",
            r.body
        );
        let r = customers[1].get("/console/kb-report").await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        app.stop().await;
    }
);

backend_test!(
    a_ticket_page_suggests_articles_and_possible_duplicates,
    |app| {
        let services = &app.running.as_ref().unwrap().services;
        xdesk::demo::seed_knowledge_base(services).await.unwrap();
        let mut first = ticket_body(&app, "充值未到账");
        first["language"] = serde_json::json!("zh");
        let a = app.create_ticket(first).await["id"].as_i64().unwrap();
        let b = app
            .create_ticket(ticket_body(&app, "USDT 充值 还是没有到账"))
            .await["id"]
            .as_i64()
            .unwrap();
        let mut other = ticket_body(&app, "KYC rejected");
        other["customer"] = serde_json::json!({"email": "someone.else@example.com"});
        app.create_ticket(other).await;
        let mut web = crate::web::Web::new(&app);
        web.sign_in("agent@x.test", None).await;
        let page = web.get(&format!("/console/tickets/{a}")).await;
        assert!(
            page.body.contains("Articles that may answer this"),
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("/help/articles/deposit-not-credited?lang=zh")
        );
        assert!(page.body.contains("class=\"link insert-link\""));
        assert!(page.body.contains("Possible duplicates"));
        assert!(
            page.body
                .contains(&format!("<a href=\"/console/tickets/{b}\">"))
        );
        app.stop().await;
    }
);

/// Answers "was this helpful?" on the deposit article.
async fn vote(web: &mut crate::web::Web, helpful: &str) {
    let csrf = web.csrf();
    let r = web
        .post(
            "/help/articles/deposit-not-credited/vote",
            &[("csrf", csrf.as_str()), ("helpful", helpful)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

async fn save_article(web: &mut crate::web::Web, f: Vec<(String, String)>) -> crate::web::Page {
    let req = web
        .http
        .post(format!("{}/console/kb/save", web.base))
        .form(&f);
    web.send(req).await
}

backend_test!(agents_write_articles_in_the_console, |app| {
    let services = &app.running.as_ref().unwrap().services;
    xdesk::demo::seed_knowledge_base(services).await.unwrap();
    let mut web = crate::web::Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let csrf = web.csrf();
    let r = web.get("/console/kb").await;
    assert!(r.body.contains("deposit-not-credited"));
    let r = web.get("/console/kb/deposit-not-credited/en").await;
    assert!(r.body.contains("name=\"title\""));
    // Agents search the knowledge base, internal articles included, with snippets.
    let r = web
        .get("/console/kb?q=identity%20check%202FA%20reset")
        .await;
    assert!(
        r.body
            .contains("/console/kb/agent-identity-check-2fa-reset/"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<b>"));
    // The preview renders and sanitises as readers will see it.
    let r = web
        .post(
            "/console/kb/preview",
            &[("body", "## Steps\n\n<script>alert(1)</script>")],
        )
        .await;
    assert!(
        r.body.contains("<h2>Steps</h2>") && !r.body.contains("<script"),
        "{}",
        r.body
    );

    let form = |slug: &str, title: &str, category: &str, internal: bool| {
        let mut f = vec![
            ("csrf".to_owned(), csrf.clone()),
            ("slug".to_owned(), slug.to_owned()),
            ("language".to_owned(), "en".to_owned()),
            ("category".to_owned(), category.to_owned()),
            ("status".to_owned(), "published".to_owned()),
            ("title".to_owned(), title.to_owned()),
            ("description".to_owned(), "Short.".to_owned()),
            ("tags".to_owned(), "quokka, test".to_owned()),
            ("answers".to_owned(), "missing_deposit".to_owned()),
            (
                "body".to_owned(),
                "## Quokka steps\n\nCheck the quokka ledger.".to_owned(),
            ),
        ];
        if internal {
            f.push(("internal".to_owned(), "1".to_owned()));
        }
        f
    };
    // A new article is searchable and public at once.
    let r = save_article(
        &mut web,
        form(
            "quokka-ledger",
            "The quokka ledger",
            "deposits/crypto-deposits",
            false,
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let hits = search(&app, None, "quokka ledger", "en").await;
    assert_eq!(slugs(&hits)[0], "quokka-ledger");
    assert_eq!(
        web.get("/help/articles/quokka-ledger?lang=en").await.status,
        StatusCode::OK
    );
    // Made internal: gone from the public, kept for agents; both versions in the history.
    let r = save_article(
        &mut web,
        form("quokka-ledger", "The quokka ledger", "deposits", true),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!slugs(&search(&app, None, "quokka ledger", "en").await).contains(&"quokka-ledger"));
    assert_eq!(
        slugs(&search(&app, Some(&app.agent_token), "quokka ledger", "en").await)[0],
        "quokka-ledger"
    );
    let page = web.get("/console/kb/quokka-ledger/en").await;
    assert_eq!(page.body.matches("agent:").count(), 2, "{}", page.body);
    // The first version restored: public again, and a third version in the history.
    let first = page
        .body
        .rsplit("name=\"revision\" value=\"")
        .next()
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_owned();
    let r = web
        .post(
            "/console/kb/restore",
            &[("csrf", csrf.as_str()), ("revision", first.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(
        slugs(&search(&app, None, "quokka ledger", "en").await)[0],
        "quokka-ledger"
    );
    let page = web.get("/console/kb/quokka-ledger/en").await;
    assert_eq!(page.body.matches("agent:").count(), 3);
    // Refused: an unknown category (nothing saved), no CSRF token, a customer.
    let r = save_article(
        &mut web,
        form("other-quokka", "Other", "no-such-category", false),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        search(&app, Some(&app.agent_token), "other", "en")
            .await
            .iter()
            .all(|h| h["slug"] != "other-quokka")
    );
    let mut bad = form("quokka-ledger", "Forged", "deposits", false);
    bad[0].1 = "forged".into();
    assert_eq!(
        save_article(&mut web, bad).await.status,
        StatusCode::FORBIDDEN
    );
    let r = crate::web::Web::new(&app).get("/console/kb").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    app.stop().await;
});

backend_test!(another_node_follows_article_changes, |app| {
    let services = &app.running.as_ref().unwrap().services;
    // A second node: same database, its own index.
    let other = xdesk_service::Services::new(services.store.clone(), Default::default())
        .with_kb_index(std::sync::Arc::new(std::sync::RwLock::new(
            xdesk_search::articles::ArticleIndex::in_memory().unwrap(),
        )));
    assert_eq!(other.reindex_kb().await.unwrap(), 0);
    xdesk::demo::seed_knowledge_base(services).await.unwrap();
    let ask = |text: &'static str| xdesk_service::kb::KbSearch {
        text: text.into(),
        language: Some("zh".into()),
        category: None,
        limit: 3,
    };
    assert!(
        other
            .search_kb(None, ask("充值没到账"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(other.follow_article_feed().await.unwrap() >= 80);
    let hits = other.search_kb(None, ask("充值没到账")).await.unwrap();
    assert_eq!(hits[0].slug, "deposit-not-credited");
    assert_eq!(other.follow_article_feed().await.unwrap(), 0, "nothing new");
    app.stop().await;
});

backend_test!(a_duplicate_merges_in_one_click, |app| {
    let a = app
        .create_ticket(ticket_body(&app, "USDT 充值未到账"))
        .await["id"]
        .as_i64()
        .unwrap();
    let b = app.create_ticket(ticket_body(&app, "充值 还没到账")).await["id"]
        .as_i64()
        .unwrap();
    let mut other = ticket_body(&app, "充值 另一个客户");
    other["customer"] = serde_json::json!({"email": "not.alice@example.com"});
    let c = app.create_ticket(other).await["id"].as_i64().unwrap();
    let mut web = crate::web::Web::new(&app);
    web.sign_in("agent@x.test", None).await;
    let page = web.get(&format!("/console/tickets/{a}")).await;
    assert!(page.body.contains("Merge into this ticket"));
    let csrf = web.csrf();
    let path = format!("/console/tickets/{a}/merge");
    // Without the token, or across customers: refused.
    let r = web.post(&path, &[("source", &b.to_string())]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = web
        .post(&path, &[("csrf", &csrf), ("source", &c.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = web
        .post(&path, &[("csrf", &csrf), ("source", &b.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // The duplicate is closed and tells the customer where to look; its history records it.
    let dup = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{b}"))
        .await;
    assert_eq!(dup["state"], "closed");
    let last = dup["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["internal"], false);
    assert!(last["body"].as_str().unwrap().contains("XD-"), "{last}");
    let h = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{b}/history"))
        .await;
    assert!(h.to_string().contains("merged_into"));
    assert_eq!(h["verification"]["valid"], true);
    assert_eq!(dup["merged_into"], a);
    // The target has the duplicate's conversation, message by message.
    let target = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{a}"))
        .await;
    let moved = target["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["moved_from"]["ticket"] == b)
        .unwrap_or_else(|| panic!("no message from {b} in {target}"))
        .clone();
    assert_eq!(moved["author_kind"], "customer");
    assert_eq!(moved["moved_from"]["seq"], 1);
    assert!(
        moved["body"].as_str().unwrap().contains("提币未到账"),
        "{moved}"
    );
    // Merging again: the duplicate is closed now.
    let r = web
        .post(&path, &[("csrf", &csrf), ("source", &b.to_string())])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    app.stop().await;
});

backend_test!(the_knowledge_base_round_trips_through_files, |app| {
    let services = &app.running.as_ref().unwrap().services;
    xdesk::demo::seed_knowledge_base(services).await.unwrap();
    // Export to a directory (as into git), change one file, import it back: the running
    // server finds the change through the article feed.
    let dir = tempfile::tempdir().unwrap();
    let n = xdesk::kb_export(&app.config, dir.path()).await.unwrap();
    assert!(n > 180, "{n} files");
    let path = dir.path().join("deposit-not-credited.en.md");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("+++\n"));
    std::fs::write(&path, text.replace("## ", "## Wombat check\n\n## ")).unwrap();
    let imported = xdesk::kb_import(&app.config, dir.path()).await.unwrap();
    assert_eq!(imported, n - 1, "every article file, not the categories");
    eventually("the running server to follow the import", || async {
        slugs(&search(&app, None, "wombat", "en").await).contains(&"deposit-not-credited")
    })
    .await;
    // A broken file refuses the import, naming it.
    std::fs::write(dir.path().join("broken.en.md"), "no front matter").unwrap();
    let e = xdesk::kb_import(&app.config, dir.path()).await.unwrap_err();
    assert!(e.to_string().contains("broken.en.md"), "{e}");
    app.stop().await;
});
