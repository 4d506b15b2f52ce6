//! History in words: a ticket event or an audit entry as one line in the reader's language.
//! Lines name agents and groups, intents, tags, states, priorities, channels and SLA clocks
//! ("Assigned to Li Wei", "State: New → Waiting on customer") instead of ids and codes.
//!
//! Pure functions of what is stored (an event's kind, actor and payload; an audit entry's
//! action, target and detail) and the names of agents and groups, so every kind is tested in
//! both languages without a database. What they do not know (a kind added later, a payload of
//! another shape) still gives a readable line, never a panic.

use crate::i18n::{Lang, Tr};
use serde_json::{Map, Value};
use xdesk_domain::ticket::TicketNumber;
use xdesk_service::people::Names;
use xdesk_store::AuditRow;

/// A ticket event as a timeline line. None for what the timeline shows as messages.
pub(crate) fn timeline(
    tr: &Tr,
    names: &Names,
    kind: &str,
    actor: &str,
    data: &Value,
) -> Option<String> {
    match kind {
        "message_added" | "attachment_added" => None,
        _ => Some(event_line(tr, names, kind, actor, data)),
    }
}

/// Any ticket event, stored as `kind` with payload `data`, caused by `actor`.
pub(crate) fn event_line(tr: &Tr, names: &Names, kind: &str, actor: &str, data: &Value) -> String {
    let s = |key: &str| data.get(key).and_then(Value::as_str).unwrap_or_default();
    match kind {
        "created" if !s("channel").is_empty() => fill(
            tr.t("history.created"),
            &[("channel", &word(tr, "channel", s("channel")))],
        ),
        "created" => tr.t("event.created").to_owned(),
        "message_added" => tr
            .t(
                if data.get("internal").and_then(Value::as_bool) == Some(true) {
                    "history.note_added"
                } else {
                    "history.message_added"
                },
            )
            .to_owned(),
        "attachment_added" => fill(tr.t("history.attachment_added"), &[("file", s("filename"))]),
        "secret_redacted" => tr.t("event.secret_redacted").to_owned(),
        "triaged" => {
            let mut line = fill(
                tr.t("history.triaged"),
                &[("intent", &word(tr, "intent", s("intent")))],
            );
            if let Some(reason) = data.get("urgent_reason").and_then(Value::as_str) {
                line.push_str(separator(tr));
                line.push_str(&word(tr, "history.urgent", reason));
            }
            line
        }
        "sla_warning" | "sla_breached" | "escalated" => {
            tr.t1(&format!("event.{kind}"), word(tr, "sla", s("clock")))
        }
        "quality_flag" if tr.has(&format!("quality.{}", s("kind"))) => {
            tr.t(&format!("quality.{}", s("kind"))).to_owned()
        }
        "auto_assigned" => tr.t1("event.auto_assigned", agent(tr, names, &data["agent_id"])),
        "returned_to_queue" => tr.t1(
            "event.returned_to_queue",
            agent(tr, names, &data["agent_id"]),
        ),
        "merged" | "merged_from" | "split_out" | "split_from" => {
            let other = match kind {
                "merged" => "into",
                "split_out" => "ticket_id",
                _ => "from",
            };
            let line = tr.t1(&format!("event.{kind}"), ticket(tr, &data[other]));
            by(tr, names, actor, line)
        }
        "incident_linked" | "incident_unlinked" => {
            let n = data["incident_id"].as_i64().unwrap_or_default();
            let line = tr.t1(&format!("event.{kind}"), format!("#{n}"));
            by(tr, names, actor, line)
        }
        "suspicious_link" => match data.get("imitates").and_then(Value::as_str) {
            Some(official) => fill(
                tr.t("history.suspicious_link"),
                &[("host", s("host")), ("official", official)],
            ),
            None => tr.t1("event.phishing_link", s("host")),
        },
        "exchange_action_requested" => fill(
            tr.t("history.exchange_action_requested"),
            &[
                ("action", &word(tr, "history.exchange", s("action"))),
                ("who", &who(tr, names, s("requested_by"))),
            ],
        ),
        "exchange_action" => fill(
            tr.t("history.exchange_action"),
            &[
                ("action", &word(tr, "history.exchange", s("action"))),
                ("who", &who(tr, names, s("requested_by"))),
                ("status", &word(tr, "history.account", s("account_status"))),
            ],
        ),
        "updated" => by(tr, names, actor, changes(tr, names, data)),
        _ => fill(tr.t("history.unknown"), &[("what", &readable(kind))]),
    }
}

/// An `updated` event's changes, one part per field, in the order stored.
fn changes(tr: &Tr, names: &Names, data: &Value) -> String {
    let mut parts = Vec::new();
    for (field, pair) in data
        .get("changes")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let old = pair.get(0).unwrap_or(&Value::Null);
        let new = pair.get(1).unwrap_or(&Value::Null);
        change(tr, names, field, old, new, &mut parts);
    }
    if parts.is_empty() {
        return tr.t("history.updated").to_owned();
    }
    parts.join(separator(tr))
}

fn change(tr: &Tr, names: &Names, field: &str, old: &Value, new: &Value, parts: &mut Vec<String>) {
    match (field, old, new) {
        ("assignee_id", _, Value::Number(_)) => parts.push(fill(
            tr.t("history.assigned"),
            &[("name", &agent(tr, names, new))],
        )),
        ("assignee_id", Value::Number(_), Value::Null) => parts.push(fill(
            tr.t("history.unassigned"),
            &[("name", &agent(tr, names, old))],
        )),
        ("tags", Value::Array(_) | Value::Null, Value::Array(_) | Value::Null) => {
            let (old, new) = (strings(old), strings(new));
            let added: Vec<&str> = new.iter().filter(|t| !old.contains(t)).copied().collect();
            let removed: Vec<&str> = old.iter().filter(|t| !new.contains(t)).copied().collect();
            for (key, tags) in [
                ("history.tags_added", added),
                ("history.tags_removed", removed),
            ] {
                if !tags.is_empty() {
                    parts.push(fill(tr.t(key), &[("tags", &tags.join(", "))]));
                }
            }
        }
        _ => {
            let label = label(tr, field);
            let (o, n) = (value(tr, names, field, old), value(tr, names, field, new));
            match (blank(old), blank(new)) {
                (true, true) => {}
                (true, false) => {
                    parts.push(fill(tr.t("history.set"), &[("field", &label), ("new", &n)]))
                }
                (false, true) => parts.push(fill(
                    tr.t("history.cleared"),
                    &[("field", &label), ("old", &o)],
                )),
                (false, false) => parts.push(fill(
                    tr.t("history.changed"),
                    &[("field", &label), ("old", &o), ("new", &n)],
                )),
            }
        }
    }
}

/// An audit entry's action on `target` with its `detail`, without who did it (the log shows
/// that beside it, see [`who`]). Detail values the action's text does not name follow it in
/// parentheses.
pub(crate) fn audit_line(
    tr: &Tr,
    names: &Names,
    action: &str,
    target: &str,
    detail: &Value,
) -> String {
    let empty = Map::new();
    let detail = detail.as_object().unwrap_or(&empty);
    let key = format!("audit.{action}");
    let (template, target) = if tr.has(&key) {
        (tr.t(&key), target_name(tr, names, target))
    } else {
        // The text does not say what kind of thing the target is: the target says it.
        let full = match target.split_once(':') {
            Some((kind, _))
                if !matches!(kind, "ticket" | "agent" | "group" | "kb" | "agent_email") =>
            {
                format!("{} {}", readable(kind), target_name(tr, names, target))
            }
            _ => target_name(tr, names, target),
        };
        (tr.t("audit.unknown"), full)
    };
    let mut args: Vec<(String, String)> = vec![
        ("target".to_owned(), target),
        ("action".to_owned(), readable(action)),
    ];
    let mut rest = Vec::new();
    for (k, v) in detail {
        let shown = detail_value(tr, names, k, v);
        if template.contains(&format!("{{{k}}}")) {
            args.push((k.clone(), shown));
        } else if !blank(v) {
            rest.push(format!("{}{}{shown}", label(tr, k), colon(tr)));
        }
    }
    let args: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let line = fill(template, &args);
    if rest.is_empty() {
        return line;
    }
    let rest = rest.join(separator(tr));
    match tr.lang {
        Lang::Zh => format!("{line}（{rest}）"),
        Lang::En => format!("{line} ({rest})"),
    }
}

/// One row of the audit log with who did it and what, in words.
pub(crate) struct AuditLine {
    pub row: AuditRow,
    pub who: String,
    pub what: String,
}

/// The audit log's rows in words.
pub(crate) fn audit_lines(tr: &Tr, names: &Names, rows: Vec<AuditRow>) -> Vec<AuditLine> {
    rows.into_iter()
        .map(|row| {
            let detail = serde_json::from_str(&row.detail).unwrap_or(Value::Null);
            AuditLine {
                who: who(tr, names, &row.actor),
                what: audit_line(tr, names, &row.action, &row.target, &detail),
                row,
            }
        })
        .collect()
}

/// Who an actor (`agent:3`, `customer:4`, `api_key:1`, `system`, `anonymous`, `cli`) is.
pub(crate) fn who(tr: &Tr, names: &Names, actor: &str) -> String {
    match actor.split_once(':') {
        Some(("agent", id)) => match id.parse::<i64>() {
            Ok(id) => agent(tr, names, &Value::from(id)),
            Err(_) => actor.to_owned(),
        },
        Some(("customer", id)) => tr.t1("history.customer_n", id),
        Some(("api_key", id)) => tr.t1("history.api_key_n", id),
        None if matches!(actor, "system" | "anonymous" | "cli") => {
            tr.t(&format!("history.actor.{actor}")).to_owned()
        }
        _ if actor.is_empty() => "—".to_owned(),
        _ => actor.to_owned(),
    }
}

/// `line`, saying who did it when a person or a key did.
fn by(tr: &Tr, names: &Names, actor: &str, line: String) -> String {
    if actor.is_empty() || actor == "system" {
        return line;
    }
    let who = if actor.starts_with("customer:") {
        tr.t("history.the_customer").to_owned()
    } else {
        who(tr, names, actor)
    };
    fill(tr.t("history.by"), &[("line", &line), ("who", &who)])
}

/// What an audit entry acted on: a ticket's number, an agent's or group's name, or the kind
/// in words with its id.
fn target_name(tr: &Tr, names: &Names, target: &str) -> String {
    let Some((kind, id)) = target.split_once(':') else {
        return target.to_owned();
    };
    let number = id.parse::<i64>().ok();
    match (kind, number) {
        ("ticket", Some(n)) => ticket(tr, &Value::from(n)),
        ("agent", Some(n)) => agent(tr, names, &Value::from(n)),
        ("group", Some(n)) => group(tr, names, &Value::from(n)),
        ("kb", _) => id.replacen(':', " / ", 1),
        (_, Some(_)) => format!("#{id}"),
        _ => id.to_owned(),
    }
}

/// A value of an audit entry's detail, by what its key says it is.
fn detail_value(tr: &Tr, names: &Names, key: &str, v: &Value) -> String {
    match (key, v) {
        ("role", Value::String(s)) => word(tr, "role", s),
        ("status", Value::String(s)) => word(tr, "agent_status", s),
        ("strategy", Value::String(s)) => word(tr, "strategy", s),
        ("group_id", _) => group(tr, names, v),
        ("group_ids", Value::Array(ids)) => list(ids.iter().map(|g| group(tr, names, g))),
        ("fields", Value::Array(fs)) => list(
            fs.iter()
                .map(|f| f.as_str().map_or_else(|| plain(tr, f), |f| label(tr, f))),
        ),
        ("ticket_id" | "into", _) => ticket(tr, v),
        ("customer_id", Value::Number(n)) => tr.t1("history.customer_n", n),
        ("proposed_by", Value::String(s)) => who(tr, names, s),
        ("kind", Value::String(s)) => word(tr, "identity", s),
        _ => plain(tr, v),
    }
}

/// A ticket field's value: states, priorities, intents and channels by name, agents and groups
/// by name, merged tickets by number.
fn value(tr: &Tr, names: &Names, field: &str, v: &Value) -> String {
    match (field, v) {
        (_, Value::Null) => "—".to_owned(),
        ("state" | "priority" | "intent" | "channel", Value::String(s)) => word(tr, field, s),
        ("assignee_id", Value::Number(_)) => agent(tr, names, v),
        ("group_id", Value::Number(_)) => group(tr, names, v),
        ("merged_into", Value::Number(_)) => ticket(tr, v),
        _ => plain(tr, v),
    }
}

/// A field's name: the history's own word for it, else the ticket page's, else made readable.
fn label(tr: &Tr, field: &str) -> String {
    for key in [format!("history.field.{field}"), format!("field.{field}")] {
        if tr.has(&key) {
            return tr.t(&key).to_owned();
        }
    }
    readable(field)
}

/// `kind.value`'s name in the catalog, or the value made readable.
fn word(tr: &Tr, kind: &str, value: &str) -> String {
    let key = format!("{kind}.{value}");
    if tr.has(&key) {
        tr.t(&key).to_owned()
    } else {
        readable(value)
    }
}

fn agent(tr: &Tr, names: &Names, id: &Value) -> String {
    match id.as_i64() {
        Some(id) => names
            .agents
            .get(&id)
            .cloned()
            .unwrap_or_else(|| tr.t1("history.agent_n", id)),
        None => plain(tr, id),
    }
}

fn group(tr: &Tr, names: &Names, id: &Value) -> String {
    match id.as_i64() {
        Some(id) => names
            .groups
            .get(&id)
            .cloned()
            .unwrap_or_else(|| tr.t1("history.group_n", id)),
        None => plain(tr, id),
    }
}

/// A ticket's number (`XD-10012`) from its id; an id no ticket can have is shown as it is.
fn ticket(tr: &Tr, id: &Value) -> String {
    match id.as_i64() {
        Some(n) if n > 0 && n < i64::MAX - TicketNumber::FIRST => {
            TicketNumber::for_ticket(n).to_string()
        }
        _ => plain(tr, id),
    }
}

/// Any JSON value as text a person reads: no quotes, no brackets.
fn plain(tr: &Tr, v: &Value) -> String {
    match v {
        Value::Null => "—".to_owned(),
        Value::String(s) if s.trim().is_empty() => "—".to_owned(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => tr
            .t(if *b { "history.yes" } else { "history.no" })
            .to_owned(),
        Value::Number(n) => n.to_string(),
        Value::Array(a) if a.is_empty() => "—".to_owned(),
        Value::Array(a) => list(a.iter().map(|x| plain(tr, x))),
        Value::Object(o) => list(
            o.iter()
                .map(|(k, x)| format!("{}: {}", readable(k), plain(tr, x))),
        ),
    }
}

fn list(items: impl Iterator<Item = String>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

fn strings(v: &Value) -> Vec<&str> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// A code made readable: `deposit_missing` → `Deposit missing`, `ticket.view` → `Ticket view`.
fn readable(code: &str) -> String {
    let words = code.replace(['_', '.'], " ");
    let mut chars = words.trim().chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => "—".to_owned(),
    }
}

/// Between a name and its value.
fn colon(tr: &Tr) -> &'static str {
    match tr.lang {
        Lang::Zh => "：",
        Lang::En => ": ",
    }
}

/// Between the parts of one line.
fn separator(tr: &Tr) -> &'static str {
    match tr.lang {
        Lang::Zh => "；",
        Lang::En => "; ",
    }
}

/// `template` with each `{name}` replaced by its argument, in one pass: a value that holds
/// braces (a subject, a customer's text) is never read as a placeholder.
fn fill(template: &str, args: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        let arg = after.find('}').and_then(|end| {
            let name = &after[..end];
            args.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v, end))
        });
        match arg {
            Some((v, end)) => {
                out.push_str(v);
                rest = &after[end + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::i18n::MISSING;
    use serde_json::json;
    use std::collections::BTreeMap;
    use xdesk_domain::event::EventKind;

    const EN: Tr = Tr { lang: Lang::En };
    const ZH: Tr = Tr { lang: Lang::Zh };

    fn names() -> Names {
        Names {
            agents: [(2, "Li Wei".to_owned()), (3, "Wang Fang".to_owned())].into(),
            groups: [(5, "Deposits".to_owned())].into(),
        }
    }

    /// Which variant: the match has no wildcard, so a new kind fails to compile here until it
    /// has a sample below.
    fn variant(k: &EventKind) -> usize {
        match k {
            EventKind::Created { .. } => 0,
            EventKind::MessageAdded { .. } => 1,
            EventKind::AttachmentAdded { .. } => 2,
            EventKind::SecretRedacted { .. } => 3,
            EventKind::Triaged { .. } => 4,
            EventKind::SlaWarning { .. } => 5,
            EventKind::SlaBreached { .. } => 6,
            EventKind::Escalated { .. } => 7,
            EventKind::QualityFlag { .. } => 8,
            EventKind::AutoAssigned { .. } => 9,
            EventKind::ReturnedToQueue { .. } => 10,
            EventKind::Merged { .. } => 11,
            EventKind::MergedFrom { .. } => 12,
            EventKind::SplitOut { .. } => 13,
            EventKind::SplitFrom { .. } => 14,
            EventKind::SuspiciousLink { .. } => 15,
            EventKind::ExchangeActionRequested { .. } => 16,
            EventKind::ExchangeAction { .. } => 17,
            EventKind::Updated { .. } => 18,
            EventKind::IncidentLinked { .. } => 19,
            EventKind::IncidentUnlinked { .. } => 20,
        }
    }
    const VARIANTS: usize = 21;

    fn changes(pairs: &[(&str, Value, Value)]) -> EventKind {
        EventKind::Updated {
            changes: pairs
                .iter()
                .map(|(f, o, n)| ((*f).to_owned(), [o.clone(), n.clone()]))
                .collect::<BTreeMap<_, _>>(),
        }
    }

    /// One event of every kind, who caused it, and what its line says in English and Chinese.
    fn samples() -> Vec<(
        EventKind,
        &'static str,
        Vec<&'static str>,
        Vec<&'static str>,
    )> {
        vec![
            (
                EventKind::Created {
                    subject: "USDT missing".into(),
                    state: "new".into(),
                    priority: "normal".into(),
                    channel: "email".into(),
                    customer_id: 1,
                },
                "customer:1",
                vec!["Ticket opened via Email"],
                vec!["工单已创建（来自邮件）"],
            ),
            (
                EventKind::MessageAdded {
                    message_id: 1,
                    internal: true,
                    body_sha256: "ab".into(),
                },
                "agent:2",
                vec!["Internal note added"],
                vec!["新增内部备注"],
            ),
            (
                EventKind::AttachmentAdded {
                    message_id: 1,
                    sha256: "ab".into(),
                    filename: "tx.png".into(),
                    size: 10,
                },
                "customer:1",
                vec!["File attached: tx.png"],
                vec!["已添加附件：tx.png"],
            ),
            (
                EventKind::SecretRedacted {
                    message_id: 1,
                    kinds: vec!["seed_phrase".into()],
                },
                "customer:1",
                vec!["A secret was removed"],
                vec!["已移除敏感信息"],
            ),
            (
                EventKind::Triaged {
                    language: "en".into(),
                    intent: "deposit_missing".into(),
                    confidence_pct: 91,
                    urgent_reason: Some("funds_missing_above_limit".into()),
                },
                "system",
                vec![
                    "Triaged: Deposit not credited",
                    "marked urgent: a large amount is missing",
                ],
                vec!["自动分诊：充值未到账", "标为紧急：大额资金未到账"],
            ),
            (
                EventKind::SlaWarning {
                    clock: "first_response".into(),
                    due_at: "2026-12-07T10:00:00Z".into(),
                },
                "system",
                vec!["SLA warning: First response due soon"],
                vec!["SLA 提醒：首次回复即将到期"],
            ),
            (
                EventKind::SlaBreached {
                    clock: "resolution".into(),
                    due_at: "2026-12-07T10:00:00Z".into(),
                },
                "system",
                vec!["SLA breached: Resolution"],
                vec!["SLA 超时：解决"],
            ),
            (
                EventKind::Escalated {
                    clock: "next_response".into(),
                },
                "customer:1",
                vec!["Escalated by the customer (Next response passed)"],
                vec!["客户已升级（后续回复已超时）"],
            ),
            (
                EventKind::QualityFlag {
                    kind: "reopened".into(),
                },
                "system",
                vec!["reopened three times or more"],
                vec!["重新打开三次或以上"],
            ),
            (
                EventKind::AutoAssigned {
                    agent_id: 2,
                    strategy: "round_robin".into(),
                },
                "system",
                vec!["Assigned to Li Wei automatically"],
                vec!["已自动分配给 Li Wei"],
            ),
            (
                EventKind::ReturnedToQueue {
                    agent_id: 3,
                    after_minutes: 15,
                },
                "system",
                vec!["Back to the queue: Wang Fang went offline"],
                vec!["已回到队列：Wang Fang 已离线"],
            ),
            (
                EventKind::Merged { into: 7 },
                "agent:3",
                vec!["Merged into ticket XD-10007 (by Wang Fang)"],
                vec!["已合并到工单 XD-10007（Wang Fang 操作）"],
            ),
            (
                EventKind::MergedFrom {
                    from: 6,
                    messages: 2,
                    from_head: "ab".into(),
                },
                "agent:3",
                vec!["Ticket XD-10006 merged into this one"],
                vec!["工单 XD-10006 已合并到本工单"],
            ),
            (
                EventKind::SplitOut {
                    message_id: 4,
                    ticket_id: 8,
                },
                "agent:2",
                vec!["A message was split out into ticket XD-10008 (by Li Wei)"],
                vec!["一条消息已拆分为工单 XD-10008（Li Wei 操作）"],
            ),
            (
                EventKind::SplitFrom {
                    from: 4,
                    message_id: 4,
                },
                "agent:2",
                vec!["Split out of ticket XD-10004"],
                vec!["拆分自工单 XD-10004"],
            ),
            (
                EventKind::IncidentLinked {
                    incident_id: 3,
                    by: "rule".into(),
                },
                "system",
                vec!["Linked to incident #3"],
                vec!["已关联到故障 #3"],
            ),
            (
                EventKind::IncidentUnlinked { incident_id: 3 },
                "agent:2",
                vec!["Unlinked from incident #3 (by Li Wei)"],
                vec!["已取消关联故障 #3（Li Wei 操作）"],
            ),
            (
                EventKind::SuspiciousLink {
                    message_id: 1,
                    host: "binance-support.help".into(),
                    verdict: "lookalike".into(),
                    imitates: Some("binance.com".into()),
                    reasons: vec!["brand_in_name".into()],
                },
                "system",
                vec!["binance-support.help imitates binance.com; the customer was warned"],
                vec!["binance-support.help 冒充 binance.com；已提醒客户"],
            ),
            (
                EventKind::ExchangeActionRequested {
                    action: "reset_2fa".into(),
                    requested_by: "agent:2".into(),
                    reason: "lost phone".into(),
                },
                "agent:2",
                vec!["Exchange: 2FA reset requested by Li Wei"],
                vec!["交易所：Li Wei 申请重置 2FA"],
            ),
            (
                EventKind::ExchangeAction {
                    action: "freeze".into(),
                    requested_by: "agent:3".into(),
                    approved_by: None,
                    result: "done".into(),
                    account_status: "frozen".into(),
                },
                "agent:3",
                vec!["Exchange: account freeze asked by Wang Fang; account frozen"],
                vec!["交易所：Wang Fang 请求冻结账户；账户状态：已冻结"],
            ),
            (
                changes(&[
                    ("assignee_id", Value::Null, json!(2)),
                    ("state", json!("new"), json!("pending_customer")),
                    ("priority", json!("normal"), json!("urgent")),
                    ("group_id", Value::Null, json!(5)),
                    ("intent", Value::Null, json!("kyc")),
                    ("tags", json!(["kyc"]), json!(["kyc", "urgent", "vip"])),
                ]),
                "agent:3",
                vec![
                    "Assigned to Li Wei",
                    "State: New → Waiting on customer",
                    "Priority: Normal → Urgent",
                    "Group: Deposits",
                    "Intent: Identity verification (KYC)",
                    "Tags added: urgent, vip",
                    "(by Wang Fang)",
                ],
                vec![
                    "已分配给 Li Wei",
                    "状态：由“新建”改为“等待客户回复”",
                    "优先级：由“普通”改为“紧急”",
                    "小组：设为“Deposits”",
                    "诉求类型：设为“身份认证（KYC）”",
                    "已添加标签：urgent, vip",
                    "（Wang Fang 操作）",
                ],
            ),
        ]
    }

    fn line(tr: &Tr, k: &EventKind, actor: &str) -> String {
        event_line(tr, &names(), k.name(), actor, &k.data())
    }

    #[test]
    fn every_event_kind_reads_in_both_languages() {
        let samples = samples();
        let mut seen: Vec<usize> = samples.iter().map(|(k, ..)| variant(k)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(
            seen,
            (0..VARIANTS).collect::<Vec<_>>(),
            "a kind has no sample"
        );
        for (k, actor, en, zh) in &samples {
            for (tr, expected) in [(EN, en), (ZH, zh)] {
                let l = line(&tr, k, actor);
                for e in expected {
                    assert!(
                        l.contains(e),
                        "{:?} {}: {l:?} lacks {e:?}",
                        tr.lang,
                        k.name()
                    );
                }
                assert!(!l.contains(MISSING), "{l}");
                for raw in ["{", "}", "\"", "[", "_id", "null"] {
                    assert!(
                        !l.contains(raw),
                        "{:?} {}: {l:?} holds {raw:?}",
                        tr.lang,
                        k.name()
                    );
                }
            }
        }
    }

    #[test]
    fn the_timeline_leaves_messages_to_their_bubbles() {
        for (k, actor, ..) in samples() {
            let shown = timeline(&EN, &names(), k.name(), actor, &k.data());
            let message = matches!(
                k,
                EventKind::MessageAdded { .. } | EventKind::AttachmentAdded { .. }
            );
            assert_eq!(shown.is_none(), message, "{}", k.name());
        }
    }

    #[test]
    fn removals_clearing_and_unknown_fields_read_too() {
        let k = changes(&[
            ("assignee_id", json!(2), Value::Null),
            ("tags", json!(["kyc", "vip"]), json!(["kyc"])),
            ("memo", json!("12345"), Value::Null),
            ("subject", json!("Old {new}"), json!("New {old}")),
            ("merged_into", Value::Null, json!(9)),
            ("risk_score", json!(3), json!(7)),
            ("state", json!("open"), json!("solved")),
        ]);
        let en = line(&EN, &k, "customer:1");
        for e in [
            "Unassigned (was Li Wei)",
            "Tags removed: vip",
            "Memo / tag cleared (was 12345)",
            "Subject: Old {new} → New {old}",
            "Merged into: XD-10009",
            "Risk score: 3 → 7",
            "State: Open → Solved",
            "(by the customer)",
        ] {
            assert!(en.contains(e), "{en:?} lacks {e:?}");
        }
        let zh = line(&ZH, &k, "system");
        for e in [
            "已取消分配（原为 Li Wei）",
            "已移除标签：vip",
            "状态：由“处理中”改为“已解决”",
        ] {
            assert!(zh.contains(e), "{zh:?} lacks {e:?}");
        }
        assert!(
            !zh.contains("操作"),
            "xdesk's own change names no one: {zh}"
        );
        // An agent no longer listed is still named by number.
        let gone = changes(&[("assignee_id", Value::Null, json!(44))]);
        assert_eq!(line(&EN, &gone, "system"), "Assigned to Agent #44");
        assert_eq!(line(&ZH, &gone, "system"), "已分配给 客服 #44");
    }

    #[test]
    fn unknown_kinds_and_odd_payloads_still_read() {
        assert_eq!(
            event_line(&EN, &names(), "chain_anchored", "system", &json!({"x": 1})),
            "Event: Chain anchored"
        );
        assert_eq!(
            event_line(&ZH, &names(), "chain_anchored", "system", &Value::Null),
            "事件：Chain anchored"
        );
        let mut kinds: Vec<&str> = samples().iter().map(|(k, ..)| k.name()).collect();
        kinds.extend(["", "_", "updated", "no_such_kind"]);
        let payloads = [
            Value::Null,
            json!(1),
            json!("text"),
            json!([1, 2]),
            json!({}),
            json!({"changes": 5}),
            json!({"changes": {"state": "open"}}),
            json!({"changes": {"assignee_id": [1], "tags": ["a", 3], "group_id": [{}, true]}}),
            json!({"changes": {"tags": [5, [null, "x"]], "": [1, 2]}}),
            json!({"agent_id": "x", "into": i64::MAX, "from": -5, "ticket_id": 0.5}),
            json!({"clock": 7, "kind": ["x"], "host": null, "imitates": 3, "action": {}}),
            json!({"requested_by": "agent:", "account_status": "", "channel": "pigeon"}),
        ];
        for tr in [EN, ZH] {
            for kind in &kinds {
                for data in &payloads {
                    for actor in ["", "agent:x", "agent:999999999999", "api_key:1", "x:y:z"] {
                        let l = event_line(&tr, &names(), kind, actor, data);
                        assert!(!l.trim().is_empty(), "{kind} {data}");
                        assert!(!l.contains(MISSING), "{kind} {data}: {l}");
                    }
                }
            }
        }
    }

    /// Every action the services write to the audit log (`grep -rn audit crates/xdesk-service`).
    const AUDIT_ACTIONS: &[&str] = &[
        "login",
        "login.failed",
        "login.failed_totp",
        "step_up.limited",
        "step_up.failed",
        "ticket.create",
        "ticket.view",
        "ticket.update",
        "ticket.reply",
        "ticket.note",
        "ticket.merge",
        "ticket.split",
        "attachment.download",
        "customer.view",
        "customer.wallet_sign_in",
        "customer.identity_link_proposed",
        "customer.identity_linked",
        "customer.identity_link_rejected",
        "customer.identity_unlinked",
        "agent.create",
        "agent.accept_invite",
        "agent.update",
        "agent.reset_2fa",
        "agent.activate",
        "agent.deactivate",
        "agent.status",
        "agent.routing",
        "agent.totp_enrolment_started",
        "agent.totp_enabled",
        "agent.totp_replaced",
        "agent.totp_replace_refused",
        "group.create",
        "group.assignment",
        "routing_rule.create",
        "routing_rule.delete",
        "mailbox.create",
        "mailbox.update",
        "mailbox.delete",
        "api_key.create",
        "api_key.revoke",
        "integration.create",
        "integration.revoke",
        "email_template.update",
        "email_template.reset",
        "kb.save",
        "kb.import",
        "macro.create",
        "macro.update",
        "macro.delete",
        "sla_calendar.create",
        "sla_calendar.update",
        "sla_calendar.delete",
        "sla_policy.create",
        "sla_policy.delete",
        "official_channel.create",
        "official_channel.delete",
        "phishing_domain.create",
        "phishing_domain.delete",
        "exchange.view",
        "exchange.unmask",
        "exchange.unmask_alarm",
        "exchange.reset_2fa_requested",
        "exchange.freeze",
        "exchange.reset_2fa",
        "exchange.resend_kyc",
    ];

    /// The placeholders audit texts may name: the target, and detail keys the services write.
    const AUDIT_PLACEHOLDERS: &[&str] = &[
        "target",
        "action",
        "fields",
        "into",
        "message_id",
        "ticket_id",
        "status",
        "ticket",
        "field",
        "unmasks_last_hour",
    ];

    #[test]
    fn every_audit_action_has_a_text_in_both_languages() {
        for tr in [EN, ZH] {
            for action in AUDIT_ACTIONS {
                let key = format!("audit.{action}");
                assert!(tr.has(&key), "{key} missing in {:?}", tr.lang);
                for part in tr.t(&key).split('{').skip(1) {
                    let name = part.split('}').next().unwrap();
                    assert!(
                        AUDIT_PLACEHOLDERS.contains(&name),
                        "{key} names {{{name}}}, which no detail holds"
                    );
                }
                let l = audit_line(&tr, &names(), action, "agent:2", &json!({}));
                assert!(!l.contains(MISSING) && !l.contains("{target}"), "{l}");
            }
        }
    }

    #[test]
    fn audit_lines_name_tickets_agents_groups_and_fields() {
        let n = names();
        let update = json!({"fields": ["assignee_id", "state"]});
        assert_eq!(
            audit_line(&EN, &n, "ticket.update", "ticket:12", &update),
            "Changed Assignee, State on ticket XD-10012"
        );
        assert_eq!(
            audit_line(&ZH, &n, "ticket.update", "ticket:12", &update),
            "修改了工单 XD-10012 的处理人, 状态"
        );
        let agent = json!({"role": "supervisor", "group_ids": [5, 6]});
        assert_eq!(
            audit_line(&EN, &n, "agent.update", "agent:2", &agent),
            "Changed agent Li Wei (Groups: Deposits, Group #6; Role: Supervisor)"
        );
        assert_eq!(
            audit_line(&ZH, &n, "agent.update", "agent:2", &agent),
            "修改了客服 Li Wei（小组：Deposits, 小组 #6；角色：主管）"
        );
        assert_eq!(
            audit_line(
                &EN,
                &n,
                "agent.status",
                "agent:3",
                &json!({"status": "away"})
            ),
            "Set Wang Fang's status to Away"
        );
        assert_eq!(
            audit_line(&EN, &n, "ticket.merge", "ticket:3", &json!({"into": 4})),
            "Merged ticket XD-10003 into XD-10004"
        );
        assert_eq!(
            audit_line(&EN, &n, "login.failed", "agent_email:x@y.test", &json!({})),
            "Failed sign-in as x@y.test"
        );
        assert_eq!(
            audit_line(&EN, &n, "mailbox.delete", "mailbox:3", &json!({})),
            "Deleted mailbox #3"
        );
        assert_eq!(
            audit_line(&EN, &n, "customer.view", "customer:4", &json!({})),
            "Viewed customer #4"
        );
        assert_eq!(
            audit_line(&EN, &n, "customer.purge", "customer:4", &json!({})),
            "Customer purge on Customer #4"
        );
        // An action added later still reads, with its detail in words.
        assert_eq!(
            audit_line(
                &EN,
                &n,
                "ticket.bulk_assign",
                "ticket:3",
                &json!({"count": 4})
            ),
            "Ticket bulk assign on XD-10003 (Count: 4)"
        );
        for odd in [
            json!(null),
            json!([1]),
            json!("x"),
            json!({"group_ids": "x", "into": -1}),
        ] {
            for tr in [EN, ZH] {
                let l = audit_line(&tr, &n, "agent.update", "agent:", &odd);
                assert!(!l.is_empty() && !l.contains(MISSING), "{l}");
            }
        }
    }

    #[test]
    fn actors_are_named() {
        let n = names();
        assert_eq!(who(&EN, &n, "agent:2"), "Li Wei");
        assert_eq!(who(&EN, &n, "agent:9"), "Agent #9");
        assert_eq!(who(&ZH, &n, "customer:4"), "客户 #4");
        assert_eq!(who(&EN, &n, "api_key:1"), "API key #1");
        assert_eq!(who(&EN, &n, "system"), "xdesk (automatic)");
        assert_eq!(who(&ZH, &n, "anonymous"), "未登录的访问者");
        assert_eq!(who(&EN, &n, "cli"), "Command line");
        assert_eq!(who(&EN, &n, "agent:x"), "agent:x");
        assert_eq!(who(&EN, &n, ""), "—");
    }

    #[test]
    fn placeholders_are_filled_once_and_values_are_not_read_as_placeholders() {
        assert_eq!(fill("{a} {b}", &[("a", "{b}"), ("b", "x")]), "{b} x");
        assert_eq!(fill("{c} {a", &[("a", "1")]), "{c} {a");
        assert_eq!(fill("中{a}文", &[("a", "—")]), "中—文");
        assert_eq!(readable("deposit_missing"), "Deposit missing");
        assert_eq!(readable("_"), "—");
    }
}
