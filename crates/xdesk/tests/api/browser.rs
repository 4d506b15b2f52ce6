//! The console in a real browser: Debian's chromium driven through chromedriver (WebDriver,
//! fantoccini). Each test saves PNG screenshots of its pages under the target directory
//! (`<target>/screenshots/`), and, with `XDESK_DOC_SCREENSHOTS=1`, into `docs/screenshots/`.

use crate::support::*;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::time::Duration;
use xdesk_ui::i18n::Lang;

/// chromedriver on a free port and a headless Chromium session through it.
pub(crate) struct Driver {
    _child: tokio::process::Child,
    _profile: tempfile::TempDir,
    pub(crate) client: Client,
}

impl Driver {
    /// None when chromedriver is not installed (after `skip_or_fail`). A `phone` is emulated at
    /// 375 px wide (a headless window cannot be narrower than 500 px).
    pub(crate) async fn start(phone: bool) -> Option<Driver> {
        if phone {
            Self::start_at(375, 812, true).await
        } else {
            Self::start_at(1280, 900, false).await
        }
    }

    /// A window of `width` × `height` CSS pixels; `mobile` emulates a phone's screen (narrower
    /// than a headless window may be).
    pub(crate) async fn start_at(width: u32, height: u32, mobile: bool) -> Option<Driver> {
        let Ok(path) = which("chromedriver") else {
            skip_or_fail("chromedriver");
            return None;
        };
        let port = free_port();
        let child = tokio::process::Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--hide-scrollbars",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.path().display()),
            ]
        });
        if mobile {
            options["mobileEmulation"] =
                json!({"deviceMetrics": {"width": width, "height": height, "pixelRatio": 2}});
        }
        caps.insert("goog:chromeOptions".into(), options);
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            if let Ok(client) = ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                return Some(Driver {
                    _child: child,
                    _profile: profile,
                    client,
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start");
    }

    pub(crate) async fn text(&self) -> String {
        self.client
            .execute("return document.body.innerText", vec![])
            .await
            .unwrap()
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Waits (up to 10 s) until the page's text holds `what`.
    pub(crate) async fn until_text(&self, what: &str) {
        for _ in 0..100 {
            if self.text().await.contains(what) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("page never showed {what:?}:\n{}", self.text().await);
    }

    /// Saves the page as `<target>/screenshots/<name>.png` (and in docs/ when asked).
    pub(crate) async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        if std::env::var("XDESK_DOC_SCREENSHOTS").is_ok_and(|v| v == "1") {
            let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/screenshots");
            std::fs::create_dir_all(docs).unwrap();
            std::fs::write(format!("{docs}/{name}.png"), &png).unwrap();
        }
    }

    /// Fills in and sends the sign-in form on the current page; submits with Enter, as a
    /// keyboard user would.
    pub(crate) async fn sign_in(&self, email: &str) {
        let c = &self.client;
        c.find(Locator::Css("input[name=email]"))
            .await
            .unwrap()
            .send_keys(email)
            .await
            .unwrap();
        c.find(Locator::Css("input[name=password]"))
            .await
            .unwrap()
            .send_keys(&format!("{PASSWORD}\n"))
            .await
            .unwrap();
        self.until_text("Signed in as").await;
    }

    pub(crate) async fn close(self) {
        let _ = self.client.close().await;
    }
}

fn which(cmd: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|p| p.join(cmd))
                .find(|p| p.is_file())
        })
        .ok_or(())
}

/// UI texts of `lang`'s catalog that would betray an untranslated page in the other language.
pub(crate) fn telltales(lang: Lang, other: Lang) -> Vec<&'static str> {
    let theirs: Vec<_> = other.texts().map(|(_, v)| v).collect();
    lang.texts()
        .map(|(_, v)| v)
        .filter(|v| v.chars().count() >= 4 && !v.contains("{}") && !theirs.contains(v))
        .collect()
}

/// An agent signs in through the form, finds the customer's ticket in the inbox, replies with a
/// file, and switches the console to Chinese, where no English UI text is left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_answers_a_ticket_in_a_real_browser() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let Some(d) = Driver::start(false).await else {
        return;
    };
    let created = app
        .create_ticket(ticket_body(&app, "USDT deposit not credited"))
        .await;
    let id = created["id"].as_i64().unwrap();
    // An address named on the phone waits for a supervisor in the customer panel.
    let r = app
        .post(
            &app.agent_token,
            &format!(
                "/api/v1/customers/{}/identity-links",
                created["customer_id"]
            ),
            serde_json::json!({"kind": "email", "value": "wei.work@example.com",
                               "reason": "customer gave it on a recorded call"}),
        )
        .await;
    assert_eq!(r.status(), reqwest::StatusCode::CREATED);
    let c = &d.client;

    c.goto(&app.url("/console")).await.unwrap();
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/login")
    );
    d.screenshot("console-login-en").await;
    d.sign_in("agent@x.test").await;
    c.goto(&app.url("/console?view=all")).await.unwrap();
    d.until_text("USDT deposit not credited").await;
    d.screenshot("console-inbox-en").await;

    c.find(Locator::LinkText("USDT deposit not credited"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.until_text("History intact").await;
    let file = tempfile::Builder::new()
        .prefix("explorer-")
        .suffix(".png")
        .tempfile()
        .unwrap();
    std::fs::write(
        file.path(),
        b"\x89PNG\r\n\x1a\n0000000000 a screenshot of the block explorer",
    )
    .unwrap();
    c.find(Locator::Id("reply-body"))
        .await
        .unwrap()
        .send_keys("您的 USDT 已到账，请查看资产页面。")
        .await
        .unwrap();
    c.find(Locator::Css("input[type=file]"))
        .await
        .unwrap()
        .send_keys(&file.path().display().to_string())
        .await
        .unwrap();
    c.find(Locator::Css("form.reply button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.until_text("您的 USDT 已到账").await;
    let name = file
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    d.until_text(&name).await;
    d.until_text("wei.work@example.com").await;
    d.screenshot("console-ticket-en").await;
    c.execute(
        "document.getElementById('customer-title').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    d.screenshot("console-ticket-customer-en").await;
    let stored: Value = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    let reply = stored["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["author_kind"] == "agent")
        .unwrap()
        .clone();
    assert_eq!(reply["attachments"][0]["filename"], name.as_str());
    assert_eq!(reply["internal"], false);

    // The switch on the page: every visible string is Chinese now.
    c.find(Locator::LinkText("中文"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    d.until_text("历史记录完整").await;
    // Data is not UI: the groups' names (in the group select) stay as the admin wrote them.
    let text = d
        .text()
        .await
        .replace("Accounts", "")
        .replace("Payments", "");
    for english in telltales(Lang::En, Lang::Zh) {
        assert!(
            !text.contains(english),
            "still English: {english:?}\n{text}"
        );
    }
    d.screenshot("console-ticket-zh").await;
    c.goto(&app.url("/console?view=all")).await.unwrap();
    d.until_text("全部未结").await;
    // The bulk bar's group choices are data too.
    let text = d
        .text()
        .await
        .replace("Accounts", "")
        .replace("Payments", "");
    for english in telltales(Lang::En, Lang::Zh) {
        assert!(
            !text.contains(english),
            "still English: {english:?}\n{text}"
        );
    }
    d.screenshot("console-inbox-zh").await;
    d.close().await;
    app.stop().await;
}

/// On a 375 px phone the inbox and the ticket fit the screen: nothing scrolls sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_fits_a_phone() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let Some(d) = Driver::start(true).await else {
        return;
    };
    let created = app
        .create_ticket(ticket_body(&app, "Withdrawal stuck on TRON"))
        .await;
    let id = created["id"].as_i64().unwrap();
    let c = &d.client;
    c.goto(&app.url("/console/login")).await.unwrap();
    d.sign_in("agent@x.test").await;
    for (path, shot) in [
        ("/console?view=all".to_owned(), "console-inbox-phone"),
        (format!("/console/tickets/{id}"), "console-ticket-phone"),
    ] {
        c.goto(&app.url(&path)).await.unwrap();
        d.until_text("Withdrawal stuck on TRON").await;
        let overflow = c
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap_or(i64::MAX) <= 0,
            "{path} scrolls sideways by {overflow} px"
        );
        let width = c.execute("return window.innerWidth", vec![]).await.unwrap();
        assert_eq!(width, json!(375), "not a phone-sized screen");
        d.screenshot(shot).await;
    }
    d.close().await;
    app.stop().await;
}

impl Driver {
    /// Waits up to `secs` until the page's text holds `what`.
    pub(crate) async fn until_text_for(&self, what: &str, secs: u64) {
        for _ in 0..secs * 10 {
            if self.text().await.contains(what) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("page never showed {what:?}:\n{}", self.text().await);
    }

    pub(crate) async fn type_into(&self, css: &str, text: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .send_keys(text)
            .await
            .unwrap();
    }

    pub(crate) async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Fails if the page scrolls sideways: it must fit the (phone) screen.
    pub(crate) async fn fits(&self) {
        let overflow = self
            .client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap_or(i64::MAX) <= 0,
            "{} scrolls sideways by {overflow} px",
            self.client.current_url().await.unwrap()
        );
    }

    /// Fails if any text of the English catalog is on the page.
    pub(crate) async fn all_chinese(&self, data: &[&str]) {
        let mut text = self.text().await;
        for d in data {
            text = text.replace(d, "");
        }
        for english in telltales(Lang::En, Lang::Zh) {
            assert!(
                !text.contains(english),
                "still English: {english:?}\n{text}"
            );
        }
    }
}

/// A customer on a phone opens a missing-deposit ticket in the portal with a screenshot (the
/// form checks the hash as it is typed); the agent's inbox shows it without a reload; the
/// agent answers; the customer's page shows the answer by itself and the case fields given;
/// the portal in Chinese has no English left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_asks_in_the_portal_and_the_agent_answers_live() {
    const SECRET: &str = "portal-browser-secret";
    const SUBJECT: &str = "USDT deposit not credited";
    let app = spawn_app_with(Db::Sqlite, |c| {
        c.chat.identity_secret = Some(SECRET.into());
        // The first group made is Payments: the portal's tickets go there.
        c.portal.group_id = Some(1);
    })
    .await
    .unwrap();
    assert_eq!(app.payments_group, 1);
    let Some(agent) = Driver::start(false).await else {
        return;
    };
    let customer = Driver::start(true).await.unwrap();

    agent.client.goto(&app.url("/console/login")).await.unwrap();
    agent.sign_in("agent@x.test").await;
    agent
        .client
        .goto(&app.url("/console?view=all"))
        .await
        .unwrap();
    agent.until_text("No tickets here").await;

    // The exchange sends its signed-in user straight in.
    let token = xdesk_domain::chat_token::sign(
        &json!({"sub": "U77", "email": "mei@example.com", "name": "Mei", "exp": chrono::Utc::now().timestamp() + 600}),
        SECRET.as_bytes(),
    );
    let c = &customer.client;
    c.goto(&app.url(&format!("/portal/token?token={token}")))
        .await
        .unwrap();
    customer.until_text("You have no tickets yet.").await;
    customer.fits().await;
    customer.screenshot("portal-home-en").await;
    customer.click("a.button.primary").await;
    customer.until_text("Details of the transaction").await;
    c.find(Locator::Css("select[name=network]"))
        .await
        .unwrap()
        .select_by_value("tron")
        .await
        .unwrap();
    customer.type_into("input[name=tx_hash]", "0x1234").await;
    customer
        .until_text("This is not a transaction hash of the chosen network.")
        .await;
    let tx = "a7d3c1e5b2f4a6c8e0d2f4b6a8c0e2d4f6b8a0c2e4d6f8b0a2c4e6d8f0b2a4c6";
    c.find(Locator::Css("input[name=tx_hash]"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();
    customer.type_into("input[name=tx_hash]", tx).await;
    for _ in 0..50 {
        if !customer.text().await.contains("not a transaction hash") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!customer.text().await.contains("not a transaction hash"));
    customer.type_into("input[name=subject]", SUBJECT).await;
    customer.type_into("input[name=asset]", "USDT").await;
    customer
        .type_into(
            "input[name=to_address]",
            "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t",
        )
        .await;
    customer.type_into("input[name=amount]", "120.5").await;
    c.execute(
        "document.querySelector('input[name=occurred_at]').value = '2026-11-20T08:15'",
        vec![],
    )
    .await
    .unwrap();
    customer
        .type_into("textarea[name=body]", "Sent yesterday from my wallet.")
        .await;
    let shot = tempfile::Builder::new()
        .prefix("wallet-")
        .suffix(".png")
        .tempfile()
        .unwrap();
    std::fs::write(
        shot.path(),
        b"\x89PNG\r\n\x1a\n0000 the wallet's transfer page",
    )
    .unwrap();
    customer
        .type_into("input[type=file]", &shot.path().display().to_string())
        .await;
    customer.fits().await;
    customer.screenshot("portal-new-en").await;
    customer.click("form.new-ticket button[type=submit]").await;
    customer.until_text("An agent will pick this up.").await;
    let file = shot
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    customer.until_text(&file).await;

    // The agent's inbox shows it without a reload.
    agent.until_text(SUBJECT).await;
    agent.screenshot("console-inbox-live").await;
    agent
        .client
        .find(Locator::LinkText(SUBJECT))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    agent.until_text(&file).await;
    agent.until_text(tx).await;
    agent
        .type_into("#reply-body", "We found your deposit; it is credited now.")
        .await;
    agent.click("form.reply button[type=submit]").await;
    agent.until_text("it is credited now").await;

    // The customer's page shows the answer by itself.
    customer.until_text_for("it is credited now", 20).await;
    // The case as the customer gave it, read back, fitting a phone's width.
    customer.until_text("Case details").await;
    customer.until_text(tx).await;
    customer.until_text("120.5").await;
    customer.fits().await;
    customer.screenshot("portal-ticket-en").await;

    // In Chinese, every visible text of the portal is Chinese.
    customer.click(".lang a[hreflang=zh-CN]").await;
    customer.until_text("客服正在处理").await;
    let data = [
        SUBJECT,
        "We found your deposit; it is credited now.",
        "Sent yesterday from my wallet.",
        "Mei",
    ];
    customer.until_text("案件详情").await;
    customer.all_chinese(&data).await;
    customer.fits().await;
    customer.screenshot("portal-ticket-zh").await;
    for (path, shot) in [
        ("/portal", "portal-home-zh"),
        ("/portal/new", "portal-new-zh"),
    ] {
        c.goto(&app.url(path)).await.unwrap();
        customer.until_text("我的工单").await;
        customer.all_chinese(&data).await;
        customer.fits().await;
        customer.screenshot(shot).await;
    }
    c.goto(&app.url("/portal/sign-in")).await.unwrap();
    customer.until_text("登录支持中心").await;
    customer.all_chinese(&data).await;
    customer.screenshot("portal-sign-in-zh").await;
    customer.close().await;
    agent.close().await;
    app.stop().await;
}

/// The help center on a phone, in both languages: it fits the screen, search answers a
/// Chinese question, and no English catalog text is left on the Chinese pages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_help_center_reads_on_a_phone() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    xdesk::demo::seed_knowledge_base(&app.running.as_ref().unwrap().services)
        .await
        .unwrap();
    let Some(d) = Driver::start(true).await else {
        return;
    };
    let c = &d.client;
    c.goto(&app.url("/help?lang=en")).await.unwrap();
    d.until_text("Help center").await;
    d.fits().await;
    d.screenshot("help-home-en").await;
    c.goto(&app.url("/help/articles/deposit-not-credited?lang=en"))
        .await
        .unwrap();
    d.until_text("Was this article helpful?").await;
    d.fits().await;
    d.screenshot("help-article-en").await;
    c.goto(&app.url("/help?lang=zh")).await.unwrap();
    d.until_text("帮助中心").await;
    d.type_into("#help-q", "充值没到账\n").await;
    d.until_text("搜索").await;
    d.fits().await;
    let text = d.text().await;
    assert!(text.contains("充值"), "{text}");
    for english in telltales(Lang::En, Lang::Zh) {
        assert!(
            !text.contains(english),
            "still English: {english:?}\n{text}"
        );
    }
    d.screenshot("help-search-zh").await;
    d.close().await;
    app.stop().await;
}

/// Records what the page asks of `window.Notification` instead of showing it. Installed after
/// the page loaded and before the agent opts in: notify.js looks the API up on each use.
pub(crate) const NOTIFICATION_SHIM: &str = r#"
window.__notes = []; window.__asked = 0;
var Shim = function (title, options) {
  this.title = title; this.body = (options || {}).body; this.tag = (options || {}).tag;
  window.__notes.push(this);
};
Shim.permission = "default";
Shim.requestPermission = function () { window.__asked += 1; Shim.permission = "granted"; return Promise.resolve("granted"); };
Shim.prototype.close = function () {};
window.Notification = Shim;
"#;

/// Desktop notifications are opted into with the console's button; then a ticket another
/// session gives the agent pops one notification with its subject, the agent's own pick none,
/// a customer's reply on the agent's ticket one, and a click on a notification opens the ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_hears_of_a_new_assignment_on_the_desktop() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let Some(d) = Driver::start(false).await else {
        return;
    };
    let mut tickets = Vec::new();
    for subject in [
        "Deposit of 25,000 USDT missing",
        "My own pick",
        "Withdrawal on hold",
    ] {
        let t = app.create_ticket(ticket_body(&app, subject)).await;
        tickets.push((t["id"].as_i64().unwrap(), t["version"].clone()));
    }
    let c = &d.client;
    c.goto(&app.url("/console/login")).await.unwrap();
    d.sign_in("agent@x.test").await;
    c.goto(&app.url("/console?view=all")).await.unwrap();
    d.until_text("Enable desktop notifications").await;
    c.execute(NOTIFICATION_SHIM, vec![]).await.unwrap();
    let asked = c.execute("return window.__asked", vec![]).await.unwrap();
    assert_eq!(asked, json!(0), "asked before the agent clicked");
    d.click("[data-notify-toggle]").await;
    d.until_text("Turn off desktop notifications").await;
    let state = c
        .execute(
            "return [window.__asked, localStorage.getItem('xdesk.notify')]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(state, json!([1, "on"]));
    // The page's live socket is open before anything is assigned.
    c.wait()
        .for_element(Locator::Css("html[data-live]"))
        .await
        .unwrap();

    let admin = app.admin_token().await;
    let assign = |token: String, (id, version): (i64, Value)| {
        let app = &app;
        async move { app.assign(&token, id, &version, app.agent_id).await }
    };
    let notes = || async {
        c.execute(
            "return window.__notes.map(function (n) { return [n.title, n.body]; })",
            vec![],
        )
        .await
        .unwrap()
    };
    let until = |n: usize| async move {
        for _ in 0..100 {
            if notes().await.as_array().unwrap().len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{n} notifications never came: {}", notes().await);
    };
    assign(admin.clone(), tickets[0].clone()).await;
    until(1).await;
    assert_eq!(
        notes().await,
        json!([["Assigned to you", "Deposit of 25,000 USDT missing"]])
    );
    // The agent's own pick, then another from the admin: only the admin's is told.
    assign(app.agent_token.clone(), tickets[1].clone()).await;
    assign(admin.clone(), tickets[2].clone()).await;
    until(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        notes().await,
        json!([
            ["Assigned to you", "Deposit of 25,000 USDT missing"],
            ["Assigned to you", "Withdrawal on hold"]
        ])
    );

    // The customer writes on the first.
    let customer = app
        .get_json(&admin, &format!("/api/v1/tickets/{}", tickets[0].0))
        .await["customer_id"]
        .as_i64()
        .unwrap();
    let mut portal = app.portal_as(customer).await;
    portal
        .get(&format!("/portal/tickets/{}", tickets[0].0))
        .await;
    let form = reqwest::multipart::Form::new()
        .text("csrf", portal.csrf())
        .text("body", "Any news on my deposit?");
    portal
        .post_multipart(&format!("/portal/tickets/{}/reply", tickets[0].0), form)
        .await;
    until(3).await;
    assert_eq!(
        notes().await[2],
        json!(["The customer replied", "Deposit of 25,000 USDT missing"])
    );

    // A click on the first brings the ticket up.
    c.execute("window.__notes[0].onclick()", vec![])
        .await
        .unwrap();
    d.until_text("History intact").await;
    assert_eq!(
        c.current_url().await.unwrap().path(),
        format!("/console/tickets/{}", tickets[0].0)
    );
    d.screenshot("console-notifications-en").await;
    d.close().await;
    app.stop().await;
}

/// The header's status switch on a phone: the agent is online from signing in, and one tap
/// sets another status without leaving the page (htmx swaps the switch in place).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_switches_status_from_the_header() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let Some(d) = Driver::start(true).await else {
        return;
    };
    let c = &d.client;
    c.goto(&app.url("/console/login")).await.unwrap();
    d.sign_in("agent@x.test").await;
    c.goto(&app.url("/console/kb")).await.unwrap();
    d.until_text("Signed in as").await;
    let pressed = || async {
        c.execute(
            "return document.querySelector('#status-switch button[aria-pressed=true]').value",
            vec![],
        )
        .await
        .unwrap()
    };
    assert_eq!(pressed().await, json!("online"));
    d.fits().await;
    c.execute("window.stayed = true", vec![]).await.unwrap();
    d.click("#status-switch button[value=away]").await;
    for _ in 0..100 {
        if pressed().await == json!("away") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pressed().await, json!("away"));
    assert_eq!(
        c.execute("return window.stayed === true", vec![])
            .await
            .unwrap(),
        json!(true),
        "the page was loaded again"
    );
    assert!(
        c.current_url()
            .await
            .unwrap()
            .path()
            .ends_with("/console/kb")
    );
    let me = app.get_json(&app.agent_token, "/api/v1/agents/me").await;
    assert_eq!(me["status"], "away");
    d.fits().await;
    d.screenshot("console-status-switch-phone").await;
    d.close().await;
    app.stop().await;
}

/// Issue 18: the agent picks tickets in the inbox with a click, a Shift+click (the range) and
/// `x` (the current row), sets their state from the bulk bar, and the list shows the change
/// without leaving the page; the tickets left out stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_changes_several_tickets_at_once() {
    let app = spawn_app(Db::Sqlite).await.unwrap();
    let Some(d) = Driver::start(false).await else {
        return;
    };
    let mut ids = Vec::new();
    for n in 0..5 {
        let t = app
            .create_ticket(ticket_body(&app, &format!("Bulk pick {n}")))
            .await;
        ids.push(t["id"].as_i64().unwrap());
    }
    let c = &d.client;
    c.goto(&app.url("/console/login")).await.unwrap();
    d.sign_in("agent@x.test").await;
    c.goto(&app.url("/console?view=unassigned&sort=created"))
        .await
        .unwrap();
    d.until_text("Bulk pick 4").await;
    let boxed = |id: i64| format!("#list input[name=ids][value=\"{id}\"]");
    // A click, then a Shift+click two rows down: the three rows between are taken.
    d.click(&boxed(ids[0])).await;
    c.execute(
        "document.querySelector(arguments[0]).dispatchEvent(new MouseEvent('click', {bubbles: true, cancelable: true, shiftKey: true}))",
        vec![json!(boxed(ids[2]))],
    )
    .await
    .unwrap();
    // `x` on a row's link toggles that row: the middle one out, the fourth in.
    for id in [ids[1], ids[3]] {
        c.find(Locator::Css(&format!("tr[data-ticket=\"{id}\"] a")))
            .await
            .unwrap()
            .send_keys("x")
            .await
            .unwrap();
    }
    let picked = c
        .execute(
            "return Array.from(document.querySelectorAll('#list input[name=ids]:checked')).map(b => Number(b.value))",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(picked, json!([ids[0], ids[2], ids[3]]));
    d.until_text("3 selected").await;
    d.screenshot("console-inbox-bulk-en").await;
    c.find(Locator::Css("#list .bulk select[name=state]"))
        .await
        .unwrap()
        .select_by_value("open")
        .await
        .unwrap();
    let before = c.current_url().await.unwrap();
    d.click("#list .bulk button[value=state]").await;
    d.until_text("3 tickets changed.").await;
    assert_eq!(c.current_url().await.unwrap(), before, "no page load");
    for (i, id) in ids.iter().enumerate() {
        let want = if [0, 2, 3].contains(&i) {
            "Open"
        } else {
            "New"
        };
        let mut row = String::new();
        for _ in 0..50 {
            row = c
                .execute(
                    "return document.querySelector(arguments[0]).innerText",
                    vec![json!(format!("tr[data-ticket=\"{id}\"]"))],
                )
                .await
                .unwrap()
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if row.contains(want) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(row.contains(want), "row {i}: {row}");
        let t = app
            .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
            .await;
        assert_eq!(t["state"], want.to_lowercase());
    }
    d.screenshot("console-inbox-bulk-done-en").await;
    d.close().await;
    app.stop().await;
}
