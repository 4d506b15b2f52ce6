//! Satisfaction surveys over real HTTP: solving a ticket sends the customer one link (as a
//! message, so it also goes by mail, chat and the portal); the link takes one answer from 1 to
//! 5; agents read the results per agent, group and request.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

backend_test!(solved_tickets_ask_once_how_we_did, |app| {
    let mut t = ticket_body(&app, "充值未到账");
    t["assignee_id"] = json!(null);
    let t = app.create_ticket(t).await;
    let id = t["id"].as_i64().unwrap();
    let r = app
        .post(
            &app.agent_token,
            &format!("/api/v1/tickets/{id}/replies"),
            json!({"body": "已为您补发。"}),
        )
        .await;
    assert!(r.status().is_success());
    let solved = app.set_state(id, "solved").await;
    assert_eq!(solved["state"], "solved");
    let detail = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    let notice = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["body"].as_str().unwrap().contains("/survey/"))
        .cloned()
        .unwrap_or_else(|| panic!("no survey link: {detail}"));
    assert_eq!(notice["author_kind"], "system");
    let body = notice["body"].as_str().unwrap();
    assert!(body.starts_with("您的问题已解决"), "{body}");
    let path = &body[body.find("/survey/").unwrap()..];
    // The customer sees it in the portal too.
    let mut customer = app.portal_as(t["customer_id"].as_i64().unwrap()).await;
    assert!(
        customer
            .get(&format!("/portal/tickets/{id}"))
            .await
            .body
            .contains(path)
    );
    // Solving again (after a reopen) sends no second survey.
    app.set_state(id, "open").await;
    app.set_state(id, "solved").await;
    let detail = app
        .get_json(&app.agent_token, &format!("/api/v1/tickets/{id}"))
        .await;
    let links = detail["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["body"].as_str().unwrap().contains("/survey/"))
        .count();
    assert_eq!(links, 1);

    // The link: a page in the ticket's language, one answer from 1 to 5.
    let mut web = crate::web::Web::new(&app);
    let page = web.get(path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("请为我们的服务打分"), "{}", page.body);
    let csrf = web.csrf();
    let r = web
        .post(path, &[("csrf", csrf.as_str()), ("score", "6")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = web.post(path, &[("csrf", "forged"), ("score", "2")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = web
        .post(
            path,
            &[
                ("csrf", csrf.as_str()),
                ("score", "2"),
                ("comment", "太慢了"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("感谢您的评价"), "{}", r.body);
    let r = web
        .post(path, &[("csrf", csrf.as_str()), ("score", "5")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(
        web.get("/survey/not-a-token").await.status,
        StatusCode::NOT_FOUND
    );

    // Agents read the results.
    let mut agent = crate::web::Web::new(&app);
    agent.sign_in("agent@x.test", None).await;
    let report = agent.get("/console/satisfaction").await.body;
    assert!(report.contains("data-report=\"group\""), "{report}");
    assert!(
        report.contains("<td>Payments</td><td>1</td><td>2.0</td><td>0 %</td>"),
        "{report}"
    );
    app.stop().await;
});

// At the end of a chat the survey is answered in the widget: the survey notice is marked as
// such, and the visitor's socket takes one answer from 1 to 5; the report API counts it.
backend_test!(a_solved_chat_is_rated_in_the_widget, |app| {
    use crate::chat::{connect, expect, send};
    let mut customer = connect(&app, "/api/v1/chat/customer?lang=en", None).await;
    expect(&mut customer, "welcome").await;
    // No chat yet: nothing to rate.
    send(&mut customer, json!({"type": "survey", "score": 5})).await;
    assert_eq!(
        expect(&mut customer, "error").await["code"],
        "survey_refused"
    );
    send(
        &mut customer,
        json!({"type": "message", "body": "My withdrawal is stuck"}),
    )
    .await;
    let id = expect(&mut customer, "ticket").await["ticket"]["id"]
        .as_i64()
        .unwrap();
    // Not solved yet: no survey offered.
    send(&mut customer, json!({"type": "survey", "score": 5})).await;
    assert_eq!(
        expect(&mut customer, "error").await["code"],
        "survey_refused"
    );
    let admin = app.admin_token().await;
    let now = app.get_json(&admin, &format!("/api/v1/tickets/{id}")).await;
    let r = app
        .patch(
            &admin,
            &format!("/api/v1/tickets/{id}"),
            json!({"version": now["version"], "state": "solved"}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let notice = loop {
        let m = expect(&mut customer, "message").await;
        if m["message"]["author_kind"] == "system" && m["message"]["notice"] == "survey" {
            break m;
        }
    };
    assert!(
        notice["message"]["body"]
            .as_str()
            .unwrap()
            .contains("/survey/"),
        "{notice}"
    );
    send(&mut customer, json!({"type": "survey", "score": 0})).await;
    assert_eq!(
        expect(&mut customer, "error").await["code"],
        "survey_refused"
    );
    // Another visitor cannot answer this chat's survey.
    let mut stranger = connect(
        &app,
        &format!("/api/v1/chat/customer?lang=en&ticket={id}"),
        None,
    )
    .await;
    let welcome = expect(&mut stranger, "welcome").await;
    assert!(welcome["ticket"].is_null(), "{welcome}");
    send(&mut stranger, json!({"type": "survey", "score": 1})).await;
    assert_eq!(
        expect(&mut stranger, "error").await["code"],
        "survey_refused"
    );
    send(
        &mut customer,
        json!({"type": "survey", "score": 4, "comment": "Quick, thanks"}),
    )
    .await;
    assert_eq!(expect(&mut customer, "survey_saved").await["score"], 4);
    send(&mut customer, json!({"type": "survey", "score": 1})).await;
    assert_eq!(
        expect(&mut customer, "error").await["code"],
        "survey_refused"
    );

    // The report API: one answer of 4 for the chat's intent; customers' tokens get nothing.
    let report = app
        .get_json(&app.agent_token, "/api/v1/reports/satisfaction")
        .await;
    let by_intent = report["by_intent"].as_array().unwrap();
    assert_eq!(by_intent.len(), 1, "{report}");
    assert_eq!(by_intent[0]["answers"], 1);
    assert_eq!(by_intent[0]["average"], 4.0);
    assert_eq!(by_intent[0]["satisfied"], 1.0);
    assert_eq!(
        app.get("bad-token", "/api/v1/reports/satisfaction")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    app.stop().await;
});
