//! Surge alerts over the real server: a week of ordinary tickets (made through the API, then
//! moved into the past), an ordinary last hour that raises nothing, then thirty "USDT deposit on
//! TRON not arrived" tickets within six minutes. The check raises one surge, once across two
//! nodes; a supervisor's live socket hears it with the link to start an incident, an agent's
//! does not. The demo's own tickets raise nothing.

use crate::backend_test_db;
use crate::live::{expect, next, open};
use crate::support::*;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn services(app: &TestApp) -> &xdesk_service::Services {
    &app.running.as_ref().unwrap().services
}

/// A surge for the access matrix's rows.
pub(crate) async fn fixture(s: &xdesk_service::Services) -> i64 {
    let now = s.now();
    s.store
        .raise_surge(
            xdesk_store::NewSurge {
                key: "term:matrix".into(),
                intent: None,
                network: None,
                asset: None,
                words: vec!["matrix".into()],
                ticket_ids: Vec::new(),
                count: 12,
                window_minutes: 10,
                expected: 0.1,
                summary_en: "12 tickets in 9 minutes mentioning “matrix”".into(),
                summary_zh: "9 分钟内 12 张工单提到“matrix”".into(),
                first_at: now - Duration::minutes(9),
                last_at: now,
            },
            now,
        )
        .await
        .unwrap()
        .unwrap()
        .id
}

/// A subject, a first message, and the network and asset the customer gave.
type Request = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
);

/// Ordinary requests, each with the network and asset a customer would give.
const ORDINARY: &[Request] = &[
    (
        "ETH deposit not credited",
        "Etherscan shows my ETH deposit confirmed but my balance has not changed.",
        Some(("ethereum", "ETH")),
    ),
    (
        "BTC withdrawal pending",
        "My BTC withdrawal has been processing for three hours.",
        Some(("bitcoin", "BTC")),
    ),
    (
        "USDT deposit missing",
        "I deposited USDT on TRON yesterday and it is not in my account.",
        Some(("tron", "USDT")),
    ),
    (
        "KYC rejected",
        "My identity verification was rejected again, why?",
        None,
    ),
    (
        "Cannot log in",
        "I cannot log in to my account, the password reset mail never comes.",
        None,
    ),
    (
        "提现一直在处理中",
        "我的 SOL 提现一直显示处理中，请帮忙查一下。",
        Some(("solana", "SOL")),
    ),
    (
        "谷歌验证器丢了",
        "手机丢了，谷歌验证器没了，怎么重置？",
        None,
    ),
    (
        "Trading fees too high",
        "Why was I charged such a high fee on my futures order?",
        None,
    ),
];

fn ticket(
    app: &TestApp,
    n: usize,
    subject: &str,
    body: &str,
    crypto: Option<(&str, &str)>,
) -> Value {
    let mut t = json!({
        "subject": subject,
        "body": body,
        "customer": {"email": format!("surge{n}@example.com")},
        "group_id": app.payments_group,
    });
    if let Some((network, asset)) = crypto {
        t["crypto"] = json!({"network": network, "asset": asset});
    }
    t
}

/// Moves ticket `id`'s creation to `at` (the same text form on both databases).
async fn backdate(app: &TestApp, id: i64, at: DateTime<Utc>) {
    let when = at.to_rfc3339_opts(SecondsFormat::Micros, false);
    let n = services(app)
        .store
        .execute_unprepared(&format!(
            "UPDATE tickets SET created_at = '{when}' WHERE id = {id}"
        ))
        .await
        .unwrap();
    assert_eq!(n, 1);
}

/// Six days of ordinary tickets (one every two and a half hours), then eight in the last hour.
async fn ordinary_traffic(app: &TestApp) {
    let now = services(app).now();
    for i in 0..60 {
        let (subject, body, crypto) = ORDINARY[i % ORDINARY.len()];
        let id = app
            .create_ticket(ticket(app, i, subject, body, crypto))
            .await["id"]
            .as_i64()
            .unwrap();
        backdate(app, id, now - Duration::minutes(90 + 150 * i as i64)).await;
    }
    for (i, (subject, body, crypto)) in ORDINARY.iter().enumerate() {
        let id = app
            .create_ticket(ticket(app, 100 + i, subject, body, *crypto))
            .await["id"]
            .as_i64()
            .unwrap();
        backdate(app, id, now - Duration::minutes(7 * i as i64)).await;
    }
}

backend_test_db!(
    a_burst_alerts_supervisors_once_and_ordinary_traffic_does_not,
    |db| {
        // The periodic check is off: the test runs it when it wants.
        let Some(app) = spawn_app_with(db, |c| c.surge.interval_secs = 0).await else {
            return;
        };
        let s = services(&app).clone();
        ordinary_traffic(&app).await;

        // An ordinary week and hour: nothing.
        let quiet = s.run_surge_check().await.unwrap();
        assert!(quiet.raised.is_empty(), "{:?}", quiet.raised);
        assert!(quiet.tickets >= ORDINARY.len(), "{quiet:?}");
        let list = app.get_json(&app.supervisor_token, "/api/v1/surges").await;
        assert_eq!(list, json!([]));

        // Thirty customers within six minutes.
        let now = s.now();
        let texts = [
            (
                "USDT deposit on TRON not arrived",
                "I sent USDT over TRC20 to my deposit address 40 minutes ago, it is confirmed on Tronscan but not credited.",
            ),
            (
                "USDT TRC20 deposit not received",
                "My USDT deposit on the TRON network has not arrived yet, the transaction is confirmed.",
            ),
            (
                "Deposit USDT TRON missing",
                "Deposited USDT (TRC20) and still nothing in my balance after half an hour.",
            ),
        ];
        let mut burst = Vec::new();
        for i in 0..30 {
            let (subject, body) = texts[i % texts.len()];
            let id = app
                .create_ticket(ticket(&app, 200 + i, subject, body, Some(("tron", "USDT"))))
                .await["id"]
                .as_i64()
                .unwrap();
            backdate(&app, id, now - Duration::seconds(12 * (29 - i as i64))).await;
            burst.push(id);
        }

        // Opened now, so the tickets' own news is not in the way.
        let mut boss = open(&app, &app.supervisor_token, "", None).await.unwrap();
        let mut agent = open(&app, &app.agent_token, "", None).await.unwrap();

        // Two nodes check at once: one surge. They share the live bus, as Redis makes nodes do.
        let other = xdesk::open(&app.config)
            .await
            .unwrap()
            .with_bus(s.bus.clone());
        let (a, b) = tokio::join!(s.run_surge_check(), other.run_surge_check());
        let raised: Vec<_> = a
            .unwrap()
            .raised
            .into_iter()
            .chain(b.unwrap().raised)
            .collect();
        assert_eq!(raised.len(), 1, "{raised:#?}");
        let surge = &raised[0];
        assert_eq!(surge.key, "network:deposit_missing:tron");
        assert_eq!(surge.count, 30);
        assert_eq!(
            surge.summary_en,
            "30 tickets in 6 minutes: USDT deposits on Tron"
        );
        assert_eq!(
            surge.summary_zh,
            "6 分钟内 30 张工单：Tron 上的 USDT 充值未到账"
        );

        // The supervisor hears it, with where to start an incident; the agent does not.
        let heard = expect(&mut boss, "surge").await;
        assert_eq!(heard["surge_id"], surge.id);
        assert_eq!(heard["summary_en"], surge.summary_en.as_str());
        assert_eq!(
            heard["link"],
            format!("/console/incidents/new?surge={}", surge.id)
        );
        while let Some(v) = next(&mut agent, 2).await {
            assert_ne!(v["type"], "surge", "{v}");
        }

        // Still running: the next check raises nothing new.
        let again = s.run_surge_check().await.unwrap();
        assert!(again.raised.is_empty(), "{:?}", again.raised);
        assert!(again.running >= 1);

        // The rule is pre-filled for the incident page, and for supervisors only.
        let list = app.get_json(&app.supervisor_token, "/api/v1/surges").await;
        let row = &list[0];
        assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
        assert_eq!(
            (
                row["intent"].as_str(),
                row["network"].as_str(),
                row["asset"].as_str()
            ),
            (Some("deposit_missing"), Some("tron"), Some("USDT"))
        );
        let mut ids: Vec<i64> = row["ticket_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, burst);
        assert_eq!(row["running"], true);
        // The words the tickets share are read from their subjects and first messages.
        let words = row["words"].as_array().unwrap();
        let burst_text = texts
            .iter()
            .map(|(s, b)| format!("{s} {b}").to_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(!words.is_empty(), "{row}");
        for w in words {
            assert!(burst_text.contains(w.as_str().unwrap()), "{w} in {row}");
        }
        let r = app.get(&app.agent_token, "/api/v1/surges").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let supervisor = xdesk_service::Principal::Agent {
            id: 0,
            role: xdesk_domain::identity::Role::Supervisor,
            group_ids: Vec::new(),
            two_factor: false,
        };
        assert_eq!(s.surge(&supervisor, surge.id).await.unwrap().id, surge.id);

        // Dismissed once; it stays quiet while it runs.
        let path = format!("/api/v1/surges/{}/dismiss", surge.id);
        let r = app.post(&app.supervisor_token, &path, json!({})).await;
        assert_eq!(r.status(), StatusCode::OK);
        let r = app.post(&app.supervisor_token, &path, json!({})).await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert_eq!(
            app.get_json(&app.supervisor_token, "/api/v1/surges").await,
            json!([])
        );
        assert!(s.run_surge_check().await.unwrap().raised.is_empty());
        app.stop().await;
    }
);

/// The demo's seeded tickets, checked the moment they are made and an hour on: nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_raises_no_surge() {
    let (_dir, running) = crate::demo::fresh_server().await;
    let s = &running.services;
    xdesk::demo::seed(s).await.unwrap().unwrap();
    let check = s.run_surge_check().await.unwrap();
    assert!(check.tickets >= 10, "{check:?}");
    assert!(check.raised.is_empty(), "{:?}", check.raised);
    s.advance_clock(Duration::minutes(65));
    assert!(s.run_surge_check().await.unwrap().raised.is_empty());
    let _ = running.shutdown.send(());
}

/// In a real browser: a supervisor's console shows a surge as a banner whose link starts an
/// incident from its tickets, and (notifications on) as a desktop notification saying the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisors_console_shows_the_surge_with_its_link() {
    use fantoccini::Locator;
    let app = spawn_app_with(Db::Sqlite, |c| c.surge.interval_secs = 0)
        .await
        .unwrap();
    let Some(d) = crate::browser::Driver::start(false).await else {
        return;
    };
    let c = &d.client;
    c.goto(&app.url("/console/login")).await.unwrap();
    d.sign_in("super@x.test").await;
    c.goto(&app.url("/console?view=all")).await.unwrap();
    d.until_text("Enable desktop notifications").await;
    c.execute(crate::browser::NOTIFICATION_SHIM, vec![])
        .await
        .unwrap();
    d.click("[data-notify-toggle]").await;
    d.until_text("Turn off desktop notifications").await;
    c.wait()
        .for_element(Locator::Css("html[data-live]"))
        .await
        .unwrap();

    let s = services(&app);
    let id = fixture(s).await;
    let row = s.store.surge(id).await.unwrap().unwrap();
    s.bus.publish(xdesk_service::live::LiveEvent::Surge {
        surge_id: id,
        summary_en: row.summary_en.clone(),
        summary_zh: row.summary_zh.clone(),
        count: row.count,
    });
    d.until_text("12 tickets in 9 minutes mentioning “matrix”. Start an incident from them?")
        .await;
    let link = c
        .find(Locator::Css("#alerts .alert.surge a"))
        .await
        .unwrap();
    assert_eq!(
        link.attr("href").await.unwrap(),
        Some(format!("/console/incidents/new?surge={id}"))
    );
    let notes = c
        .execute(
            "return window.__notes.map(function (n) { return [n.title, n.body]; })",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        notes,
        json!([[
            "Surge",
            "12 tickets in 9 minutes mentioning “matrix” Start an incident from them?"
        ]])
    );
    d.screenshot("console-surge-en").await;
    d.close().await;
    app.stop().await;
}
