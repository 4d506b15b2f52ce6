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
