//! The console's live connection (a WebSocket on the agent's session): a queue page hears that
//! some ticket it may show changed and reloads itself; a ticket page hears new messages and
//! changes of that ticket, and which other agents have it open or are typing a reply, so two
//! agents do not answer the same customer at once. On a chat, the agent also sees the customer
//! typing and reading, and the customer sees the agent typing and reading.

use crate::UiState;
use crate::page::SignedIn;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::broadcast::Receiver;
use tokio::sync::broadcast::error::RecvError;
use xdesk_service::Services;
use xdesk_service::live::{LiveEvent, News, Party};
use xdesk_store::Visibility;

#[derive(Deserialize)]
pub(crate) struct LiveQuery {
    ticket: Option<i64>,
}

/// Only pages of this site may open the socket: the cookie alone would let another site's
/// page listen in an agent's name.
fn same_origin(headers: &HeaderMap) -> bool {
    let get = |h| headers.get(h).and_then(|v| v.to_str().ok());
    xdesk_service::live::same_origin(get(header::ORIGIN), get(header::HOST))
}

pub(crate) async fn socket(
    me: SignedIn,
    State(s): State<UiState>,
    headers: HeaderMap,
    Query(q): Query<LiveQuery>,
    ws: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let mut chat = false;
    if let Some(id) = q.ticket {
        match s.services.may_see_ticket(&me.principal, id).await {
            Ok(t) => chat = t.channel == "chat",
            Err(_) => return StatusCode::NOT_FOUND.into_response(),
        }
    }
    let visibility = match s.services.visibility(&me.principal).await {
        Ok(v) => v,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let agent = (me.agent.id, me.agent.display_name.clone());
    let supervises = matches!(
        me.principal,
        xdesk_service::Principal::Agent {
            role: xdesk_domain::identity::Role::Supervisor | xdesk_domain::identity::Role::Admin,
            ..
        }
    );
    // Subscribed before the handshake answers, so nothing published after it is missed.
    let subscriptions = match q.ticket {
        Some(id) => (None, Some(s.services.bus.subscribe(id))),
        None => (Some(s.services.bus.subscribe_changes()), None),
    };
    ws.on_upgrade(move |socket| {
        run(
            socket,
            s.services,
            me.token,
            agent,
            (q.ticket, chat),
            subscriptions,
            visibility,
            supervises,
        )
    })
}

#[derive(Deserialize)]
struct Frame {
    #[serde(rename = "type")]
    kind: String,
    /// For `read`: the last message seen.
    seq: Option<i64>,
}

async fn next(rx: &mut Option<Receiver<LiveEvent>>) -> Result<LiveEvent, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Who hears an alert: a warning goes to the ticket's assignee (or, unassigned, to everyone
/// who may see it); urgent tickets and breaches to supervisors and admins.
fn alerted(kind: &str, assignee: Option<i64>, me: i64, supervises: bool) -> bool {
    match kind {
        "sla_warning" => assignee.is_none_or(|a| a == me),
        // A customer may be about to give their keys to a phishing site: whoever answers.
        "phishing_link" => supervises || assignee.is_none_or(|a| a == me),
        _ => supervises,
    }
}

/// A queue follows every change (`changes`); a ticket page its own ticket's events (`events`).
#[allow(clippy::too_many_arguments)]
async fn run(
    mut socket: WebSocket,
    services: Services,
    token: String,
    (agent_id, name): (i64, String),
    (ticket, chat): (Option<i64>, bool),
    (mut changes, mut events): (Option<Receiver<LiveEvent>>, Option<Receiver<LiveEvent>>),
    mut visibility: Visibility,
    supervises: bool,
) {
    let mut recheck = tokio::time::interval(std::time::Duration::from_secs(
        xdesk_service::live::RECHECK_SECS,
    ));
    recheck.tick().await;
    let presence = |doing: &str| {
        if let Some(ticket_id) = ticket {
            services.bus.publish(LiveEvent::Presence {
                ticket_id,
                agent_id,
                name: name.clone(),
                doing: doing.to_owned(),
            });
        }
    };
    presence("viewing");
    loop {
        let out: Option<Value> = tokio::select! {
            _ = recheck.tick() => match services.recheck_live(&token, ticket).await {
                Ok((_, v)) => {
                    visibility = v;
                    None
                }
                Err(_) => break,
            },
            frame = socket.recv() => match frame {
                Some(Ok(Message::Text(t))) => {
                    match services.recheck_live(&token, ticket).await {
                        Ok((_, v)) => visibility = v,
                        Err(_) => break,
                    }
                    let me = Party::Agent { id: agent_id, name: name.clone() };
                    match (serde_json::from_str::<Frame>(&t), ticket) {
                        (Ok(f), _) if f.kind == "viewing" => presence("viewing"),
                        (Ok(f), Some(id)) if f.kind == "typing" => {
                            presence("typing");
                            // In a chat the customer sees the agent typing too.
                            if chat {
                                services.chat_agent_signal(id, me, None);
                            }
                        }
                        (Ok(Frame { kind, seq: Some(seq) }), Some(id)) if kind == "read" && chat => {
                            services.chat_agent_signal(id, me, Some(seq));
                        }
                        _ => {}
                    }
                    None
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => None,
            },
            ev = next(&mut changes) => match ev {
                Ok(LiveEvent::Changed { ticket_id, group_id, assignee_id, news })
                    if visibility.allows(group_id, assignee_id, None) =>
                {
                    Some(changed(ticket_id, News::for_agent(news.as_ref(), assignee_id, agent_id)))
                }
                Ok(LiveEvent::Alert { ticket_id, group_id, assignee_id, kind, clock, subject })
                    if visibility.allows(group_id, assignee_id, None)
                        && alerted(&kind, assignee_id, agent_id, supervises) =>
                {
                    Some(json!({"type": "alert", "ticket_id": ticket_id, "kind": kind,
                        "clock": clock, "subject": subject}))
                }
                // Surges: supervisors and admins only (see `xdesk_service::surge`).
                Ok(LiveEvent::Surge { surge_id, summary_en, summary_zh, count }) if supervises => {
                    Some(json!({"type": "surge", "surge_id": surge_id, "count": count,
                        "summary_en": summary_en, "summary_zh": summary_zh,
                        "link": format!("/console/incidents/new?surge={surge_id}")}))
                }
                // Missed some: reload anyway.
                Ok(LiveEvent::Resync { .. }) | Err(RecvError::Lagged(_)) => Some(json!({"type": "changed"})),
                Ok(_) => None,
                Err(RecvError::Closed) => break,
            },
            ev = next(&mut events) => match ev {
                Ok(LiveEvent::Message { .. } | LiveEvent::Changed { .. } | LiveEvent::Resync { .. })
                | Err(RecvError::Lagged(_)) => {
                    Some(json!({"type": "changed", "ticket_id": ticket}))
                }
                Ok(LiveEvent::Presence { agent_id: other, name, doing, .. }) if other != agent_id => {
                    Some(json!({"type": "presence", "agent_id": other, "name": name, "doing": doing}))
                }
                Ok(LiveEvent::Typing { who: Party::Customer, .. }) => Some(json!({"type": "customer_typing"})),
                Ok(LiveEvent::Read { who: Party::Customer, seq, .. }) => Some(json!({"type": "customer_read", "seq": seq})),
                Ok(_) => None,
                Err(RecvError::Closed) => break,
            },
        };
        if let Some(v) = out
            && socket
                .send(Message::Text(v.to_string().into()))
                .await
                .is_err()
        {
            break;
        }
    }
    presence("left");
    let _ = socket
        .send(Message::Close(Some(axum::extract::ws::CloseFrame {
            code: 4401,
            reason: "access ended".into(),
        })))
        .await;
}

/// A queue's `changed` message; with `notify` (`assigned`, `customer_reply`), the subject and
/// the ticket's version when the change is news to this agent (see `static/notify.js`).
fn changed(ticket_id: i64, news: Option<&News>) -> Value {
    match news {
        Some(n) => json!({"type": "changed", "ticket_id": ticket_id, "notify": n.kind,
            "subject": n.subject, "version": n.version}),
        None => json!({"type": "changed", "ticket_id": ticket_id}),
    }
}

#[cfg(test)]
mod tests {
    use super::same_origin;
    use axum::http::{HeaderMap, HeaderValue, header};

    fn headers(origin: Option<&'static str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("desk.example:8080"));
        if let Some(o) = origin {
            h.insert(header::ORIGIN, HeaderValue::from_static(o));
        }
        h
    }

    #[test]
    fn only_this_sites_pages_open_the_live_socket() {
        assert!(same_origin(&headers(Some("http://desk.example:8080"))));
        assert!(same_origin(&headers(Some("https://DESK.example:8080"))));
        assert!(!same_origin(&headers(Some("https://evil.example"))));
        assert!(!same_origin(&headers(Some(
            "https://desk.example:8080.evil.example"
        ))));
        assert!(!same_origin(&headers(Some("null"))));
        assert!(same_origin(&headers(None)));
    }
}
