//! Helpers for the store's own tests: a fresh SQLite store and a sample ticket.
#![allow(clippy::unwrap_used)]

use crate::{NewMessage, NewTicket, Store, TicketCustomer};
use xdesk_domain::event::Actor;
use xdesk_domain::identity::Identity;
use xdesk_domain::ticket::RawCryptoFields;

pub(crate) fn ticket(subject: &str, email: &str, tags: &[&str]) -> NewTicket {
    NewTicket {
        subject: subject.into(),
        state: "new".into(),
        priority: "normal".into(),
        channel: "api".into(),
        language: "zh".into(),
        category: None,
        customer: TicketCustomer::Identities {
            identities: vec![Identity::parse("email", email).unwrap()],
            display_name: email.into(),
            language: "zh".into(),
        },
        group_id: None,
        assignee_id: None,
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        crypto: RawCryptoFields::default(),
        triage: None,
        first_message: NewMessage {
            author_kind: "customer".into(),
            author_id: None,
            body_text: "提币未到账".into(),
            body_html: None,
            internal: false,
            channel: "api".into(),
            metadata: serde_json::json!({}),
            attachments: Vec::new(),
            email: None,
            redacted: Vec::new(),
            outbound: None,
        },
        notices: Vec::new(),
        after_insert: None,
        sla: None,
        actor: Actor::System,
    }
}

pub(crate) async fn store(dir: &std::path::Path) -> Store {
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.display());
    let s = Store::connect(&url, dir).await.unwrap();
    s.migrate().await.unwrap();
    s
}
