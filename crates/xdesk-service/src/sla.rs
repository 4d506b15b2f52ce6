//! SLA: the policy a ticket gets, its clocks (first response, next response, resolution) kept
//! in step with what happens on it, and the timers that warn the assignee and escalate a
//! breach. The clock rules are `xdesk_domain::sla`; timers are rows of the `jobs` table, so a
//! restart loses none and two nodes never fire one twice.

use crate::{ServiceError, Services};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;
use xdesk_domain::FieldError;
use xdesk_domain::event::EventKind;
use xdesk_domain::sla::{Calendar, Clock, ClockState, Hours, Policy, choose_policy, raised};
use xdesk_domain::ticket::{Priority, TicketState};
use xdesk_domain::triage::Intent;
use xdesk_store::{
    ChangeSet, ClockWrite, MessageRow, NewSlaCalendar, NewSlaPolicy, SLA_JOB, SlaCalendarRow,
    SlaClockRow, SlaPolicyRow, SlaStart, SlaStep, TicketPatch, TicketRow,
};

/// Share of a target after which the assignee is warned.
pub const WARN_SHARE: f64 = 0.75;

pub const FIRST_RESPONSE: &str = "first_response";
pub const NEXT_RESPONSE: &str = "next_response";
pub const RESOLUTION: &str = "resolution";

/// The tag of a ticket its customer escalated.
pub const ESCALATED_TAG: &str = "escalated";

/// A calendar as an admin gives it.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CalendarInput {
    pub name: String,
    /// IANA zone (`Asia/Shanghai`); none for around the clock.
    pub time_zone: Option<String>,
    /// Monday first: `["09:00", "18:00"]` or none for a day off. Ignored for 24/7.
    #[serde(default)]
    pub week: Vec<Option<[String; 2]>>,
    /// `YYYY-MM-DD` dates.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// An iCalendar file whose events are holidays too.
    pub holidays_ical: Option<String>,
}

/// A policy as an admin gives it; conditions left out match anything.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PolicyInput {
    pub name: String,
    pub priority: Option<String>,
    pub intent: Option<String>,
    pub tier: Option<String>,
    pub first_response_minutes: i64,
    pub next_response_minutes: i64,
    pub resolution_minutes: i64,
    pub calendar_id: Option<i64>,
}

/// Where one of a ticket's clocks stands, to show.
#[derive(Debug, Clone, Serialize)]
pub struct ClockView {
    pub kind: String,
    pub state: &'static str,
    pub due_at: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
}

/// What one pass over the due timers did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerRun {
    /// Tickets whose timers this node took.
    pub claimed: usize,
    /// Warnings and breaches recorded.
    pub fired: usize,
}

fn bad(field: &str, code: &'static str, reason: impl Into<String>) -> ServiceError {
    FieldError::new(field, code, reason).into()
}

fn parse_time(field: &str, s: &str) -> Result<NaiveTime, ServiceError> {
    NaiveTime::parse_from_str(s.trim(), "%H:%M")
        .map_err(|_| bad(field, "invalid_time", format!("{s:?} is not HH:MM")))
}

/// A calendar as it may be stored: a name, real dates, an iCalendar file that parses, and
/// working hours a business calendar accepts.
fn checked_calendar(c: CalendarInput) -> Result<NewSlaCalendar, ServiceError> {
    let name = c.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(bad("name", "invalid_name", "1-100 characters"));
    }
    let mut holidays = Vec::new();
    for h in &c.holidays {
        holidays.push(
            NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d").map_err(|_| {
                bad(
                    "holidays",
                    "invalid_date",
                    format!("{h:?} is not YYYY-MM-DD"),
                )
            })?,
        );
    }
    if let Some(ics) = &c.holidays_ical {
        holidays.extend(
            xdesk_domain::sla::ical_holidays(ics)
                .map_err(|e| bad("holidays_ical", "invalid_ical", e.to_string()))?,
        );
    }
    holidays.sort();
    holidays.dedup();
    let mut week: Vec<Option<[String; 2]>> = Vec::new();
    if let Some(tz) = &c.time_zone {
        if c.week.len() != 7 {
            return Err(bad("week", "invalid_week", "seven days, Monday first"));
        }
        let mut hours: [Hours; 7] = [None; 7];
        for (i, d) in c.week.iter().enumerate() {
            if let Some([o, cl]) = d {
                hours[i] = Some((parse_time("week", o)?, parse_time("week", cl)?));
            }
        }
        Calendar::business(tz, hours, holidays.clone())
            .map_err(|e| bad("week", "invalid_calendar", e.to_string()))?;
        week = hours
            .iter()
            .map(|h| h.map(|(o, c)| [o.format("%H:%M").to_string(), c.format("%H:%M").to_string()]))
            .collect();
    }
    Ok(NewSlaCalendar {
        name,
        time_zone: c.time_zone,
        week: serde_json::to_string(&week).unwrap_or_else(|_| "[]".into()),
        holidays: serde_json::to_string(&holidays).unwrap_or_else(|_| "[]".into()),
    })
}

/// The stored form of a calendar back into the domain's.
fn calendar_of(row: Option<&SlaCalendarRow>) -> Calendar {
    let Some(row) = row else {
        return Calendar::Always;
    };
    let Some(tz) = &row.time_zone else {
        return Calendar::Always;
    };
    let week: Vec<Option<[String; 2]>> = serde_json::from_str(&row.week).unwrap_or_default();
    let mut hours: [Hours; 7] = [None; 7];
    for (i, d) in week.iter().take(7).enumerate() {
        hours[i] = d.as_ref().and_then(|[o, c]| {
            Some((
                NaiveTime::parse_from_str(o, "%H:%M").ok()?,
                NaiveTime::parse_from_str(c, "%H:%M").ok()?,
            ))
        });
    }
    let holidays: Vec<NaiveDate> = serde_json::from_str(&row.holidays).unwrap_or_default();
    Calendar::business(tz, hours, holidays).unwrap_or(Calendar::Always)
}

fn policy_of(row: &SlaPolicyRow) -> Policy {
    Policy {
        name: row.name.clone(),
        priority: row
            .priority
            .as_deref()
            .and_then(|p| Priority::from_str(p).ok()),
        intent: row.intent.as_deref().and_then(Intent::parse),
        tier: row.tier.clone(),
        first_response: Duration::minutes(row.first_response_minutes),
        next_response: Duration::minutes(row.next_response_minutes),
        resolution: Duration::minutes(row.resolution_minutes),
    }
}

/// The most specific of `policies` for a ticket with these facts.
fn chosen<'a>(
    policies: &'a [SlaPolicyRow],
    priority: Priority,
    intent: Option<Intent>,
    tier: Option<&str>,
) -> Option<&'a SlaPolicyRow> {
    let domain: Vec<Policy> = policies.iter().map(policy_of).collect();
    let pick = choose_policy(&domain, priority, intent, tier)?;
    let i = domain.iter().position(|p| std::ptr::eq(p, pick))?;
    policies.get(i)
}

fn clock_of(row: &SlaClockRow) -> Clock {
    Clock {
        target: Duration::seconds(row.target_secs),
        used: Duration::seconds(row.used_secs),
        running_since: row.running_since,
        met_at: row.met_at,
    }
}

fn write_of(
    kind: &str,
    policy_id: i64,
    calendar_id: Option<i64>,
    c: &Clock,
    cal: &Calendar,
) -> ClockWrite {
    ClockWrite {
        kind: kind.to_owned(),
        policy_id,
        calendar_id,
        target_secs: c.target.num_seconds(),
        used_secs: c.used.num_seconds(),
        running_since: c.running_since,
        met_at: c.met_at,
        due_at: c.due(cal),
        warn_at: c.warn_at(cal, WARN_SHARE),
    }
}

/// A clock being computed: (kind, policy, calendar id, clock).
type Timed = (String, i64, Option<i64>, Clock);

/// The clocks a ticket without any starts: first response and resolution, by the most
/// specific policy, from its creation. Empty when no policy applies.
fn first_clocks(
    policies: &[SlaPolicyRow],
    ticket: &TicketRow,
    tier: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<Timed> {
    let priority = Priority::from_str(&ticket.priority).unwrap_or(Priority::Normal);
    let intent = ticket.intent.as_deref().and_then(Intent::parse);
    let Some(row) = chosen(policies, priority, intent, tier) else {
        return Vec::new();
    };
    let start = ticket.created_at.min(now);
    let target = Duration::minutes;
    vec![
        (
            FIRST_RESPONSE.into(),
            row.id,
            row.calendar_id,
            Clock::start(start, target(row.first_response_minutes)),
        ),
        (
            RESOLUTION.into(),
            row.id,
            row.calendar_id,
            Clock::start(start, target(row.resolution_minutes)),
        ),
    ]
}

/// Clocks brought in line with the ticket's state (paused while it waits on the customer,
/// resolution met when solved), as rows to store.
fn in_state(
    mut clocks: Vec<Timed>,
    state: &str,
    calendars: &[SlaCalendarRow],
    now: DateTime<Utc>,
) -> Vec<ClockWrite> {
    let cal_of = |id: Option<i64>| calendar_of(calendars.iter().find(|c| Some(c.id) == id));
    let state = TicketState::from_str(state).unwrap_or(TicketState::Open);
    for (kind, _, cal, c) in clocks.iter_mut() {
        let cal = cal_of(*cal);
        match state {
            TicketState::Solved | TicketState::Closed => {
                if kind == RESOLUTION {
                    c.meet(&cal, now);
                } else {
                    c.pause(&cal, now);
                }
            }
            TicketState::PendingCustomer | TicketState::PendingIncident => c.pause(&cal, now),
            _ => c.resume(now),
        }
    }
    clocks
        .iter()
        .map(|(kind, policy, cal, c)| write_of(kind, *policy, *cal, c, &cal_of(*cal)))
        .collect()
}

fn state_name(s: ClockState) -> &'static str {
    match s {
        ClockState::Running => "running",
        ClockState::Paused => "paused",
        ClockState::Met => "met",
        ClockState::Breached => "breached",
    }
}

impl Services {
    /// Now, as SLA clocks see it: the real time, moved by the test clock's offset.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + Duration::seconds(self.clock_offset.load(std::sync::atomic::Ordering::Relaxed))
    }

    /// Moves this node's SLA time forward (tests drive breaches with it; 0 in production).
    pub fn advance_clock(&self, by: Duration) {
        self.clock_offset
            .fetch_add(by.num_seconds(), std::sync::atomic::Ordering::Relaxed);
    }

    pub async fn add_sla_calendar(
        &self,
        p: &crate::Principal,
        c: CalendarInput,
    ) -> Result<SlaCalendarRow, ServiceError> {
        p.require_admin()?;
        let row = self.store.add_sla_calendar(checked_calendar(c)?).await?;
        self.audit_admin(
            p.actor().to_string(),
            "sla_calendar.create",
            format!("sla_calendar:{}", row.id),
            serde_json::json!({}),
        )
        .await?;
        Ok(row)
    }

    /// Rewrites a calendar; running clocks count on it from their next computation.
    pub async fn update_sla_calendar(
        &self,
        p: &crate::Principal,
        id: i64,
        c: CalendarInput,
    ) -> Result<SlaCalendarRow, ServiceError> {
        p.require_admin()?;
        let row = self
            .store
            .update_sla_calendar(id, checked_calendar(c)?)
            .await?;
        self.audit_admin(
            p.actor().to_string(),
            "sla_calendar.update",
            format!("sla_calendar:{id}"),
            serde_json::json!({}),
        )
        .await?;
        Ok(row)
    }

    /// Deletes a calendar; refused while a policy or a running clock uses it.
    pub async fn delete_sla_calendar(
        &self,
        p: &crate::Principal,
        id: i64,
    ) -> Result<(), ServiceError> {
        p.require_admin()?;
        match self.store.delete_sla_calendar(id).await? {
            xdesk_store::CalendarDelete::Deleted => {}
            xdesk_store::CalendarDelete::InUse { policies, clocks } => {
                return Err(ServiceError::Conflict(format!(
                    "the calendar is in use by {policies} policies and {clocks} running clocks"
                )));
            }
        }
        self.audit_admin(
            p.actor().to_string(),
            "sla_calendar.delete",
            format!("sla_calendar:{id}"),
            serde_json::json!({}),
        )
        .await
    }

    pub async fn sla_calendars(
        &self,
        p: &crate::Principal,
    ) -> Result<Vec<SlaCalendarRow>, ServiceError> {
        p.require_admin()?;
        Ok(self.store.sla_calendars().await?)
    }

    pub async fn add_sla_policy(
        &self,
        p: &crate::Principal,
        i: PolicyInput,
    ) -> Result<SlaPolicyRow, ServiceError> {
        p.require_admin()?;
        let name = i.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(bad("name", "invalid_name", "1-100 characters"));
        }
        let given = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let priority = given(&i.priority)
            .map(|v| Priority::from_str(&v).map(|p| p.as_str().to_owned()))
            .transpose()?;
        let intent = given(&i.intent)
            .map(|v| crate::triage::parse_intent(&v).map(|i| i.as_str().to_owned()))
            .transpose()?;
        let tier = given(&i.tier)
            .map(|t| xdesk_domain::routing::parse_tier(&t))
            .transpose()?;
        for (field, m) in [
            ("first_response_minutes", i.first_response_minutes),
            ("next_response_minutes", i.next_response_minutes),
            ("resolution_minutes", i.resolution_minutes),
        ] {
            if !(1..=525_600).contains(&m) {
                return Err(bad(field, "invalid_minutes", "1 to 525600 minutes"));
            }
        }
        if let Some(c) = i.calendar_id
            && !self.store.sla_calendars().await?.iter().any(|r| r.id == c)
        {
            return Err(bad(
                "calendar_id",
                "unknown_calendar",
                format!("no calendar {c}"),
            ));
        }
        let row = self
            .store
            .add_sla_policy(NewSlaPolicy {
                name,
                priority,
                intent,
                tier,
                first_response_minutes: i.first_response_minutes,
                next_response_minutes: i.next_response_minutes,
                resolution_minutes: i.resolution_minutes,
                calendar_id: i.calendar_id,
            })
            .await?;
        self.audit_admin(
            p.actor().to_string(),
            "sla_policy.create",
            format!("sla_policy:{}", row.id),
            serde_json::json!({}),
        )
        .await?;
        Ok(row)
    }

    pub async fn sla_policies(
        &self,
        p: &crate::Principal,
    ) -> Result<Vec<SlaPolicyRow>, ServiceError> {
        p.require_admin()?;
        Ok(self.store.sla_policies().await?)
    }

    pub async fn delete_sla_policy(
        &self,
        p: &crate::Principal,
        id: i64,
    ) -> Result<(), ServiceError> {
        p.require_admin()?;
        self.store.delete_sla_policy(id).await?;
        self.audit_admin(
            p.actor().to_string(),
            "sla_policy.delete",
            format!("sla_policy:{id}"),
            serde_json::json!({}),
        )
        .await
    }

    /// The first-response target (working minutes) and its due time, from now, that a new
    /// ticket with these facts would get: what its acknowledgement promises.
    pub(crate) async fn first_response_promise(
        &self,
        priority: Priority,
        intent: Option<Intent>,
        tier: Option<&str>,
    ) -> Result<Option<(i64, DateTime<Utc>)>, ServiceError> {
        let policies = self.store.sla_policies().await?;
        let Some(row) = chosen(&policies, priority, intent, tier) else {
            return Ok(None);
        };
        let calendars = self.store.sla_calendars().await?;
        let cal = calendar_of(calendars.iter().find(|c| Some(c.id) == row.calendar_id));
        Ok(cal
            .add(self.now(), Duration::minutes(row.first_response_minutes))
            .map(|due| (row.first_response_minutes, due)))
    }

    /// The customer escalates their ticket after a promise passed: their reason is added as
    /// their message, the ticket is tagged `escalated` and its priority goes up a step, and
    /// supervisors are alerted. Once per ticket; refused while every promise still holds.
    pub async fn escalate(
        &self,
        p: &crate::Principal,
        id: i64,
        reason: &str,
    ) -> Result<TicketRow, ServiceError> {
        let crate::Principal::Customer { id: customer } = p else {
            return Err(ServiceError::Forbidden(
                "customers escalate their own tickets".into(),
            ));
        };
        // Whose ticket first: a refusal must not depend on what the form holds.
        let t = self.visible_ticket(p, id).await?;
        let reason = reason.trim();
        if reason.is_empty() || reason.chars().count() > 2000 {
            return Err(bad("reason", "invalid_reason", "1-2000 characters"));
        }
        let tags: Vec<String> = serde_json::from_str(&t.tags).unwrap_or_default();
        if tags.iter().any(|g| g == ESCALATED_TAG) {
            return Err(ServiceError::Conflict(
                "this ticket is already escalated".into(),
            ));
        }
        let Some(broken) = self
            .sla_view(&t)
            .await?
            .into_iter()
            .find(|c| c.state == "breached")
        else {
            return Err(ServiceError::Conflict(
                "every promise on this ticket still holds".into(),
            ));
        };
        let mut tags = tags;
        tags.push(ESCALATED_TAG.to_owned());
        tags.sort();
        let old = Priority::from_str(&t.priority).unwrap_or(Priority::Normal);
        let new = raised(old);
        let mut changes = BTreeMap::from([(
            "tags".to_owned(),
            [
                serde_json::json!(serde_json::from_str::<Vec<String>>(&t.tags).unwrap_or_default()),
                serde_json::json!(tags),
            ],
        )]);
        if new != old {
            changes.insert(
                "priority".to_owned(),
                [
                    serde_json::json!(old.as_str()),
                    serde_json::json!(new.as_str()),
                ],
            );
        }
        let patch = TicketPatch {
            tags: Some(tags),
            priority: (new != old).then(|| new.as_str().to_owned()),
            ..Default::default()
        };
        // The customer's words, screened for secrets like every message of theirs.
        let mut body = reason.to_owned();
        let screened = crate::safety::screen(None, &mut body, &mut None);
        let message = xdesk_store::NewMessage {
            author_kind: "customer".into(),
            author_id: Some(*customer),
            body_text: body,
            body_html: None,
            internal: false,
            channel: t.channel.clone(),
            metadata: serde_json::json!({"escalation": broken.kind}),
            attachments: Vec::new(),
            email: None,
            redacted: screened.names(),
            outbound: None,
        };
        let done = self
            .store
            .apply_change(ChangeSet {
                ticket_id: t.id,
                expected_version: t.version,
                actor: p.actor(),
                patch,
                events: vec![
                    EventKind::Escalated {
                        clock: broken.kind.clone(),
                    },
                    EventKind::Updated { changes },
                ],
                message: Some(message),
                notices: Vec::new(),
                delivery: None,
            })
            .await?;
        self.publish_messages(&done.ticket, &done.messages, &done.attachments);
        self.alert(&done.ticket, "escalated", Some(&broken.kind))
            .await;
        self.sla_follow(&done.ticket, &done.messages).await;
        Ok(done.ticket)
    }

    /// Where the promises of a ticket the caller may see stand.
    pub async fn ticket_sla(
        &self,
        p: &crate::Principal,
        id: i64,
    ) -> Result<Vec<ClockView>, ServiceError> {
        p.require_ticket_scope("tickets:read")?;
        let t = self.visible_ticket(p, id).await?;
        self.sla_view(&t).await
    }

    /// Where a ticket's promises stand.
    pub async fn sla_view(&self, ticket: &TicketRow) -> Result<Vec<ClockView>, ServiceError> {
        let clocks = self.store.sla_clocks(ticket.id).await?;
        let calendars = self.store.sla_calendars().await?;
        let now = self.now();
        Ok(clocks
            .iter()
            .map(|r| {
                let cal = calendar_of(calendars.iter().find(|c| Some(c.id) == r.calendar_id));
                let c = clock_of(r);
                let state = if r.breached {
                    ClockState::Breached
                } else {
                    c.state(&cal, now)
                };
                ClockView {
                    kind: r.kind.clone(),
                    state: state_name(state),
                    due_at: r.due_at,
                    met_at: r.met_at,
                }
            })
            .collect())
    }

    /// What follows a new ticket's creation, from any channel (its SLA clocks started in its
    /// own transaction, see [`Self::sla_start`]): supervisors hear of it at once when money is at risk, the links in what it was opened
    /// with (`written`) are checked, and so is its transaction on chain.
    /// True when assignment gave out tickets (the new one may have changed).
    pub(crate) async fn after_create(&self, ticket: &TicketRow, written: &[MessageRow]) -> bool {
        if ticket.priority == Priority::Urgent.as_str()
            && ticket
                .tags
                .contains(&format!("\"{}\"", crate::triage::URGENT_TAG))
        {
            self.alert(ticket, "urgent", None).await;
        }
        self.check_repeat_intent(ticket).await;
        self.check_links(ticket, written).await;
        self.chain_check_new(ticket).await;
        self.assign_new(ticket).await
    }

    /// [`Self::sla_observe`] after a change that is already stored: a failure is logged,
    /// not returned, so the caller's answer reflects what was written.
    pub(crate) async fn sla_follow(&self, ticket: &TicketRow, messages: &[MessageRow]) {
        if let Err(e) = self.sla_observe(ticket, messages).await {
            tracing::error!(ticket = ticket.id, error = %e, "SLA clocks not updated");
        }
    }

    /// Keeps a ticket's clocks in step after it changed: starts them on a new ticket (by the
    /// most specific policy), meets the response clocks when an agent answers publicly,
    /// starts the next-response clock when the customer writes after an answer, pauses while
    /// the ticket waits on the customer, and meets resolution when it is solved or closed.
    pub(crate) async fn sla_observe(
        &self,
        ticket: &TicketRow,
        messages: &[MessageRow],
    ) -> Result<(), ServiceError> {
        let now = self.now();
        let rows = self.store.sla_clocks(ticket.id).await?;
        let policies = self.store.sla_policies().await?;
        // No clocks and no policy to start them: nothing to keep in step.
        if rows.is_empty() && policies.is_empty() {
            return Ok(());
        }
        let calendars = self.store.sla_calendars().await?;
        let cal_of = |id: Option<i64>| calendar_of(calendars.iter().find(|c| Some(c.id) == id));
        let mut clocks: Vec<Timed> = rows
            .iter()
            .map(|r| (r.kind.clone(), r.policy_id, r.calendar_id, clock_of(r)))
            .collect();
        if clocks.is_empty() {
            let tier = self
                .store
                .customer(ticket.customer_id)
                .await?
                .and_then(|c| c.tier);
            clocks = first_clocks(&policies, ticket, tier.as_deref(), now);
            if clocks.is_empty() {
                return Ok(());
            }
        }
        for m in messages {
            let public_answer = m.author_kind == "agent" && !m.internal;
            if public_answer {
                for (kind, _, cal, c) in clocks.iter_mut() {
                    if kind == FIRST_RESPONSE || kind == NEXT_RESPONSE {
                        c.meet(&cal_of(*cal), now);
                    }
                }
            } else if m.author_kind == "customer" {
                let answered = clocks
                    .iter()
                    .any(|(k, _, _, c)| k == FIRST_RESPONSE && c.met_at.is_some());
                let waiting = clocks
                    .iter()
                    .any(|(k, _, _, c)| k == NEXT_RESPONSE && c.met_at.is_none());
                if answered && !waiting {
                    let (policy_id, calendar_id) = clocks
                        .first()
                        .map(|(_, p, c, _)| (*p, *c))
                        .unwrap_or_default();
                    // The ticket's policy's target; 8 hours if the policy was deleted since.
                    let target = policies
                        .iter()
                        .find(|r| r.id == policy_id)
                        .map_or(Duration::hours(8), |r| {
                            Duration::minutes(r.next_response_minutes)
                        });
                    clocks.retain(|(k, _, _, _)| k != NEXT_RESPONSE);
                    clocks.push((
                        NEXT_RESPONSE.into(),
                        policy_id,
                        calendar_id,
                        Clock::start(now, target),
                    ));
                }
            }
        }
        let writes = in_state(clocks, &ticket.state, &calendars, now);
        self.store.save_sla_clocks(ticket.id, &writes).await?;
        Ok(())
    }

    /// How a new ticket's clocks start, for its own transaction (`NewTicket::sla`): the
    /// policies are read here, the policy is chosen from the row as written. None without
    /// policies. `given_tier` is the tier the request states, which wins over the stored one.
    pub(crate) async fn sla_start(
        &self,
        given_tier: Option<&str>,
    ) -> Result<Option<SlaStart>, ServiceError> {
        let policies = self.store.sla_policies().await?;
        if policies.is_empty() {
            return Ok(None);
        }
        let calendars = self.store.sla_calendars().await?;
        let needs_tier = given_tier.is_none() && policies.iter().any(|p| p.tier.is_some());
        let given = given_tier.map(str::to_owned);
        let offset = self.now() - Utc::now();
        Ok(Some(SlaStart {
            needs_tier,
            build: std::sync::Arc::new(move |ticket: &TicketRow, stored: Option<&str>| {
                let now = Utc::now() + offset;
                let tier = given.as_deref().or(stored);
                let clocks = first_clocks(&policies, ticket, tier, now);
                in_state(clocks, &ticket.state, &calendars, now)
            }),
        }))
    }

    /// Fires due SLA timers: warnings to the assignee, breaches escalated (an event, priority
    /// up one step). Safe to run on every node at once.
    pub async fn run_sla_timers(&self, limit: u64) -> Result<TimerRun, ServiceError> {
        let now = self.now();
        let jobs = self
            .store
            .claim_jobs(SLA_JOB, now, limit, Duration::seconds(60))
            .await?;
        let mut run = TimerRun {
            claimed: jobs.len(),
            fired: 0,
        };
        for job in jobs {
            run.fired += self.sla_check(job.ticket_id, now).await?;
            self.store.release_job(job.ticket_id).await?;
        }
        Ok(run)
    }

    async fn sla_check(&self, ticket_id: i64, now: DateTime<Utc>) -> Result<usize, ServiceError> {
        let mut fired = 0;
        for r in self.store.sla_clocks(ticket_id).await? {
            if r.met_at.is_some() {
                continue;
            }
            let step = match (r.due_at, r.warn_at) {
                (Some(due), _) if due <= now && !r.breached => SlaStep::Breach,
                (_, Some(warn)) if warn <= now && !r.warned && !r.breached => SlaStep::Warn,
                _ => continue,
            };
            let due_at = r.due_at.map(|d| d.to_rfc3339()).unwrap_or_default();
            // The ticket may change meanwhile: read it fresh and try again on a stale version.
            for _ in 0..3 {
                let Some(t) = self.store.ticket(ticket_id).await? else {
                    return Ok(fired);
                };
                let mut patch = TicketPatch::default();
                let mut events = Vec::new();
                match step {
                    SlaStep::Warn => events.push(EventKind::SlaWarning {
                        clock: r.kind.clone(),
                        due_at: due_at.clone(),
                    }),
                    SlaStep::Breach => {
                        events.push(EventKind::SlaBreached {
                            clock: r.kind.clone(),
                            due_at: due_at.clone(),
                        });
                        let old = Priority::from_str(&t.priority).unwrap_or(Priority::Normal);
                        let new = raised(old);
                        if new != old {
                            patch.priority = Some(new.as_str().to_owned());
                            events.push(EventKind::Updated {
                                changes: BTreeMap::from([(
                                    "priority".to_owned(),
                                    [
                                        serde_json::json!(old.as_str()),
                                        serde_json::json!(new.as_str()),
                                    ],
                                )]),
                            });
                        }
                    }
                }
                let change = ChangeSet::system(ticket_id, t.version, patch, events);
                match self.store.sla_step(r.id, step, change).await {
                    Ok(Some(applied)) => {
                        fired += 1;
                        self.publish_change(&applied.ticket);
                        let kind = match step {
                            SlaStep::Warn => "sla_warning",
                            SlaStep::Breach => "sla_breached",
                        };
                        self.alert(&applied.ticket, kind, Some(&r.kind)).await;
                        if step == SlaStep::Breach
                            && let Err(e) = self.reassign_after_breach(&applied.ticket).await
                        {
                            tracing::error!(ticket = ticket_id, error = %e, "reassignment after a breach failed");
                        }
                        break;
                    }
                    Ok(None) => break,
                    Err(xdesk_store::StoreError::StaleVersion(_)) => continue,
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(fired)
    }
}
