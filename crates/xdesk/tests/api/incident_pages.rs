//! The console's incident pages in a real Chromium, as a duty supervisor and an agent use them
//! during an outage: the supervisor starts an incident from a customer's ticket (the form
//! pre-filled from it), publishes an update in English and Chinese after reading what each
//! customer will get, an agent links four more tickets at once from the inbox's bulk bar, and
//! the incident page shows what the broadcaster delivered, ticket by ticket.

use crate::browser::Driver;
use crate::support::*;
use fantoccini::Locator;
use serde_json::{Value, json};
use std::time::Duration;
use xdesk_service::Principal;
use xdesk_service::people::CreateAgent;

async fn js(d: &Driver, script: &str) -> Value {
    d.client.execute(script, vec![]).await.unwrap()
}

/// Waits (up to 10 s) until `script` returns true.
async fn until(d: &Driver, what: &str, script: &str) {
    for _ in 0..100 {
        if js(d, script).await == json!(true) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never: {what}\n{}", d.text().await);
}

/// A page's HTML, fetched with these cookies.
async fn page_text(app: &TestApp, path: &str, cookies: &str) -> String {
    app.http
        .get(app.url(path))
        .header("cookie", cookies)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn sign_in_as(d: &Driver, app: &TestApp, email: &str) {
    d.client.delete_all_cookies().await.unwrap();
    d.client.goto(&app.url("/console/login")).await.unwrap();
    d.sign_in(email).await;
}

/// A missing USDT deposit on TRON, from a customer writing `body`.
fn deposit(subject: &str, body: &str, who: &str, group: Option<i64>) -> Value {
    json!({
        "subject": subject,
        "body": body,
        "customer": {"email": format!("{who}@example.com"), "name": who},
        "group_id": group,
        "crypto": {"network": "tron", "asset": "usdt"},
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supervisor_runs_an_incident_from_a_ticket_and_an_agent_links_tickets_in_bulk() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let Some(d) = Driver::start_at(1440, 1400, false).await else {
        return;
    };
    let services = app.running.as_ref().unwrap().services.clone();
    // The duty supervisor watches the payments queue (and, as supervisors do, unrouted tickets).
    services
        .create_agent(
            &Principal::System,
            CreateAgent {
                email: "duty@x.test".into(),
                display_name: "Lin Duty".into(),
                role: "supervisor".into(),
                password: PASSWORD.into(),
                group_ids: vec![app.payments_group],
            },
        )
        .await
        .unwrap();
    let admin = app.admin_token().await;
    let mut comps = Vec::new();
    for (name, zh, parent, network) in [
        ("Deposits", "充值", None, None),
        ("TRON (TRC-20)", "TRON（TRC-20）", Some(0), Some("tron")),
        ("Withdrawals", "提币", None, None),
    ] {
        let r = app
            .post(
                &admin,
                "/api/v1/components",
                json!({"name": name, "name_zh": zh, "network": network,
                       "parent_id": parent.map(|i: usize| comps[i])}),
            )
            .await;
        assert_eq!(r.status(), reqwest::StatusCode::CREATED);
        comps.push(r.json::<Value>().await.unwrap()["id"].as_i64().unwrap());
    }
    let source = app
        .create_ticket(deposit(
            "USDT deposit on TRON not credited",
            "I sent 500 USDT over TRC-20 two hours ago and it is still not in my account.",
            "first.writer",
            None,
        ))
        .await["id"]
        .as_i64()
        .unwrap();
    let mut more = Vec::new();
    for (n, (subject, body)) in [
        (
            "TRC20 USDT deposit missing",
            "My USDT deposit via TRON has not arrived yet.",
        ),
        (
            "充值未到账",
            "我通过 TRON 网络充值的 USDT 还没有到账，已经一个小时了。",
        ),
        (
            "Deposit pending for hours",
            "USDT on TRON, confirmed on chain, not credited.",
        ),
        (
            "USDT 充值一直没到",
            "TRC20 充值 USDT 显示已确认，但是账户里没有。",
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let t = app
            .create_ticket(deposit(
                subject,
                body,
                &format!("writer{n}"),
                Some(app.payments_group),
            ))
            .await;
        more.push(t["id"].as_i64().unwrap());
    }
    let c = &d.client;

    // 1. The supervisor opens the first ticket and starts an incident from it.
    sign_in_as(&d, &app, "duty@x.test").await;
    c.goto(&app.url(&format!("/console/tickets/{source}")))
        .await
        .unwrap();
    d.until_text("Start an incident from this ticket").await;
    c.find(Locator::LinkText("Start an incident from this ticket"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.until_text("Started from ticket").await;
    // Pre-filled from the ticket: its subject as the title, its network and asset as the rule.
    let title = js(
        &d,
        "return document.querySelector('input[name=title]').value",
    )
    .await;
    assert_eq!(title, json!("USDT deposit on TRON not credited"));
    assert_eq!(
        js(
            &d,
            "return document.querySelector('input[name=rule_networks][value=tron]').checked"
        )
        .await,
        json!(true)
    );
    assert_eq!(
        js(
            &d,
            "return document.querySelector('input[name=rule_assets]').value"
        )
        .await,
        json!("USDT")
    );
    c.find(Locator::Css("input[name=title]"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    d.type_into("input[name=title]", "USDT deposits on TRON delayed")
        .await;
    d.type_into("input[name=title_zh]", "TRON 网络 USDT 充值延迟")
        .await;
    c.find(Locator::Css(&format!("select[name=comp_{}]", comps[1])))
        .await
        .unwrap()
        .select_by_value("major_outage")
        .await
        .unwrap();
    c.find(Locator::Css("select[name=impact]"))
        .await
        .unwrap()
        .select_by_value("major")
        .await
        .unwrap();
    d.type_into(
        "textarea[name=body]",
        "Deposits of USDT on TRON are delayed. Your funds are safe; we are investigating.",
    )
    .await;
    d.type_into(
        "textarea[name=body_zh]",
        "TRON 网络的 USDT 充值出现延迟。您的资金安全，我们正在排查。",
    )
    .await;
    // The next update is promised an hour ahead unless the supervisor says otherwise.
    let next = js(
        &d,
        "return document.querySelector('#incident-form input[name=next_update_at]').value",
    )
    .await;
    let next = chrono::NaiveDateTime::parse_from_str(next.as_str().unwrap(), "%Y-%m-%dT%H:%M")
        .unwrap()
        .and_utc();
    let ahead = next - chrono::Utc::now();
    assert!(
        ahead > chrono::Duration::minutes(55) && ahead < chrono::Duration::minutes(66),
        "{next}"
    );
    d.screenshot("incident-new-en").await;
    d.click("#incident-form button[type=submit]").await;
    d.until_text("Post an update").await;
    let path = c.current_url().await.unwrap().path().to_owned();
    let id: i64 = path
        .strip_prefix("/console/incidents/")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not on the incident page: {path}"));
    d.until_text("TRON (TRC-20): Major outage").await;
    let detail = services
        .incident_detail(&Principal::System, id)
        .await
        .unwrap();
    assert_eq!(detail.incident.source_ticket_id, Some(source));
    assert_eq!(detail.incident.impact, "major");
    assert_eq!(detail.components, vec![(comps[1], "major_outage".into())]);
    assert_eq!(detail.linked, 1, "the ticket it started from is linked");

    // 2. An update in both languages, read first as each customer will get it.
    c.find(Locator::Css("#compose select[name=status]"))
        .await
        .unwrap()
        .select_by_value("identified")
        .await
        .unwrap();
    d.type_into(
        "#compose textarea[name=body]",
        "We found the cause: a stuck TRON node. Delayed deposits will be credited within 2 hours.",
    )
    .await;
    d.type_into(
        "#compose textarea[name=body_zh]",
        "已找到原因：一个 TRON 节点卡住。延迟的充值将在 2 小时内到账。",
    )
    .await;
    until(
        &d,
        "the preview shows both customers' messages",
        "var p = document.querySelectorAll('#inc-preview pre'); return p.length === 2 && p[1].innerText.indexOf('【故障通知 · 已确认原因】TRON 网络 USDT 充值延迟') === 0",
    )
    .await;
    let en = js(
        &d,
        "return document.querySelector('#inc-preview pre[data-preview=en]').innerText",
    )
    .await;
    assert!(
        en.as_str()
            .unwrap()
            .starts_with("[Incident · Identified] USDT deposits on TRON delayed"),
        "{en}"
    );
    d.screenshot("incident-compose-en").await;
    d.click("#publish").await;
    until(
        &d,
        "the update is on the timeline and the status changed",
        "var t = document.getElementById('inc-timeline'); return !!t && t.innerText.indexOf('We found the cause: a stuck TRON node.') >= 0 && document.getElementById('inc-status').innerText === 'Identified'",
    )
    .await;

    // 3. An agent links four more tickets from the inbox's bulk bar.
    sign_in_as(&d, &app, "agent@x.test").await;
    c.goto(&app.url("/console?view=unassigned")).await.unwrap();
    d.until_text("USDT 充值一直没到").await;
    for t in &more {
        d.click(&format!("#list input[name=ids][value=\"{t}\"]"))
            .await;
    }
    d.until_text("4 selected").await;
    c.find(Locator::Css("#list .bulk select[name=incident]"))
        .await
        .unwrap()
        .select_by_value(&id.to_string())
        .await
        .unwrap();
    d.click("#list .bulk button[value=link_incident]").await;
    // Linked, they wait on the incident and leave the agent's unassigned queue.
    let mut linked = Vec::new();
    for _ in 0..100 {
        linked = services
            .incident_linked_tickets(&Principal::System, id)
            .await
            .unwrap();
        if linked.len() == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(linked.len(), 5, "{linked:?}");
    until(
        &d,
        "the linked tickets leave the unassigned queue",
        &format!(
            "return !document.querySelector('#list input[name=ids][value=\"{}\"]')",
            more[0]
        ),
    )
    .await;

    // 4. The broadcaster posts the latest update on each newly linked ticket, and both updates
    // on the first: 6 deliveries, each in its customer's language.
    let mut sent = 0;
    for _ in 0..100 {
        let d = services
            .incident_detail(&Principal::System, id)
            .await
            .unwrap();
        sent = d.deliveries.sent;
        if d.deliveries.queued == 0 && sent >= 6 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(sent >= 6, "{sent} deliveries sent");
    for t in more.iter().chain([&source]) {
        let v = app.get_json(&admin, &format!("/api/v1/tickets/{t}")).await;
        let zh = v["language"].as_str().unwrap_or_default().starts_with("zh");
        let want = if zh {
            "【故障通知 · 已确认原因】TRON 网络 USDT 充值延迟"
        } else {
            "[Incident · Identified] USDT deposits on TRON delayed"
        };
        assert!(
            v["messages"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["body"].as_str().unwrap_or_default().starts_with(want)),
            "ticket {t} ({}) has no {want:?}",
            v["language"]
        );
        assert_eq!(v["state"], "pending_incident", "ticket {t}");
    }

    // 5. The supervisor's page: every count, and each ticket's delivery. First the ticket it
    // started from: its pane says what it waits on.
    sign_in_as(&d, &app, "duty@x.test").await;
    c.goto(&app.url(&format!("/console/tickets/{source}")))
        .await
        .unwrap();
    d.until_text(&format!(
        "Linked to incident #{id}: USDT deposits on TRON delayed"
    ))
    .await;
    d.until_text("We found the cause: a stuck TRON node.").await;
    c.goto(&app.url(&format!("/console/incidents/{id}")))
        .await
        .unwrap();
    d.until_text("Linked tickets").await;
    let figure = |name: &str| {
        format!("return document.querySelector('#inc-figures dd[data-{name}]').innerText")
    };
    assert_eq!(js(&d, &figure("linked")).await, json!("5"));
    assert_eq!(js(&d, &figure("sent")).await, json!(sent.to_string()));
    assert_eq!(
        js(
            &d,
            "return document.querySelectorAll('#linked [data-delivery=sent]').length"
        )
        .await,
        json!(5)
    );
    d.screenshot("incident-page-en").await;
    c.goto(&app.url("/console/incidents")).await.unwrap();
    d.until_text("USDT deposits on TRON delayed").await;
    assert_eq!(
        js(&d, &format!("return document.querySelector('tr[data-incident=\"{id}\"] td[data-linked]').innerText")).await,
        json!("5")
    );
    d.screenshot("incidents-list-en").await;
    c.goto(&app.url("/ui/lang/zh?back=/console/incidents"))
        .await
        .unwrap();
    d.until_text("TRON 网络 USDT 充值延迟").await;
    d.screenshot("incidents-list-zh").await;
    c.goto(&app.url(&format!("/console/incidents/{id}")))
        .await
        .unwrap();
    d.until_text("关联工单").await;
    // Only data is left in English: the English updates, titles and subjects.
    d.all_chinese(&[
        "We found the cause: a stuck TRON node. Delayed deposits will be credited within 2 hours.",
        "Deposits of USDT on TRON are delayed. Your funds are safe; we are investigating.",
        "USDT deposit on TRON not credited",
        "TRC20 USDT deposit missing",
        "Deposit pending for hours",
        "Lin Duty",
    ])
    .await;
    d.screenshot("incident-page-zh").await;
    // Back to English: the choice is kept on the account, for the phone below.
    c.goto(&app.url("/ui/lang/en?back=/console/incidents"))
        .await
        .unwrap();
    d.until_text("Open incidents and maintenance").await;
    d.close().await;

    // 6. The same page on a phone, in both languages: it must fit.
    let Some(p) = Driver::start_at(390, 844, true).await else {
        return;
    };
    p.client.goto(&app.url("/console/login")).await.unwrap();
    p.sign_in("duty@x.test").await;
    p.client
        .goto(&app.url(&format!("/console/incidents/{id}")))
        .await
        .unwrap();
    p.until_text("Post an update").await;
    p.fits().await;
    p.screenshot("incident-page-phone-en").await;
    p.client
        .goto(&app.url(&format!("/ui/lang/zh?back=/console/incidents/{id}")))
        .await
        .unwrap();
    p.until_text("发布更新").await;
    p.fits().await;
    p.screenshot("incident-page-phone-zh").await;
    p.close().await;

    // 7. The customer of a Chinese ticket, in the portal: why it waits, in Chinese, and where
    // to follow it.
    let zh_ticket = more[1];
    let customer = app
        .get_json(&admin, &format!("/api/v1/tickets/{zh_ticket}"))
        .await["customer_id"]
        .as_i64()
        .unwrap();
    let token = format!("xdc_{}", uuid::Uuid::new_v4().simple());
    services
        .store
        .create_customer_session(
            &xdesk_service::auth::sha256_hex(&token),
            customer,
            chrono::Utc::now() + chrono::Duration::hours(1),
        )
        .await
        .unwrap();
    let page = page_text(
        &app,
        &format!("/portal/tickets/{zh_ticket}"),
        &format!("xdesk_portal={token}; xdesk_lang=zh"),
    )
    .await;
    let notice = &page[page
        .find("id=\"incident-notice\"")
        .expect("no incident notice")..];
    assert!(notice.contains("TRON 网络 USDT 充值延迟"), "{notice}");
    assert!(notice.contains("已确认原因"), "{notice}");
    assert!(
        notice.contains("已找到原因：一个 TRON 节点卡住。"),
        "{notice}"
    );
    assert!(notice.contains("/status\""), "{notice}");

    // 8. Components, by the admin on their page: a new one under Deposits, then its state by
    // hand.
    let csrf = "IncidentPagesCsrf0123456789abcdX";
    let cookies = format!("xdesk_csrf={csrf}; xdesk_session={admin}; xdesk_lang=en");
    let post = |path: String, form: Vec<(&'static str, String)>| {
        let mut form = form;
        form.push(("csrf", csrf.to_owned()));
        app.http
            .post(app.url(&path))
            .header("cookie", cookies.clone())
            .form(&form)
            .send()
    };
    let r = post(
        "/console/admin/components".into(),
        vec![
            ("name", "Ethereum (ERC-20)".into()),
            ("name_zh", "以太坊（ERC-20）".into()),
            ("parent_id", comps[0].to_string()),
            ("network", "ethereum".into()),
            ("intents", "deposit_missing".into()),
        ],
    )
    .await
    .unwrap();
    // Saved, the form goes back to the page (the client follows the redirect).
    assert_eq!(r.status(), reqwest::StatusCode::OK);
    assert_eq!(r.url().path(), "/console/admin/components");
    let all = services.list_components(&Principal::System).await.unwrap();
    let eth = all.iter().find(|c| c.name == "Ethereum (ERC-20)").unwrap();
    assert_eq!(eth.parent_id, Some(comps[0]));
    assert_eq!(eth.network.as_deref(), Some("ethereum"));
    let r = post(
        format!("/console/admin/components/{}/status", eth.id),
        vec![("status", "degraded_performance".into())],
    )
    .await
    .unwrap();
    assert_eq!(r.url().path(), "/console/admin/components");
    let page = page_text(&app, "/console/admin/components", &cookies).await;
    let row = &page[page
        .find(&format!("data-component=\"{}\"", eth.id))
        .unwrap()..];
    assert!(
        row.contains("<option value=\"degraded_performance\" selected"),
        "{}",
        &row[..row.len().min(1500)]
    );
    assert!(row.contains("class=\"depth-1\""), "listed under Deposits");
    app.stop().await;
}

/// A supervisor follows a surge alert's link: the form comes with the surge's rule and a title
/// from its summary, and opening the incident links the surge's tickets they can see (one in
/// another team's queue is left to that team).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_started_from_a_surge_takes_its_rule_and_tickets() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let services = app.running.as_ref().unwrap().services.clone();
    let mut tickets = Vec::new();
    for (n, group) in [None, Some(app.accounts_group), Some(app.payments_group)]
        .into_iter()
        .enumerate()
    {
        let t = app
            .create_ticket(deposit(
                "USDT deposit on TRON missing",
                "Sent USDT over TRC-20, not credited.",
                &format!("surger{n}"),
                group,
            ))
            .await;
        tickets.push(t["id"].as_i64().unwrap());
    }
    let now = services.now();
    let surge = services
        .store
        .raise_surge(
            xdesk_store::NewSurge {
                key: "net:tron:deposit_missing".into(),
                intent: Some("deposit_missing".into()),
                network: Some("tron".into()),
                asset: Some("USDT".into()),
                words: vec!["trc-20".into()],
                ticket_ids: tickets.clone(),
                count: 3,
                window_minutes: 10,
                expected: 0.2,
                summary_en: "3 tickets in 10 minutes: USDT deposits on Tron".into(),
                summary_zh: "10 分钟内 3 张工单：Tron 上的 USDT 充值未到账".into(),
                first_at: now - chrono::Duration::minutes(10),
                last_at: now,
            },
            now,
        )
        .await
        .unwrap()
        .unwrap()
        .id;
    let csrf = "IncidentPagesCsrf0123456789abcdX";
    let cookies = format!(
        "xdesk_csrf={csrf}; xdesk_session={}; xdesk_lang=en",
        app.supervisor_token
    );
    let form = page_text(
        &app,
        &format!("/console/incidents/new?surge={surge}"),
        &cookies,
    )
    .await;
    for want in [
        "value=\"USDT deposits on Tron\"",
        "value=\"Tron 上的 USDT 充值未到账\"",
        "name=\"rule_networks\" value=\"tron\" checked",
        "name=\"rule_intents\" value=\"deposit_missing\" checked",
        "name=\"rule_assets\" value=\"USDT\"",
        "name=\"rule_words\" value=\"trc-20\"",
        &format!("name=\"surge\" value=\"{surge}\""),
    ] {
        assert!(form.contains(want), "no {want:?} in the form");
    }
    let r = app
        .http
        .post(app.url("/console/incidents"))
        .header("cookie", cookies)
        .form(&[
            ("csrf", csrf.to_owned()),
            ("surge", surge.to_string()),
            ("kind", "incident".into()),
            ("title", "USDT deposits on Tron".into()),
            ("body", "Deposits on TRON are delayed; we are on it.".into()),
            ("rule_networks", "tron".into()),
        ])
        .send()
        .await
        .unwrap();
    let id: i64 = r
        .url()
        .path()
        .strip_prefix("/console/incidents/")
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not created: {}", r.url()));
    let mut linked: Vec<i64> = services
        .incident_linked_tickets(&Principal::System, id)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.ticket_id)
        .collect();
    linked.sort();
    assert_eq!(
        linked,
        tickets[..2].to_vec(),
        "the payments ticket is not theirs"
    );
    app.stop().await;
}
