//! The inbox list's service side: what each row shows beside its ticket (unread mark, names,
//! the SLA due next), the reads that clear the mark, and changes to many tickets at once.

use crate::tickets::UpdateTicket;
use crate::{Principal, ServiceError, Services};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::str::FromStr;
use xdesk_domain::FieldError;
use xdesk_domain::sla::{DueLevel, due_level};
use xdesk_domain::ticket::{Priority, TicketState, parse_tags};
use xdesk_store::TicketRow;

/// At most this many tickets change in one bulk request.
pub const BULK_MAX: usize = 200;

/// One ticket as the inbox lists it.
#[derive(Debug, Clone)]
pub struct InboxRow {
    pub ticket: TicketRow,
    pub customer_name: String,
    pub assignee_name: Option<String>,
    /// The customer wrote since the assignee (for an unassigned ticket: the viewer) last
    /// opened the ticket, or they never did.
    pub unread: bool,
    /// The first running SLA clock's due time, and how near it is.
    pub sla_due: Option<(DateTime<Utc>, DueLevel)>,
}

/// What to change on every selected ticket; fields left out stay as they are. A merge goes
/// alone.
#[derive(Debug, Clone, Default)]
pub struct BulkChange {
    pub state: Option<String>,
    pub priority: Option<String>,
    pub group_id: Option<Option<i64>>,
    pub assignee_id: Option<Option<i64>>,
    pub add_tags: Vec<String>,
    pub remove_tags: Vec<String>,
    /// Merge every selected ticket into this one (which, if selected, is left as it is).
    pub merge_into: Option<i64>,
}

impl BulkChange {
    fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.priority.is_none()
            && self.group_id.is_none()
            && self.assignee_id.is_none()
            && self.add_tags.is_empty()
            && self.remove_tags.is_empty()
            && self.merge_into.is_none()
    }
}

/// A ticket a bulk change left alone, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    pub id: i64,
    /// `not_found` (or not visible), `forbidden`, `conflict`, `invalid`, `stale`, `failed`.
    pub code: &'static str,
    pub reason: String,
}

/// What a bulk change did, ticket by ticket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BulkOutcome {
    pub changed: Vec<i64>,
    /// Visible and allowed, but already as asked.
    pub unchanged: Vec<i64>,
    pub refused: Vec<Refusal>,
}

fn refusal(id: i64, e: &ServiceError) -> Refusal {
    let code = match e {
        ServiceError::NotFound(_) => "not_found",
        ServiceError::Forbidden(_) => "forbidden",
        ServiceError::Conflict(_) | ServiceError::IllegalTransition(_) => "conflict",
        ServiceError::Field(_) => "invalid",
        ServiceError::StaleVersion => "stale",
        _ => "failed",
    };
    let reason = if code == "failed" {
        tracing::error!(ticket = id, error = %e, "bulk change failed");
        "the change could not be saved".to_owned()
    } else {
        e.to_string()
    };
    Refusal { id, code, reason }
}

impl Services {
    /// Notes that the signed-in agent has just opened a ticket they may see: it no longer
    /// shows as unread to them. One read of the ticket and one upsert.
    pub async fn mark_seen(&self, p: &Principal, ticket_id: i64) -> Result<(), ServiceError> {
        let Principal::Agent { id, .. } = p else {
            return Err(ServiceError::Forbidden("agents only".into()));
        };
        self.visible_ticket(p, ticket_id).await?;
        Ok(self.store.mark_seen(*id, ticket_id).await?)
    }

    /// Active agents, (id, name), for an agent choosing whom to give tickets to: one query.
    pub async fn agent_choices(&self, p: &Principal) -> Result<Vec<(i64, String)>, ServiceError> {
        if !matches!(p, Principal::Agent { .. }) {
            return Err(ServiceError::Forbidden("agents only".into()));
        }
        Ok(self
            .store
            .list_agents()
            .await?
            .into_iter()
            .filter(|a| a.active)
            .map(|a| (a.id, a.display_name))
            .collect())
    }

    /// The inbox's rows for tickets an agent was given by a list or a search: a fixed number
    /// of queries for the whole page.
    pub async fn inbox_rows(
        &self,
        p: &Principal,
        tickets: Vec<TicketRow>,
    ) -> Result<Vec<InboxRow>, ServiceError> {
        let Principal::Agent { id: me, .. } = p else {
            return Err(ServiceError::Forbidden("agents only".into()));
        };
        let mut x = self.store.inbox_extras(&tickets).await?;
        let now = self.now();
        Ok(tickets
            .into_iter()
            .map(|t| {
                let looker = t.assignee_id.unwrap_or(*me);
                let seen = x.seen.get(&(t.id, looker));
                let unread = t
                    .last_customer_message_at
                    .is_some_and(|wrote| seen.is_none_or(|s| wrote > *s));
                let sla_due = x.next_clock.remove(&t.id).and_then(|c| {
                    let due = c.due_at?;
                    let level = due_level(due, Duration::seconds(c.target_secs), c.breached, now);
                    Some((due, level))
                });
                InboxRow {
                    customer_name: x
                        .customer_names
                        .get(&t.customer_id)
                        .cloned()
                        .unwrap_or_default(),
                    assignee_name: t.assignee_id.and_then(|a| x.agent_names.get(&a).cloned()),
                    unread,
                    sla_due,
                    ticket: t,
                }
            })
            .collect())
    }

    /// Applies one change to many tickets, each as if changed on its own: its own event and
    /// audit row, every rule of a single change (visibility, state transitions, assignment),
    /// and a ticket that cannot be changed is reported with the reason, not skipped.
    pub async fn bulk_update(
        &self,
        p: &Principal,
        ids: &[i64],
        change: BulkChange,
        ip: Option<&str>,
    ) -> Result<BulkOutcome, ServiceError> {
        p.require_scope("tickets:write")?;
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Err(FieldError::new("ids", "required", "select at least one ticket").into());
        }
        if ids.len() > BULK_MAX {
            return Err(FieldError::new(
                "ids",
                "too_many",
                format!("at most {BULK_MAX} tickets at once"),
            )
            .into());
        }
        if change.is_empty() {
            return Err(FieldError::new("change", "required", "nothing to change").into());
        }
        // Bad values are the request's fault, said once, not once per ticket.
        if let Some(s) = &change.state {
            TicketState::from_str(s)?;
        }
        if let Some(s) = &change.priority {
            Priority::from_str(s)?;
        }
        let canonical = |raw: &[String]| -> Result<Vec<String>, ServiceError> {
            Ok(parse_tags(raw)?
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect())
        };
        let change = BulkChange {
            add_tags: canonical(&change.add_tags)?,
            remove_tags: canonical(&change.remove_tags)?,
            ..change
        };
        let mut out = BulkOutcome::default();
        if let Some(into) = change.merge_into {
            let alone = BulkChange {
                merge_into: None,
                ..change
            };
            if !alone.is_empty() {
                return Err(FieldError::new(
                    "merge_into",
                    "merge_alone",
                    "a merge cannot be combined with other changes",
                )
                .into());
            }
            for id in ids.into_iter().filter(|i| *i != into) {
                match self.merge_tickets(p, id, into, ip).await {
                    Ok(_) => out.changed.push(id),
                    Err(e) => out.refused.push(refusal(id, &e)),
                }
            }
            return Ok(out);
        }
        for id in ids {
            // One retry when someone else changed the ticket between the read and the write.
            let mut tries = 0;
            loop {
                tries += 1;
                match self.bulk_one(p, id, &change, ip).await {
                    Ok(true) => out.changed.push(id),
                    Ok(false) => out.unchanged.push(id),
                    Err(ServiceError::StaleVersion) if tries < 2 => continue,
                    Err(e) => out.refused.push(refusal(id, &e)),
                }
                break;
            }
        }
        Ok(out)
    }

    /// One ticket of a bulk change, through the single-ticket update. True if it changed.
    async fn bulk_one(
        &self,
        p: &Principal,
        id: i64,
        change: &BulkChange,
        ip: Option<&str>,
    ) -> Result<bool, ServiceError> {
        let t = self.visible_ticket(p, id).await?;
        let tags = if change.add_tags.is_empty() && change.remove_tags.is_empty() {
            None
        } else {
            let mut tags: Vec<String> = serde_json::from_str(&t.tags).unwrap_or_default();
            tags.retain(|t| !change.remove_tags.contains(t));
            for add in &change.add_tags {
                if !tags.contains(add) {
                    tags.push(add.clone());
                }
            }
            Some(tags)
        };
        let row = self
            .update_ticket(
                p,
                id,
                UpdateTicket {
                    version: t.version,
                    state: change.state.clone(),
                    priority: change.priority.clone(),
                    group_id: change.group_id,
                    assignee_id: change.assignee_id,
                    tags,
                    ..Default::default()
                },
                ip,
            )
            .await?;
        Ok(row.version != t.version)
    }
}
