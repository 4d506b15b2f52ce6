//! The chat WebSockets: one for customers (the widget), one for agents. Frames are JSON with a
//! `type`. Handlers only translate between frames and the chat service.
//!
//! Customer: connect to `/api/v1/chat/customer?token=<exchange-signed JWT>` or
//! `?visitor=<id>`, plus `&ticket=<id>&last_seq=<n>` to resume. The server sends `welcome`
//! (with `visitor_id` to keep), `offline` when no agent is connected, every stored `message`
//! after `last_seq`, then live events; before the visitor's first message, `notices` lists
//! the incidents under way (title, status, latest update, status page link). The client sends
//! `message` {body}, `typing`, `read` {seq}, `notices_seen` {incidents} when the visitor had
//! them in front of them, and `email` {address}: answers written while the customer is away
//! are mailed there (`email_saved` confirms).
//!
//! Agent (session token as bearer or cookie): `join` / `leave` {ticket_id}, `message`
//! {ticket_id, body, internal?}, `typing` {ticket_id}, `read` {ticket_id, seq}. Events of the
//! joined tickets arrive tagged with `ticket_id`.

use crate::AppState;
use crate::extract::{Auth, ClientIp};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::HashMap;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use xdesk_domain::ticket::TicketNumber;
use xdesk_service::Principal;
use xdesk_service::chat::ChatVisitor;
use xdesk_service::live::{LiveEvent, Party};
use xdesk_service::tickets::AddMessage;

#[derive(Debug, Deserialize)]
pub struct CustomerQuery {
    pub token: Option<String>,
    pub visitor: Option<String>,
    pub ticket: Option<i64>,
    #[serde(default)]
    pub last_seq: i64,
    pub lang: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum CustomerFrame {
    Message {
        body: String,
    },
    Typing,
    Read {
        seq: i64,
    },
    /// Where to send answers while the customer is away (asked for when nobody is online).
    Email {
        address: String,
    },
    /// The visitor opened an article the widget suggested before their first message.
    SuggestionOpened {
        slug: String,
    },
    /// "Lock my account": a visitor the exchange vouched for freezes their account at once.
    Freeze {
        #[serde(default)]
        reason: String,
    },
    /// The visitor opened the widget with these incident notices in front of them.
    NoticesSeen {
        incidents: Vec<i64>,
    },
    /// The answer to the satisfaction survey offered when the chat was solved.
    Survey {
        score: i32,
        #[serde(default)]
        comment: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum AgentFrame {
    Join {
        ticket_id: i64,
    },
    Leave {
        ticket_id: i64,
    },
    Message {
        ticket_id: i64,
        body: String,
        #[serde(default)]
        internal: bool,
    },
    Typing {
        ticket_id: i64,
    },
    Read {
        ticket_id: i64,
        seq: i64,
    },
}

async fn send(socket: &mut WebSocket, v: Value) -> bool {
    socket
        .send(Message::Text(v.to_string().into()))
        .await
        .is_ok()
}

fn error_frame(code: &str, message: String) -> Value {
    json!({"type": "error", "code": code, "message": message})
}

/// Small buffers: a chat frame is a few hundred bytes, and a node holds thousands of sockets
/// (the defaults, 128 KiB each way, would cost a quarter of a megabyte per idle visitor).
/// A frame over 64 KiB is refused.
fn sized(ws: WebSocketUpgrade) -> WebSocketUpgrade {
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(64 * 1024)
        .max_frame_size(64 * 1024)
}

fn ticket_json(id: i64) -> Value {
    json!({"id": id, "number": TicketNumber::for_ticket(id).to_string()})
}

pub async fn customer_socket(
    ws: WebSocketUpgrade,
    State(s): State<AppState>,
    Query(q): Query<CustomerQuery>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
) -> Result<Response, crate::error::AppError> {
    allowed_origin(&s, &headers)?;
    Ok(sized(ws).on_upgrade(move |socket| customer_session(s, q, ip, socket)))
}

/// Refuses a browser request from a site that is not allowed to embed the widget: without it,
/// any page a visitor opens could chat, and upload files, in that visitor's name.
fn allowed_origin(
    s: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<(), crate::error::AppError> {
    let origin = headers
        .get(axum::http::header::ORIGIN)
        .map(|o| o.to_str().unwrap_or("invalid"));
    if s.services.chat.origin_allowed(origin) {
        Ok(())
    } else {
        Err(crate::error::AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "origin_not_allowed",
            format!(
                "pages of {} may not open this chat",
                origin.unwrap_or_default()
            ),
        ))
    }
}

/// Waits for the next event of an optional subscription.
async fn next_event(
    rx: &mut Option<broadcast::Receiver<LiveEvent>>,
) -> Result<LiveEvent, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn customer_session(
    s: AppState,
    q: CustomerQuery,
    ip: Option<String>,
    mut socket: WebSocket,
) {
    let services = &s.services;
    let lang = q.lang.clone().unwrap_or_else(|| "en".into());
    // Every call below that awaits the services is boxed: a task's future is as large as its
    // largest await, and this one lives as long as the widget stays open (10,000 at once),
    // mostly idle in the loop's select.
    let mut v: ChatVisitor = match Box::pin(services.chat_visitor(
        q.token.as_deref(),
        q.visitor.as_deref(),
        &lang,
        ip.as_deref(),
    ))
    .await
    {
        Ok(v) => v,
        Err(e) => {
            send(&mut socket, error_frame("chat_unavailable", e.to_string())).await;
            return;
        }
    };
    let mut ticket = match q.ticket {
        Some(id) => Box::pin(services.chat_ticket(&v, id)).await.ok(),
        None => None,
    };
    // Agents whose status is online, as stored: the same on every node.
    let online = Box::pin(services.chat_agents_online())
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "agents online not read; the widget says nobody is");
            0
        });
    let welcome = json!({
        "type": "welcome",
        "visitor_id": v.visitor_id,
        "verified": v.verified,
        "name": v.name,
        "ticket": ticket.as_ref().map(|t| ticket_json(t.id)),
        "agents_online": online,
    });
    if !send(&mut socket, welcome).await {
        return;
    }
    if online == 0 {
        let offline = json!({
            "type": "offline",
            "expected_response": services.expected_response(&lang),
            "ask_email": !v.verified,
        });
        if !send(&mut socket, offline).await {
            return;
        }
    }
    // Before a visitor writes: what is already known to be wrong, so they need not ask.
    if ticket.is_none() {
        match Box::pin(services.chat_notices(&lang)).await {
            Ok(list) if !list.is_empty() => {
                let notices: Vec<Value> = list
                    .iter()
                    .map(|n| {
                        json!({"incident_id": n.incident_id, "title": n.title, "status": n.status,
                            "body": n.body, "updated_at": n.updated_at, "url": n.url})
                    })
                    .collect();
                if !send(&mut socket, json!({"type": "notices", "notices": notices})).await {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "incident notices not read for the widget"),
        }
    }
    // Subscribed before the replay, so nothing falls between the two.
    let mut rx = ticket.as_ref().map(|t| services.bus.subscribe(t.id));
    // While this socket is open the customer reads answers here, not by mail.
    let mut _present = ticket
        .as_ref()
        .map(|t| services.bus.customer_connected(t.id));
    // An address given before the chat has a ticket is kept until it has one.
    let mut pending_email: Option<String> = None;
    let mut sent = Sent::after(q.last_seq);
    if let Some(t) = &ticket
        && !Box::pin(replay(services, &v, t.id, &mut sent, false, &mut socket)).await
    {
        return;
    }
    let mut queue = QueueWatch::default();
    let mut queue_tick = tokio::time::interval(QUEUE_EVERY);
    loop {
        tokio::select! {
            _ = queue_tick.tick() => {
                if let Some(t) = &ticket
                    && let Some(f) = Box::pin(queue.frame(services, &v, t.id, &lang)).await
                    && !send(&mut socket, f).await { return; }
            }
            frame = socket.recv() => {
                let Some(Ok(frame)) = frame else { return };
                let text = match frame {
                    Message::Text(t) => t,
                    Message::Close(_) => return,
                    _ => continue,
                };
                let reply = match serde_json::from_str::<CustomerFrame>(&text) {
                    Err(e) => Some(error_frame("bad_frame", e.to_string())),
                    Ok(CustomerFrame::Message { body }) => {
                        match Box::pin(services.chat_post(&mut v, ticket.clone(), &body, Vec::new())).await {
                            Ok((t, created)) => {
                                let first = created.then(|| json!({"type": "ticket", "ticket": ticket_json(t.id)}));
                                if created || rx.is_none() {
                                    rx = Some(services.bus.subscribe(t.id));
                                    _present = Some(services.bus.customer_connected(t.id));
                                    if let Some(address) = pending_email.take()
                                        && let Err(e) = Box::pin(services.chat_set_contact(&v, t.id, &address)).await
                                            && !send(&mut socket, error_frame("email_refused", e.to_string())).await { return; }
                                    // The new chat's first messages were announced before the
                                    // subscription: send them from storage.
                                    if let Some(f) = &first
                                        && !send(&mut socket, f.clone()).await { return; }
                                    if !Box::pin(replay(services, &v, t.id, &mut sent, false, &mut socket)).await { return; }
                                    if let Some(f) = Box::pin(queue.frame(services, &v, t.id, &lang)).await
                                        && !send(&mut socket, f).await { return; }
                                }
                                ticket = Some(t);
                                None
                            }
                            Err(e @ xdesk_service::ServiceError::RateLimited { .. }) => {
                                Some(error_frame("rate_limited", e.to_string()))
                            }
                            Err(e) => Some(error_frame("message_refused", e.to_string())),
                        }
                    }
                    Ok(CustomerFrame::Email { address }) => match &ticket {
                        Some(t) => match Box::pin(services.chat_set_contact(&v, t.id, &address)).await {
                            Ok(t) => Some(json!({"type": "email_saved", "address": t.contact_email})),
                            Err(e) => Some(error_frame("email_refused", e.to_string())),
                        },
                        None => match xdesk_domain::identity::parse_email(&address) {
                            Ok(a) => {
                                pending_email = Some(a.clone());
                                Some(json!({"type": "email_saved", "address": a}))
                            }
                            Err(e) => Some(error_frame("email_refused", e.to_string())),
                        },
                    },
                    Ok(CustomerFrame::Typing) => {
                        if let Some(t) = &ticket { services.chat_signal(t.id, None); }
                        None
                    }
                    Ok(CustomerFrame::SuggestionOpened { slug }) => {
                        match Box::pin(services.chat_suggestion_opened(&v, &slug)).await {
                            Ok(()) => None,
                            Err(e) => Some(error_frame("suggestion_refused", e.to_string())),
                        }
                    }
                    Ok(CustomerFrame::Freeze { reason }) => match (v.verified, v.customer_id) {
                        (true, Some(id)) => match Box::pin(services
                            .customer_freeze(&xdesk_service::Principal::Customer { id }, &reason, None))
                            .await
                        {
                            Ok((r, follow_up)) => Some(json!({"type": "frozen",
                                "account_status": r.account_status, "ticket": ticket_json(follow_up)})),
                            Err(e) => Some(error_frame("freeze_refused", e.to_string())),
                        },
                        _ => Some(error_frame("freeze_refused", "only a signed-in customer can lock their account".into())),
                    },
                    Ok(CustomerFrame::NoticesSeen { incidents }) => {
                        match Box::pin(services.chat_notices_seen(&v, &incidents)).await {
                            Ok(()) => None,
                            Err(e) => Some(error_frame("notices_refused", e.to_string())),
                        }
                    }
                    Ok(CustomerFrame::Survey { score, comment }) => match &ticket {
                        Some(t) => match Box::pin(services.answer_chat_survey(&v, t.id, score, &comment)).await {
                            Ok(()) => Some(json!({"type": "survey_saved", "score": score})),
                            Err(e) => Some(error_frame("survey_refused", e.to_string())),
                        },
                        None => Some(error_frame("survey_refused", "this chat has no survey".into())),
                    },
                    Ok(CustomerFrame::Read { seq }) => {
                        if let Some(t) = &ticket { services.chat_signal(t.id, Some(seq)); }
                        None
                    }
                };
                if let Some(r) = reply
                    && !send(&mut socket, r).await { return; }
            }
            event = next_event(&mut rx) => {
                match event {
                    Ok(ev) if ev.for_customer() => {
                        if let LiveEvent::Message { message, .. } = &ev
                            && !sent.mark(message.seq) { continue; }
                        // Customers never see agents' typing of internal notes or their ids.
                        if !send(&mut socket, customer_view(&ev)).await { return; }
                    }
                    // Fell behind, or the shared bus lost events: what was missed comes from
                    // storage.
                    Ok(LiveEvent::Resync { .. }) | Err(RecvError::Lagged(_)) => {
                        if let Some(t) = &ticket
                            && !Box::pin(replay(services, &v, t.id, &mut sent, true, &mut socket)).await { return; }
                    }
                    Ok(_) => {}
                    Err(RecvError::Closed) => rx = None,
                }
            }
        }
    }
}

/// How often a waiting chat's place and estimated wait are refreshed.
const QUEUE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// What this socket last told the customer about the queue.
#[derive(Default)]
struct QueueWatch {
    /// The first estimate shown: reasons explain big moves since.
    base: Option<xdesk_domain::queue::Estimate>,
    last: Option<Value>,
}

impl QueueWatch {
    /// A `queue` frame when what the customer should see changed (a `queue` frame with
    /// `waiting: false` once an agent has the chat).
    async fn frame(
        &mut self,
        services: &xdesk_service::Services,
        v: &ChatVisitor,
        ticket_id: i64,
        lang: &str,
    ) -> Option<Value> {
        let view = services
            .chat_queue(v, ticket_id, self.base.as_ref(), lang)
            .await
            .ok()?;
        let frame = match view {
            Some(q) => {
                self.base.get_or_insert(q.estimate);
                json!({
                    "type": "queue",
                    "waiting": true,
                    "position": q.estimate.position,
                    "minutes": q.estimate.minutes,
                    "text": q.words,
                    "reason": q.reason,
                })
            }
            None if self.last.is_some() => json!({"type": "queue", "waiting": false}),
            None => return None,
        };
        if self.last.as_ref() == Some(&frame) {
            return None;
        }
        self.last = Some(frame.clone());
        Some(frame)
    }
}

/// An event as the customer sees it: agents by name only.
fn customer_view(ev: &LiveEvent) -> Value {
    let mut v = serde_json::to_value(ev).unwrap_or_default();
    if let Some(who) = v.get_mut("who")
        && let Some(o) = who.as_object_mut()
    {
        o.remove("id");
    }
    if let Some(o) = v.as_object_mut() {
        o.remove("agent_id");
    }
    v
}

/// The messages a socket has sent. Events may arrive out of order (two writers, or a replay
/// after a resync beside live events), so each message is sent once by its sequence number
/// rather than by "newer than the last".
struct Sent {
    /// What the client had before it connected.
    floor: i64,
    last: i64,
    seqs: std::collections::HashSet<i64>,
}

impl Sent {
    fn after(floor: i64) -> Self {
        Self {
            floor,
            last: floor,
            seqs: Default::default(),
        }
    }

    /// Whether message `seq` is still to be sent; marks it sent.
    fn mark(&mut self, seq: i64) -> bool {
        seq > self.floor && self.mark_any(seq)
    }

    /// As [`Sent::mark`], for a socket that forwards every live message, even one older than
    /// what it started from.
    fn mark_any(&mut self, seq: i64) -> bool {
        if !self.seqs.insert(seq) {
            return false;
        }
        self.last = self.last.max(seq);
        true
    }
}

/// Sends the stored messages not sent yet: those after the last one sent, or with `all`
/// (events may have been lost anywhere) every one since the socket opened.
async fn replay(
    services: &xdesk_service::Services,
    v: &ChatVisitor,
    ticket_id: i64,
    sent: &mut Sent,
    all: bool,
    socket: &mut WebSocket,
) -> bool {
    let after = if all { sent.floor } else { sent.last };
    let Ok(missed) = services.chat_history(v, ticket_id, after).await else {
        return true;
    };
    for m in missed {
        if !sent.mark(m.seq) {
            continue;
        }
        let ev = LiveEvent::Message {
            ticket_id,
            message: m,
        };
        if !send(socket, customer_view(&ev)).await {
            return false;
        }
    }
    true
}

pub async fn agent_socket(
    ws: WebSocketUpgrade,
    State(s): State<AppState>,
    Auth(p): Auth,
    headers: axum::http::HeaderMap,
) -> Result<Response, crate::error::AppError> {
    let get = |h| {
        headers
            .get(h)
            .and_then(|v: &axum::http::HeaderValue| v.to_str().ok())
    };
    if !xdesk_service::live::same_origin(
        get(axum::http::header::ORIGIN),
        get(axum::http::header::HOST),
    ) {
        return Err(crate::error::AppError::new(
            axum::http::StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "the agent socket opens only from this site's pages",
        ));
    }
    s.services.chat_agent_socket(&p)?;
    let token = crate::extract::credential_in(&headers)
        .ok_or(xdesk_service::ServiceError::Unauthenticated)?;
    Ok(sized(ws).on_upgrade(move |socket| agent_session(s, p, token, socket)))
}

async fn agent_session(s: AppState, mut p: Principal, token: String, mut socket: WebSocket) {
    let services = &s.services;
    let mut recheck = tokio::time::interval(std::time::Duration::from_secs(
        xdesk_service::live::RECHECK_SECS,
    ));
    recheck.tick().await;
    let (tx, mut events) = tokio::sync::mpsc::channel::<LiveEvent>(1024);
    let mut joined: HashMap<i64, (tokio::task::JoinHandle<()>, Party)> = HashMap::new();
    // Per joined chat, the messages sent here: a resync replays the rest from storage.
    let mut sent: HashMap<i64, Sent> = HashMap::new();
    if !send(&mut socket, json!({"type": "welcome"})).await {
        return;
    }
    loop {
        tokio::select! {
            _ = recheck.tick() => {
                if !still_allowed(services, &token, &mut p, &mut joined, &mut socket).await { break; }
            }
            frame = socket.recv() => {
                let Some(Ok(frame)) = frame else { break };
                let text = match frame {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    _ => continue,
                };
                if !still_allowed(services, &token, &mut p, &mut joined, &mut socket).await { break; }
                let reply = match serde_json::from_str::<AgentFrame>(&text) {
                    Err(e) => Some(error_frame("bad_frame", e.to_string())),
                    Ok(AgentFrame::Join { ticket_id }) => match services.chat_agent(&p, ticket_id).await {
                        Ok((_, who)) => {
                            if let std::collections::hash_map::Entry::Vacant(slot) = joined.entry(ticket_id) {
                                let mut rx = services.bus.subscribe(ticket_id);
                                let floor = services.agent_chat_history(&p, ticket_id, 0).await
                                    .ok().and_then(|h| h.last().map(|m| m.seq)).unwrap_or(0);
                                sent.insert(ticket_id, Sent::after(floor));
                                let tx = tx.clone();
                                let task = tokio::spawn(async move {
                                    loop {
                                        let ev = match rx.recv().await {
                                            Ok(ev) => ev,
                                            // Fell behind: replayed from storage.
                                            Err(RecvError::Lagged(_)) => LiveEvent::Resync { ticket_id },
                                            Err(RecvError::Closed) => break,
                                        };
                                        if tx.send(ev).await.is_err() { break }
                                    }
                                });
                                if let Party::Agent { id, name } = &who {
                                    services.bus.publish(LiveEvent::AgentJoined { ticket_id, agent_id: *id, name: name.clone() });
                                }
                                slot.insert((task, who));
                            }
                            Some(json!({"type": "joined", "ticket_id": ticket_id}))
                        }
                        Err(e) => Some(error_frame("join_refused", e.to_string())),
                    },
                    Ok(AgentFrame::Leave { ticket_id }) => {
                        leave(services, &mut joined, ticket_id);
                        sent.remove(&ticket_id);
                        None
                    }
                    Ok(AgentFrame::Message { ticket_id, body, internal }) => {
                        let m = AddMessage { body, body_html: None, internal, attachments: Vec::new() };
                        match services.add_message(&p, ticket_id, m, None).await {
                            Ok(_) => None,
                            Err(e) => Some(error_frame("message_refused", e.to_string())),
                        }
                    }
                    Ok(AgentFrame::Typing { ticket_id }) => {
                        if let Some((_, who)) = joined.get(&ticket_id) {
                            services.bus.publish(LiveEvent::Typing { ticket_id, who: who.clone() });
                        }
                        None
                    }
                    Ok(AgentFrame::Read { ticket_id, seq }) => {
                        if let Some((_, who)) = joined.get(&ticket_id) {
                            services.bus.publish(LiveEvent::Read { ticket_id, who: who.clone(), seq });
                        }
                        None
                    }
                };
                if let Some(r) = reply
                    && !send(&mut socket, r).await { break; }
            }
            Some(ev) = events.recv() => {
                let replayed = match &ev {
                    LiveEvent::Resync { ticket_id } => match sent.get_mut(ticket_id) {
                        Some(seen) => {
                            let after = seen.floor;
                            let missed = services.agent_chat_history(&p, *ticket_id, after).await.unwrap_or_default();
                            missed.into_iter().filter(|m| seen.mark_any(m.seq))
                                .map(|message| LiveEvent::Message { ticket_id: *ticket_id, message }).collect()
                        }
                        None => Vec::new(),
                    },
                    LiveEvent::Message { ticket_id, message } => {
                        if sent.get_mut(ticket_id).is_some_and(|seen| !seen.mark_any(message.seq)) { continue; }
                        vec![ev]
                    }
                    _ => vec![ev],
                };
                let mut open = true;
                for ev in replayed {
                    open = send(&mut socket, serde_json::to_value(&ev).unwrap_or_default()).await;
                    if !open { break; }
                }
                if !open { break; }
            }
        }
    }
    let ids: Vec<i64> = joined.keys().copied().collect();
    for id in ids {
        leave(services, &mut joined, id);
    }
}

/// Re-checks the socket's session and each joined chat: a revoked session ends the socket, a
/// chat the agent may no longer see is left with a `left` frame.
async fn still_allowed(
    services: &xdesk_service::Services,
    token: &str,
    p: &mut Principal,
    joined: &mut HashMap<i64, (tokio::task::JoinHandle<()>, Party)>,
    socket: &mut WebSocket,
) -> bool {
    let Ok((now, _)) = services.recheck_live(token, None).await else {
        let _ = socket
            .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                code: 4401,
                reason: "access ended".into(),
            })))
            .await;
        return false;
    };
    *p = now;
    let ids: Vec<i64> = joined.keys().copied().collect();
    for id in ids {
        if services.chat_agent(p, id).await.is_err() {
            leave(services, joined, id);
            if !send(
                socket,
                json!({"type": "left", "ticket_id": id, "reason": "access_revoked"}),
            )
            .await
            {
                return false;
            }
        }
    }
    true
}

fn leave(
    services: &xdesk_service::Services,
    joined: &mut HashMap<i64, (tokio::task::JoinHandle<()>, Party)>,
    ticket_id: i64,
) {
    if let Some((task, who)) = joined.remove(&ticket_id) {
        task.abort();
        if let Party::Agent { id, name } = who {
            services.bus.publish(LiveEvent::AgentLeft {
                ticket_id,
                agent_id: id,
                name,
            });
        }
    }
}

/// Who a widget's HTTP call is from, as for the customer socket, and which chat it is about.
#[derive(Debug, Deserialize)]
pub struct WidgetQuery {
    pub token: Option<String>,
    pub visitor: Option<String>,
    pub ticket: Option<i64>,
    pub filename: Option<String>,
}

async fn widget_visitor(
    s: &AppState,
    q: &WidgetQuery,
    ip: Option<&str>,
) -> Result<ChatVisitor, crate::error::AppError> {
    if q.token.is_none() && q.visitor.is_none() {
        return Err(xdesk_service::ServiceError::Unauthenticated.into());
    }
    Ok(s.services
        .chat_visitor(q.token.as_deref(), q.visitor.as_deref(), "en", ip)
        .await?)
}

/// A file the customer pastes or drops into the chat (the raw bytes as the body, its type as
/// `Content-Type`): stored, screened like any message, and shown to the agent at once.
pub async fn upload(
    State(s): State<AppState>,
    Query(q): Query<WidgetQuery>,
    ClientIp(ip): ClientIp,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> crate::error::ApiResult<(axum::http::StatusCode, axum::Json<Value>)> {
    allowed_origin(&s, &headers)?;
    let mut v = widget_visitor(&s, &q, ip.as_deref()).await?;
    let ticket_id = q
        .ticket
        .ok_or(xdesk_service::ServiceError::NotFound("chat"))?;
    let ticket = s.services.chat_ticket(&v, ticket_id).await?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let upload = xdesk_service::tickets::Upload {
        filename: q
            .filename
            .clone()
            .unwrap_or_else(|| "screenshot.png".into()),
        content_type,
        bytes: body.to_vec(),
    };
    let (t, _) = s
        .services
        .chat_post(&mut v, Some(ticket), "", vec![upload])
        .await?;
    Ok((
        axum::http::StatusCode::CREATED,
        axum::Json(json!({"ticket": ticket_json(t.id)})),
    ))
}

/// A file of the visitor's chat, shown inline when it is an image and downloaded otherwise.
pub async fn download(
    State(s): State<AppState>,
    Query(q): Query<WidgetQuery>,
    axum::extract::Path(id): axum::extract::Path<i64>,
    ClientIp(ip): ClientIp,
) -> crate::error::ApiResult<Response> {
    use axum::response::IntoResponse;
    let v = widget_visitor(&s, &q, ip.as_deref()).await?;
    let (a, bytes) = s.services.chat_attachment(&v, id).await?;
    let image =
        ["image/png", "image/jpeg", "image/gif", "image/webp"].contains(&a.content_type.as_str());
    let disposition = if image { "inline" } else { "attachment" };
    let content_type = if image {
        a.content_type.clone()
    } else {
        "application/octet-stream".into()
    };
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, content_type),
            (
                axum::http::header::CONTENT_DISPOSITION,
                disposition.to_owned(),
            ),
            (
                axum::http::header::X_CONTENT_TYPE_OPTIONS,
                "nosniff".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future an async fn of four arguments returns, without calling it.
    fn future_size<A, B, C, D, F: std::future::Future>(_: impl FnOnce(A, B, C, D) -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Each open widget keeps its socket's future in memory for as long as it stays open: its
    /// size is what 10,000 idle visitors cost beyond their buffers. With the services' calls
    /// inline it was 23,136 bytes; boxed, 5,600.
    #[test]
    fn an_open_widget_holds_a_small_future() {
        let size = future_size(customer_session);
        println!("customer_session future: {size} bytes");
        assert!(
            size <= 8 * 1024,
            "customer_session's future is {size} bytes"
        );
    }
}
