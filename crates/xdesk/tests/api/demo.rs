//! The demo's data, as `xdesk demo` seeds it on the embedded database: agents, tickets that
//! triage sorted and SLA policies promise, a macro, and the knowledge base.

/// A server on a fresh embedded database, not seeded yet (the directory lives as long as it).
pub(crate) async fn fresh_server() -> (tempfile::TempDir, xdesk::Running) {
    let dir = tempfile::tempdir().unwrap();
    let config = xdesk::Config {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}/demo.db?mode=rwc", dir.path().display()),
        data_dir: dir.path().join("data"),
        ..xdesk::Config::default()
    };
    let running = xdesk::start(&config).await.unwrap();
    (dir, running)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_seeds_a_working_desk() {
    let (_dir, running) = fresh_server().await;
    let s = &running.services;
    let logins = xdesk::demo::seed(s)
        .await
        .unwrap()
        .expect("a fresh database is seeded");
    assert!(!logins.is_empty());
    assert!(xdesk::demo::seed(s).await.unwrap().is_none(), "seeded once");
    let tickets = s
        .store
        .list_tickets(&xdesk_store::TicketFilter {
            limit: 100,
            ..xdesk_store::TicketFilter::new(xdesk_store::Visibility::All)
        })
        .await
        .unwrap();
    assert!(tickets.len() >= 10);
    assert!(
        tickets.iter().all(|t| t.intent.is_some()),
        "every ticket triaged"
    );
    for t in &tickets {
        let clocks = s.sla_view(t).await.unwrap();
        assert!(
            clocks.iter().any(|c| c.kind == "first_response"),
            "ticket {} has promises",
            t.id
        );
    }
    assert_eq!(s.store.macros().await.unwrap().len(), 1);
    // A newcomer's first `/verify` questions get real answers.
    let base = format!("http://{}", running.addr);
    let ask = |q: &str| {
        let url = format!("{base}/api/v1/verify?q={q}");
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()["verdict"]
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    assert_eq!(ask("https://help.xdesk.example/").await, "official");
    assert_eq!(ask("support%40xdesk.example").await, "official");
    assert_eq!(ask("%40xdesk_demo_support").await, "official");
    assert_eq!(ask("xdesk-example.com").await, "lookalike");
    assert_eq!(ask("https://xdesk.example%40evil.test/").await, "lookalike");
    assert!(s.store.kb_articles().await.unwrap().len() >= 80);
    let _ = running.shutdown.send(());
    let _ = running.task.await;
}
