//! Merge and split over real HTTP: a duplicate's messages and files move to the survivor in
//! one step and the duplicate points at it; a second problem raised in a thread becomes its
//! own ticket; both chains record what happened and still verify.

use crate::backend_test;
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn with_file(app: &TestApp, subject: &str, body: &str, email: &str) -> Value {
    json!({
        "group_id": app.payments_group,
        "subject": subject,
        "body": body,
        "customer": {"email": email},
        "attachments": [{"filename": "proof.txt", "content_type": "text/plain",
                         "content_base64": "cGF5bWVudCBwcm9vZg=="}],
    })
}

async fn kinds(app: &TestApp, id: i64) -> Vec<String> {
    app.verified_events(id)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// The id of the first message that moved into `keep` from `dup`.
async fn moved_id(app: &TestApp, keep: i64, dup: i64) -> i64 {
    let k = app
        .get_json(&app.api_key, &format!("/api/v1/tickets/{keep}"))
        .await;
    k["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["moved_from"]["ticket"] == dup)
        .unwrap()["id"]
        .as_i64()
        .unwrap()
}

backend_test!(
    merge_moves_the_conversation_and_split_starts_a_new_one,
    |app| {
        let keep = app
            .create_ticket(with_file(
                &app,
                "Deposit missing",
                "My USDT deposit is missing",
                "m@example.com",
            ))
            .await;
        let dup = app
            .create_ticket(with_file(
                &app,
                "Deposit again",
                "Still no USDT deposit, see file",
                "m@example.com",
            ))
            .await;
        let (keep_id, dup_id) = (keep["id"].as_i64().unwrap(), dup["id"].as_i64().unwrap());
        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{dup_id}/replies"),
                json!({"body": "Thanks, checking."}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let other = app
            .create_ticket(with_file(&app, "Other", "Someone else", "x@example.com"))
            .await["id"]
            .as_i64()
            .unwrap();

        // Across customers or into itself: refused, nothing written.
        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{dup_id}/merge"),
                json!({"into": other}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{dup_id}/merge"),
                json!({"into": dup_id}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            kinds(&app, keep_id)
                .await
                .iter()
                .filter(|k| *k == "merged_from")
                .count(),
            0
        );

        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{dup_id}/merge"),
                json!({"into": keep_id}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        // The duplicate: closed, pointing at the survivor, the customer told where to look.
        let d = app
            .get_json(&app.api_key, &format!("/api/v1/tickets/{dup_id}"))
            .await;
        assert_eq!(d["state"], "closed");
        assert_eq!(d["merged_into"], keep_id);
        assert!(kinds(&app, dup_id).await.contains(&"merged".to_owned()));
        // The survivor: both of the duplicate's messages, in order, with the file.
        let k = app
            .get_json(&app.api_key, &format!("/api/v1/tickets/{keep_id}"))
            .await;
        let moved: Vec<&Value> = k["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["moved_from"]["ticket"] == dup_id)
            .collect();
        assert_eq!(moved.len(), 2, "{k}");
        assert_eq!(moved[0]["body"], "Still no USDT deposit, see file");
        assert_eq!(moved[0]["author_kind"], "customer");
        assert_eq!(moved[0]["attachments"][0]["filename"], "proof.txt");
        assert_eq!(moved[1]["body"], "Thanks, checking.");
        let events = app.verified_events(keep_id).await;
        let from = events
            .iter()
            .find(|e| e["kind"] == "merged_from")
            .expect("merged_from");
        assert_eq!(from["data"]["messages"], 2);
        assert_eq!(
            from["data"]["from_head"].as_str().unwrap().len(),
            64,
            "{from}"
        );
        // The file is the same stored content, downloadable from the survivor.
        let url = moved[0]["attachments"][0]["url"].as_str().unwrap();
        let r = app.get(&app.api_key, url).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap(), "payment proof");
        // A closed, merged ticket merges no more.
        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{dup_id}/merge"),
                json!({"into": keep_id}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CONFLICT);

        // Split: the customer raised a second problem in the thread.
        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{keep_id}/replies"),
                json!({"body": "Thanks."}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let k = app
            .get_json(&app.api_key, &format!("/api/v1/tickets/{keep_id}"))
            .await;
        let agent_msg = k["messages"].as_array().unwrap().last().unwrap()["id"].clone();
        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{keep_id}/split"),
                json!({"message_id": agent_msg}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "agents' replies are not split"
        );
        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{keep_id}/split"),
                json!({"message_id": 999_999}),
            )
            .await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let first = k["messages"][0]["id"].clone();
        let r = app
            .post(
                &app.api_key,
                &format!("/api/v1/tickets/{keep_id}/split"),
                json!({"message_id": first, "subject": "USDT deposit"}),
            )
            .await;
        assert_eq!(
            r.status(),
            StatusCode::CREATED,
            "{}",
            r.text().await.unwrap()
        );
        let new: Value = r.json().await.unwrap();
        let new_id = new["id"].as_i64().unwrap();
        assert_ne!(new_id, keep_id);
        assert_eq!(new["subject"], "USDT deposit");
        assert_eq!(new["customer_id"], k["customer_id"]);
        assert_eq!(
            new["intent"], "deposit_missing",
            "triaged like any new ticket: {new}"
        );
        assert_eq!(new["messages"][0]["body"], "My USDT deposit is missing");
        assert_eq!(
            new["messages"][0]["attachments"][0]["filename"],
            "proof.txt"
        );
        assert_eq!(new["messages"][0]["moved_from"]["ticket"], keep_id);
        let events = app.verified_events(new_id).await;
        let split = events
            .iter()
            .find(|e| e["kind"] == "split_from")
            .expect("split_from");
        assert_eq!(split["data"]["from"], keep_id);
        let events = app.verified_events(keep_id).await;
        assert!(
            events
                .iter()
                .any(|e| e["kind"] == "split_out" && e["data"]["ticket_id"] == new_id)
        );

        // In the console: the merged ticket's banner, the moved message's origin, a split button.
        let mut web = crate::web::Web::new(&app);
        web.sign_in("agent@x.test", None).await;
        let page = web.get(&format!("/console/tickets/{dup_id}")).await;
        assert!(page.body.contains("This ticket was merged"), "banner");
        assert!(page.body.contains(&format!("/console/tickets/{keep_id}")));
        let page = web.get(&format!("/console/tickets/{keep_id}")).await;
        assert!(
            page.body.contains("Moved here from XD-"),
            "origin of moved messages"
        );
        assert!(page.body.contains("Split into a new ticket"));
        let second = moved_id(&app, keep_id, dup_id).await;
        let csrf = web.csrf();
        let r = web
            .post(
                &format!("/console/tickets/{keep_id}/split"),
                &[("csrf", &csrf), ("message_id", &second.to_string())],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert!(r.location().starts_with("/console/tickets/"));
        assert_ne!(r.location(), format!("/console/tickets/{keep_id}"));
        app.stop().await;
    }
);
