//! The desk in a real Chromium, as an agent with a hundred tickets a day uses it: the list and
//! the open conversation side by side, moving between tickets without a page load (and back with
//! the browser's button), properties saved in place, a macro read before it is sent, a note that
//! never looks like a reply, solving with an undo. The everyday task is measured: page loads,
//! clicks and keystrokes from opening a ticket to the reply sent with its new state.

use crate::browser::Driver;
use crate::support::*;
use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use serde_json::{Value, json};
use std::time::Duration;

/// Marks the page: a full page load forgets the mark. Also starts counting the agent's clicks
/// and keystrokes from here.
const MARK: &str = "window.__desk = true; window.__acts = [];\
    document.addEventListener('click', function (e) { window.__acts.push('click ' + (e.target.id || e.target.tagName)); }, true);\
    document.addEventListener('keydown', function (e) { window.__acts.push('key ' + e.key); }, true);";

async fn still_marked(d: &Driver) -> bool {
    d.client
        .execute("return window.__desk === true", vec![])
        .await
        .unwrap()
        == json!(true)
}

async fn actions(d: &Driver) -> Vec<String> {
    let v = d
        .client
        .execute("return window.__acts || []", vec![])
        .await
        .unwrap();
    serde_json::from_value(v).unwrap()
}

async fn path(d: &Driver) -> String {
    d.client.current_url().await.unwrap().path().to_owned()
}

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

/// One key pressed as a keyboard does it, to whatever has the focus.
async fn press(d: &Driver, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key });
    d.client.perform_actions(keys).await.unwrap();
}

/// A key pressed with a modifier held (Ctrl+Enter).
async fn chord(d: &Driver, modifier: char, key: char) {
    let keys = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: modifier })
        .then(KeyAction::Down { value: key })
        .then(KeyAction::Up { value: key })
        .then(KeyAction::Up { value: modifier });
    d.client.perform_actions(keys).await.unwrap();
}

/// Clicks a link by its text; the live list may redraw itself under the pointer, so a link
/// gone stale is found again.
async fn click_link(d: &Driver, text: &str) {
    for _ in 0..5 {
        let link = d.client.find(Locator::LinkText(text)).await.unwrap();
        match link.click().await {
            Ok(()) => return,
            Err(_) => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
    panic!("could not click {text:?}");
}

/// A script that is true once the conversation pane shows ticket `id`.
fn pane_shows(id: impl std::fmt::Display) -> String {
    format!("return !!document.querySelector('#pane[data-live-ticket=\"{id}\"]')")
}

async fn ticket(app: &TestApp, id: i64) -> Value {
    app.get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await
}

/// Three unassigned tickets in `group` (none: unrouted), oldest first; and a macro.
async fn seed(app: &TestApp, group: Option<i64>) -> (Vec<i64>, i64) {
    let mut ids = Vec::new();
    for (n, (subject, who)) in [
        ("USDT withdrawal not received", "Wang Fang"),
        ("Deposit missing on TRON", "Carlos Ruiz"),
        ("Cannot pass KYC selfie", "Amina Bello"),
    ]
    .into_iter()
    .enumerate()
    {
        let t = app
            .create_ticket(json!({
                "subject": subject,
                "body": format!("{subject}, please help. {who}"),
                "customer": {"email": format!("{}@example.com", who.replace(' ', ".").to_lowercase()), "name": who,
                             "exchange_uid": format!("U{}", 7001 + n)},
                "group_id": group,
            }))
            .await;
        ids.push(t["id"].as_i64().unwrap());
    }
    let admin = app.admin_token().await;
    let r = app
        .post(
            &admin,
            "/api/v1/macros",
            json!({"name": "Checking with the wallet team",
                   "body_en": "Hello {{customer_name}}, we are checking {{ticket_number}} with our wallet team and will write back within 24 hours.",
                   "body_zh": "", "add_tags": ["wallet-check"]}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let m = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    (ids, m)
}

/// The agent's unassigned queue at 1440 × 900, three tickets in it.
async fn unassigned_queue() -> Option<(TestApp, Driver, Vec<i64>)> {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let d = Driver::start_at(1440, 900, false).await?;
    let (ids, _) = seed(&app, Some(app.payments_group)).await;
    d.client.goto(&app.url("/console/login")).await.unwrap();
    d.sign_in("agent@x.test").await;
    d.client
        .goto(&app.url("/console?view=unassigned"))
        .await
        .unwrap();
    d.until_text("Cannot pass KYC selfie").await;
    Some((app, d, ids))
}

/// The everyday task, measured: open the next unassigned ticket, read it, reply with a macro,
/// set it to pending customer. Before this desk it took a page load per step (open, apply the
/// macro, save the state: 3 loads and 5 actions after opening); now no page loads at all after
/// the first, and two actions from the open ticket to the reply sent with its new state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_everyday_task_takes_no_page_load_and_three_actions() {
    let Some((app, d, ids)) = unassigned_queue().await else {
        return;
    };
    let c = &d.client;
    js(&d, MARK).await;

    // 1. Open the next ticket: one click on the first row (the oldest, most urgent).
    click_link(&d, "USDT withdrawal not received").await;
    until(&d, "the pane shows the ticket", &pane_shows(ids[0])).await;
    d.until_text("please help. Wang Fang").await;
    assert_eq!(path(&d).await, format!("/console/tickets/{}", ids[0]));
    let opened = actions(&d).await.len();

    // 2. Pick the macro: its text, filled in, lands in the reply box to be read first.
    c.find(Locator::Css("#macro-pick option:nth-child(2)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &d,
        "the macro's text is in the reply box",
        "return document.getElementById('reply-body').value.indexOf('Hello Wang Fang') === 0",
    )
    .await;
    let text = js(&d, "return document.getElementById('reply-body').value").await;
    assert!(
        text.as_str().unwrap().contains(&format!("XD-{}", ids[0])),
        "{text}"
    );
    d.until_text("Adds tags: wallet-check").await;
    d.screenshot("desk-macro-preview-en").await;
    // 3. Send it and set the ticket to pending customer: one click.
    c.find(Locator::Css("button[name=then][value=pending_customer]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.until_text("Sent").await;
    let t = ticket(&app, ids[0]).await;
    for _ in 0..50 {
        if ticket(&app, ids[0]).await["state"] == "pending_customer" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t2 = ticket(&app, ids[0]).await;
    assert_eq!(t2["state"], "pending_customer", "{t} {t2}");
    assert!(
        t2["tags"]
            .as_array()
            .unwrap()
            .contains(&json!("wallet-check"))
    );
    let reply = t2["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author_kind"] == "agent")
        .cloned()
        .unwrap();
    assert!(
        reply["body"]
            .as_str()
            .unwrap()
            .starts_with("Hello Wang Fang"),
        "{reply}"
    );
    assert_eq!(reply["internal"], false);

    let acts = actions(&d).await;
    let after_open = acts.len() - opened;
    println!(
        "everyday task: page loads after the first: 0; actions from opening to sent: {after_open}; all: {acts:?}"
    );
    // The answered ticket leaves the unassigned list; j opens the one that took its place.
    until(
        &d,
        "the answered ticket leaves the list",
        &format!(
            "return !document.querySelector('#list tr[data-ticket=\"{}\"]')",
            ids[0]
        ),
    )
    .await;
    press(&d, 'j').await;
    until(&d, "j opens the next ticket", &pane_shows(ids[1])).await;
    assert!(still_marked(&d).await, "a full page load happened");
    assert!(
        after_open <= 3,
        "{after_open} actions from the open ticket to the reply sent: {acts:?}"
    );
    d.close().await;
    app.stop().await;
}

/// j / k and clicks swap the conversation without a page load, the list keeps its place and the
/// browser's back button walks back; properties save in place; a note has its own tab, colour
/// and button; Ctrl+Enter sends; `s` solves only after its undo window, and undo keeps it open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_moves_saves_and_undoes_without_page_loads() {
    let Some((app, d, ids)) = unassigned_queue().await else {
        return;
    };
    let c = &d.client;
    d.screenshot("desk-inbox-en-1440").await;
    js(&d, MARK).await;

    // j selects, Enter opens; with a ticket open, j / k open the next and previous.
    press(&d, 'j').await;
    press(&d, '\u{E007}').await;
    until(&d, "Enter opens the first ticket", &pane_shows(ids[0])).await;
    press(&d, 'j').await;
    until(&d, "j opens the second ticket", &pane_shows(ids[1])).await;
    d.until_text("please help. Carlos Ruiz").await;
    assert_eq!(path(&d).await, format!("/console/tickets/{}", ids[1]));
    assert_eq!(
        js(
            &d,
            "return document.querySelectorAll('#list tr.open').length"
        )
        .await,
        json!(1),
        "the list marks the open ticket"
    );
    c.back().await.unwrap();
    until(&d, "back shows the first ticket again", &pane_shows(ids[0])).await;
    assert_eq!(path(&d).await, format!("/console/tickets/{}", ids[0]));
    c.forward().await.unwrap();
    until(&d, "forward shows the second again", &pane_shows(ids[1])).await;

    // Properties save as they change, without a page load.
    c.find(Locator::Css(
        "#props select[name=priority] option[value=high]",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    d.until_text("Saved").await;
    for _ in 0..50 {
        if ticket(&app, ids[1]).await["priority"] == "high" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(ticket(&app, ids[1]).await["priority"], "high");

    // A note: its own tab, another colour, another button; it stays internal.
    press(&d, 'n').await;
    let reply_bg = "return getComputedStyle(document.getElementById('reply')).backgroundColor";
    let note_bg = js(&d, reply_bg).await;
    assert_eq!(
        js(&d, "return document.getElementById('send').innerText").await,
        json!("Add internal note")
    );
    d.screenshot("desk-note-en").await;
    c.find(Locator::Id("reply-body"))
        .await
        .unwrap()
        .send_keys("Checked the TRON explorer: nothing yet.")
        .await
        .unwrap();
    // Ctrl+Enter sends.
    chord(&d, '\u{E009}', '\u{E007}').await;
    d.until_text("Checked the TRON explorer: nothing yet.")
        .await;
    until(
        &d,
        "the note is in the timeline",
        "return !!document.querySelector('#timeline .msg.note')",
    )
    .await;
    let t = ticket(&app, ids[1]).await;
    let note = t["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author_kind"] == "agent")
        .cloned()
        .unwrap();
    assert_eq!(note["internal"], true, "{note}");
    press(&d, 'r').await;
    let reply_bg_now = js(&d, reply_bg).await;
    assert_ne!(note_bg, reply_bg_now, "a note looks different from a reply");
    assert_eq!(
        js(&d, "return document.getElementById('send').innerText").await,
        json!("Send")
    );
    press(&d, '\u{E00C}').await;

    // Esc leaves the reply box; s: solved only after the undo window; undo keeps the ticket open, and no survey leaves.
    press(&d, 's').await;
    d.until_text("Undo").await;
    assert_ne!(ticket(&app, ids[1]).await["state"], "solved");
    c.find(Locator::Css(".toast .undo"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.until_text("Still open").await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    let t = ticket(&app, ids[1]).await;
    assert_ne!(t["state"], "solved", "undo kept it open");
    let surveys = |t: &Value| {
        t["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["body"].as_str().unwrap_or_default().contains("/survey/"))
            .count()
    };
    assert_eq!(surveys(&t), 0);
    press(&d, 's').await;
    d.until_text("Undo").await;
    assert_eq!(
        surveys(&ticket(&app, ids[1]).await),
        0,
        "not before the undo window"
    );
    for _ in 0..100 {
        if ticket(&app, ids[1]).await["state"] == "solved" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let t = ticket(&app, ids[1]).await;
    assert_eq!(t["state"], "solved");
    assert_eq!(surveys(&t), 1, "the survey left once solved");
    assert!(still_marked(&d).await, "a full page load happened");
    d.close().await;
    app.stop().await;
}

/// The layout holds: an alert does not move the list, the page is never wider than the window
/// at 1440 px, and on a 390 px phone the panes stack (list, then the ticket with a way back).
/// Screenshots in both languages at both widths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_desk_holds_its_layout_at_1440_and_390() {
    for (width, height, mobile) in [(1440u32, 900u32, false), (390, 844, true)] {
        // The exchange's account panel, with its wide tables, is on the ticket.
        let exchange = xdesk_demo_exchange::start("desk-connector").await.unwrap();
        let url = exchange.url.clone();
        let app = spawn_app_with(Db::Sqlite, |c| {
            c.exchange = Some(xdesk::config::ExchangeConfig {
                url,
                token: "desk-connector".into(),
                timeout_secs: 5,
            });
        })
        .await
        .unwrap();
        let Some(d) = Driver::start_at(width, height, mobile).await else {
            return;
        };
        // Unrouted, so the supervisor (of another group) sees them, and hears the alert.
        let (ids, _) = seed(&app, None).await;
        let c = &d.client;
        c.goto(&app.url("/console/login")).await.unwrap();
        d.sign_in("super@x.test").await;
        for lang in ["en", "zh"] {
            c.goto(&app.url(&format!("/ui/lang/{lang}?back=/console%3Fview%3Dall")))
                .await
                .unwrap();
            d.until_text("USDT withdrawal not received").await;
            d.fits().await;
            js(&d, MARK).await;
            let top =
                "return Math.round(document.getElementById('list').getBoundingClientRect().top)";
            let before = js(&d, top).await;
            // An urgent ticket while the supervisor looks at the list.
            app.create_ticket(json!({
                "subject": format!("Account drained {lang}"),
                "body": "Someone logged into my account and withdrew all my BTC, it was not me!",
                "customer": {"email": format!("drained-{lang}@example.com")},
            }))
            .await;
            until(
                &d,
                "the alert shows",
                "return !!document.querySelector('#alerts .alert')",
            )
            .await;
            assert_eq!(js(&d, top).await, before, "the alert moved the list");
            d.screenshot(&format!("desk-inbox-{lang}-{width}")).await;
            js(&d, "document.querySelectorAll('#alerts .alert button').forEach(function (b) { b.click(); })").await;

            d.until_text(&format!("Account drained {lang}")).await;
            click_link(&d, "Deposit missing on TRON").await;
            until(&d, "the pane opens", &pane_shows(ids[1])).await;
            d.until_text("please help. Carlos Ruiz").await;
            // The exchange panel and the side never widen the page; the panel folds away.
            until(
                &d,
                "the exchange panel loads",
                "return !!document.querySelector('#exchange-panel table')",
            )
            .await;
            d.fits().await;
            let list_shown = js(
                &d,
                "return getComputedStyle(document.getElementById('list')).display !== 'none'",
            )
            .await;
            assert_eq!(
                list_shown,
                json!(!mobile),
                "{width}px: list beside the ticket only when wide"
            );
            d.screenshot(&format!("desk-ticket-{lang}-{width}")).await;
            js(
                &d,
                "document.querySelector('#exchange-panel summary').click()",
            )
            .await;
            assert_eq!(
                js(&d, "return document.getElementById('exchange-panel').open").await,
                json!(false),
                "the exchange panel folds"
            );
            if mobile {
                c.find(Locator::Css("#pane [data-back]"))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
                until(
                    &d,
                    "back shows the list",
                    "return getComputedStyle(document.getElementById('list')).display !== 'none'",
                )
                .await;
            }
            assert!(
                still_marked(&d).await,
                "{width}px: a full page load happened"
            );
        }
        d.close().await;
        app.stop().await;
    }
}

/// With a long list beside the conversation, opening tickets (a click, then j) leaves the list
/// scrolled where the agent left it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_keeps_its_place_while_tickets_open_beside_it() {
    let Some((app, d, _)) = unassigned_queue().await else {
        return;
    };
    for n in 0..40 {
        app.create_ticket(json!({
            "subject": format!("Queue filler {n:02}"),
            "body": "Where is my deposit?",
            "customer": {"email": format!("filler{n}@example.com")},
            "group_id": app.payments_group,
        }))
        .await;
    }
    d.client
        .goto(&app.url("/console?view=unassigned"))
        .await
        .unwrap();
    d.until_text("Queue filler 39").await;
    click_link(&d, "USDT withdrawal not received").await;
    until(
        &d,
        "the pane opens",
        "return document.querySelector('.desk').classList.contains('has-pane')",
    )
    .await;
    js(&d, MARK).await;
    let list = "document.getElementById('list')";
    js(&d, &format!("{list}.scrollTop = 600")).await;
    let before = js(&d, &format!("return {list}.scrollTop")).await;
    assert!(
        before.as_f64().unwrap_or_default() > 100.0,
        "the list scrolls: {before}"
    );
    // A row in view at that place.
    let target = js(
        &d,
        &format!(
            "var l = {list}, top = l.getBoundingClientRect().top;\
             var r = Array.prototype.find.call(l.querySelectorAll('tr[data-ticket]'), function (r) {{ return r.getBoundingClientRect().top > top + 80; }});\
             return r.getAttribute('data-ticket')"
        ),
    )
    .await;
    let target = target.as_str().unwrap().to_owned();
    d.client
        .find(Locator::Css(&format!(
            "#list tr[data-ticket='{target}'] a[href^='/console/tickets/']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&d, "the clicked ticket opens", &pane_shows(&target)).await;
    assert_eq!(js(&d, &format!("return {list}.scrollTop")).await, before);
    press(&d, 'j').await;
    until(
        &d,
        "j opens the next",
        &pane_shows(&target).replacen("!!", "!", 1),
    )
    .await;
    let after = js(&d, &format!("return {list}.scrollTop")).await;
    let moved = (after.as_f64().unwrap_or_default() - before.as_f64().unwrap_or_default()).abs();
    assert!(moved < 60.0, "the list jumped by {moved} px");
    assert!(still_marked(&d).await, "a full page load happened");
    d.close().await;
    app.stop().await;
}
