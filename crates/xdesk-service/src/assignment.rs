//! Assignment: agents' status, their languages, skills and capacity; groups that hand their
//! waiting tickets out (round-robin or least-loaded, see `xdesk_domain::assignment`), most
//! urgent and oldest first; and tickets of agents gone offline going back to the queue.
//!
//! Every node runs [`Services::run_assignment`] every few seconds; a ticket is assigned by a
//! versioned change, so two nodes racing for it cannot both assign it.

use crate::{Principal, ServiceError, Services};
use chrono::Duration;
use serde_json::json;
use std::collections::BTreeMap;
use std::str::FromStr;
use xdesk_domain::assignment::{
    self, AgentStatus, Candidate, Capacity, Need, NoAgent, Strategy, parse_words,
};
use xdesk_domain::event::EventKind;
use xdesk_domain::identity::Role;
use xdesk_domain::{FieldError, ticket::TicketState};
use xdesk_store::{
    AgentRow, ChangeSet, SortOrder, StoreError, TicketFilter, TicketPatch, TicketRow, Visibility,
};

/// Waiting tickets looked at per group and run: more wait for the next run.
const QUEUE_BATCH: u64 = 50;

/// What an admin sets for an agent's assignment.
#[derive(Debug, Clone, Default)]
pub struct AgentRouting {
    pub languages: String,
    pub skills: String,
    pub capacity: String,
}

/// How an agent's status follows their sign-ins.
#[derive(Debug, Clone, Copy)]
pub struct AgentSettings {
    /// Signing in at the console sets the agent online (`agents.online_on_sign_in`).
    pub online_on_sign_in: bool,
}

impl Default for AgentSettings {
    fn default() -> Self {
        Self {
            online_on_sign_in: true,
        }
    }
}

/// What one run of [`Services::run_assignment`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AssignmentRun {
    pub assigned: usize,
    pub returned: usize,
}

/// An agent as a supervisor sees them on the team page.
#[derive(Debug, Clone)]
pub struct AgentPresence {
    pub agent: AgentRow,
    pub group_ids: Vec<i64>,
    /// Open (new or open) tickets per channel.
    pub load: BTreeMap<String, u32>,
}

fn candidate(agent: &AgentRow, last: Option<i64>, load: BTreeMap<String, u32>) -> Candidate {
    Candidate {
        agent_id: agent.id,
        status: AgentStatus::from_str(&agent.status).unwrap_or(AgentStatus::Offline),
        languages: parse_words("languages", &agent.languages).unwrap_or_default(),
        skills: parse_words("skills", &agent.skills).unwrap_or_default(),
        capacity: Capacity::parse(&agent.capacity).unwrap_or_default(),
        load,
        last_assigned: last,
    }
}

impl Services {
    /// Sets an agent's status: their own, or (admins, and supervisors for their groups'
    /// agents) another's, audited. Going online hands them waiting tickets at once.
    pub async fn set_agent_status(
        &self,
        p: &Principal,
        agent_id: i64,
        status: &str,
    ) -> Result<(AgentRow, Vec<i64>), ServiceError> {
        let Principal::Agent {
            id,
            role,
            group_ids,
            ..
        } = p
        else {
            return Err(ServiceError::Forbidden("only agents have a status".into()));
        };
        if *id != agent_id {
            let allowed = match role {
                Role::Admin => true,
                // A supervisor, for the agents of their own groups.
                Role::Supervisor => self
                    .store
                    .agent_group_ids(agent_id)
                    .await?
                    .iter()
                    .any(|g| group_ids.contains(g)),
                Role::Agent => false,
            };
            if !allowed {
                return Err(ServiceError::Forbidden(
                    "only an admin, or a supervisor of their group, sets another agent's status"
                        .into(),
                ));
            }
        }
        let status = AgentStatus::from_str(status)?;
        self.store
            .set_agent_status(agent_id, status.as_str(), self.now())
            .await?;
        self.paces.clear();
        if *id != agent_id {
            self.audit_action(
                p,
                "agent.status",
                format!("agent:{agent_id}"),
                None,
                json!({ "status": status.as_str() }),
            )
            .await?;
        }
        if status == AgentStatus::Online {
            for g in self.store.agent_group_ids(agent_id).await? {
                self.assign_waiting(g).await?;
            }
        }
        self.agent_with_groups(agent_id).await
    }

    async fn agent_with_groups(&self, id: i64) -> Result<(AgentRow, Vec<i64>), ServiceError> {
        let agent = self
            .store
            .agent(id)
            .await?
            .ok_or(ServiceError::NotFound("agent"))?;
        Ok((agent, self.store.agent_group_ids(id).await?))
    }

    /// Sets what assignment weighs for an agent (admins).
    pub async fn set_agent_routing(
        &self,
        p: &Principal,
        agent_id: i64,
        r: AgentRouting,
    ) -> Result<(AgentRow, Vec<i64>), ServiceError> {
        p.require_admin()?;
        let languages = parse_words("languages", &r.languages)?;
        for l in &languages {
            xdesk_domain::ticket::parse_language(l).map_err(|e| e.for_field("languages"))?;
        }
        let skills = parse_words("skills", &r.skills)?;
        let capacity = Capacity::parse(&r.capacity)?;
        self.store
            .set_agent_routing(
                agent_id,
                &languages.join(" "),
                &skills.join(" "),
                &capacity.to_string(),
            )
            .await?;
        self.audit_action(
            p,
            "agent.routing",
            format!("agent:{agent_id}"),
            None,
            json!({ "languages": languages, "skills": skills, "capacity": capacity.to_string() }),
        )
        .await?;
        self.agent_with_groups(agent_id).await
    }

    /// Sets how a group assigns (admins); `return_after_minutes` of offline before an agent's
    /// tickets go back to the queue (none: they stay).
    pub async fn set_group_assignment(
        &self,
        p: &Principal,
        group_id: i64,
        strategy: &str,
        return_after_minutes: Option<i32>,
        reassign_on_breach: bool,
    ) -> Result<(), ServiceError> {
        p.require_admin()?;
        let strategy = Strategy::from_str(strategy)?;
        if let Some(m) = return_after_minutes
            && !(1..=7 * 24 * 60).contains(&m)
        {
            return Err(FieldError::new(
                "return_after_minutes",
                "invalid_minutes",
                "from 1 minute to 7 days (10080)",
            )
            .into());
        }
        self.store
            .set_group_assignment(
                group_id,
                strategy.as_str(),
                return_after_minutes,
                reassign_on_breach,
            )
            .await?;
        self.audit_action(
            p,
            "group.assignment",
            format!("group:{group_id}"),
            None,
            json!({ "strategy": strategy.as_str(), "return_after_minutes": return_after_minutes,
                    "reassign_on_breach": reassign_on_breach }),
        )
        .await?;
        self.assign_waiting(group_id).await?;
        Ok(())
    }

    /// How many agents are online to answer a chat (the chat's group's, when it has one):
    /// read from the database each time, so every node's widget sees a status set on any.
    pub async fn chat_agents_online(&self) -> Result<u64, ServiceError> {
        Ok(self.store.online_agents(self.chat.group_id).await?)
    }

    /// Every agent with their status, groups and open load: for supervisors and admins (the
    /// team page), so they see who is on duty and how full each desk is.
    pub async fn team(&self, p: &Principal) -> Result<Vec<AgentPresence>, ServiceError> {
        match p {
            Principal::Agent {
                role: Role::Supervisor | Role::Admin,
                ..
            } => {}
            _ => {
                return Err(ServiceError::Forbidden(
                    "the team's status is for supervisors and admins".into(),
                ));
            }
        }
        let agents = self.store.list_agents().await?;
        let ids: Vec<i64> = agents.iter().map(|a| a.id).collect();
        let loads = self.store.open_load(&ids).await?;
        let mut out = Vec::new();
        for a in agents {
            let mut load = BTreeMap::new();
            for l in loads.iter().filter(|l| l.assignee_id == a.id) {
                load.insert(l.channel.clone(), u32::try_from(l.open).unwrap_or(u32::MAX));
            }
            out.push(AgentPresence {
                group_ids: self.store.agent_group_ids(a.id).await?,
                agent: a,
                load,
            });
        }
        Ok(out)
    }

    /// A new ticket in a group that assigns automatically gets its agent now (unless older or
    /// more urgent tickets take the free agents first). True when anything was assigned.
    pub(crate) async fn assign_new(&self, ticket: &TicketRow) -> bool {
        if ticket.assignee_id.is_some() {
            return false;
        }
        let Some(group_id) = ticket.group_id else {
            return false;
        };
        match self.assign_waiting(group_id).await {
            Ok(n) => n > 0,
            Err(e) => {
                tracing::error!(ticket = ticket.id, error = %e, "assignment failed");
                false
            }
        }
    }

    /// Hands the group's waiting tickets (unassigned, new or open) to its agents, most urgent
    /// and oldest first, until none is left or no agent can take the next one.
    pub async fn assign_waiting(&self, group_id: i64) -> Result<usize, ServiceError> {
        let Some(group) = self.store.group(group_id).await? else {
            return Ok(0);
        };
        let strategy = Strategy::from_str(&group.assignment).unwrap_or(Strategy::Manual);
        if strategy == Strategy::Manual {
            return Ok(0);
        }
        let waiting = self
            .store
            .list_tickets(&TicketFilter {
                states: vec!["new".into(), "open".into()],
                group_id: Some(group_id),
                assignee_id: Some(None),
                sort: SortOrder::PriorityAge,
                limit: QUEUE_BATCH,
                // The group's queue, as xdesk's own assignment sees it.
                ..TicketFilter::new(Visibility::All)
            })
            .await?;
        if waiting.is_empty() {
            return Ok(0);
        }
        let mut candidates = self.candidates(group_id).await?;
        let mut assigned = 0;
        for t in waiting {
            let need = Need {
                channel: &t.channel,
                language: &t.language,
                skill: t.intent.as_deref(),
            };
            let agent_id = match assignment::choose(strategy, &candidates, &need) {
                Ok(a) => a,
                // Another ticket (another channel or language) may still fit someone.
                Err(NoAgent::AllAtCapacity | NoAgent::NoLanguage) => continue,
                Err(NoAgent::Manual | NoAgent::NobodyOnline) => break,
            };
            let capacity = candidates
                .iter()
                .find(|c| c.agent_id == agent_id)
                .map(|c| c.capacity.clone())
                .unwrap_or_default();
            if self.assign_to(&t, agent_id, strategy, &capacity).await? {
                assigned += 1;
                let now = self.now();
                self.store.mark_assigned(agent_id, group_id, now).await?;
                if let Some(c) = candidates.iter_mut().find(|c| c.agent_id == agent_id) {
                    c.last_assigned = Some(now.timestamp_micros());
                    *c.load.entry(t.channel.clone()).or_default() += 1;
                }
            }
        }
        Ok(assigned)
    }

    /// The group's members as the chooser sees them, with their open load.
    async fn candidates(&self, group_id: i64) -> Result<Vec<Candidate>, ServiceError> {
        let members = self.store.group_members(group_id).await?;
        let ids: Vec<i64> = members.iter().map(|m| m.agent.id).collect();
        let loads = self.store.open_load(&ids).await?;
        Ok(members
            .iter()
            .map(|m| {
                let mut load = BTreeMap::new();
                for l in loads.iter().filter(|l| l.assignee_id == m.agent.id) {
                    load.insert(l.channel.clone(), u32::try_from(l.open).unwrap_or(u32::MAX));
                }
                candidate(
                    &m.agent,
                    m.last_assigned_at.map(|t| t.timestamp_micros()),
                    load,
                )
            })
            .collect())
    }

    /// After a breach, in a group that asks for it: the ticket goes to another online agent
    /// who can take it (by the group's strategy), or stays where it is when nobody can.
    pub(crate) async fn reassign_after_breach(&self, t: &TicketRow) -> Result<bool, ServiceError> {
        let (Some(group_id), Some(previous)) = (t.group_id, t.assignee_id) else {
            return Ok(false);
        };
        let Some(group) = self.store.group(group_id).await? else {
            return Ok(false);
        };
        let strategy = Strategy::from_str(&group.assignment).unwrap_or(Strategy::Manual);
        if !group.reassign_on_breach || strategy == Strategy::Manual {
            return Ok(false);
        }
        let others: Vec<Candidate> = self
            .candidates(group_id)
            .await?
            .into_iter()
            .filter(|c| c.agent_id != previous)
            .collect();
        let need = Need {
            channel: &t.channel,
            language: &t.language,
            skill: t.intent.as_deref(),
        };
        let Ok(agent_id) = assignment::choose(strategy, &others, &need) else {
            return Ok(false);
        };
        let mut changes = BTreeMap::new();
        changes.insert("assignee_id".to_owned(), [json!(previous), json!(agent_id)]);
        let patch = TicketPatch {
            assignee_id: Some(Some(agent_id)),
            ..Default::default()
        };
        let events = vec![
            EventKind::Updated { changes },
            EventKind::AutoAssigned {
                agent_id,
                strategy: strategy.as_str().to_owned(),
            },
        ];
        let capacity = others
            .iter()
            .find(|c| c.agent_id == agent_id)
            .map(|c| c.capacity.clone())
            .unwrap_or_default();
        let moved = self
            .commit_assignment(t, patch, events, agent_id, &capacity)
            .await?;
        if moved {
            self.store
                .mark_assigned(agent_id, group_id, self.now())
                .await?;
        }
        Ok(moved)
    }

    /// Gives `t` to `agent_id` unless someone changed it since it was read, or the agent's
    /// room on its channel filled up meanwhile (checked again in the assigning transaction).
    async fn assign_to(
        &self,
        t: &TicketRow,
        agent_id: i64,
        strategy: Strategy,
        capacity: &Capacity,
    ) -> Result<bool, ServiceError> {
        let mut changes = BTreeMap::new();
        changes.insert("assignee_id".to_owned(), [json!(null), json!(agent_id)]);
        let mut patch = TicketPatch {
            assignee_id: Some(Some(agent_id)),
            ..Default::default()
        };
        if t.state == TicketState::New.as_str() {
            changes.insert("state".to_owned(), [json!(t.state), json!("open")]);
            patch.state = Some(TicketState::Open.as_str().to_owned());
        }
        let events = vec![
            EventKind::Updated { changes },
            EventKind::AutoAssigned {
                agent_id,
                strategy: strategy.as_str().to_owned(),
            },
        ];
        self.commit_assignment(t, patch, events, agent_id, capacity)
            .await
    }

    /// Writes an assignment of `t` to `agent_id` if `t` did not move on and the agent still
    /// has room on its channel; false otherwise.
    async fn commit_assignment(
        &self,
        t: &TicketRow,
        patch: TicketPatch,
        events: Vec<EventKind>,
        agent_id: i64,
        capacity: &Capacity,
    ) -> Result<bool, ServiceError> {
        let cs = ChangeSet::system(t.id, t.version, patch, events);
        match self
            .store
            .apply_within_capacity(&cs, agent_id, &t.channel, capacity.limit(&t.channel))
            .await
        {
            Ok(Some(done)) => {
                let news = crate::live::News::new(crate::live::News::ASSIGNED, None, &done.ticket);
                self.publish_news(&done.ticket, Some(news));
                Ok(true)
            }
            Ok(None) | Err(StoreError::StaleVersion(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Sets offline the agents whose sessions all expired, returns the open tickets of agents
    /// offline longer than their group allows to the queue, then hands out every automatic
    /// group's waiting tickets.
    pub async fn run_assignment(&self) -> Result<AssignmentRun, ServiceError> {
        let mut run = AssignmentRun::default();
        // Sessions expire by the real time, whatever the test clock says.
        self.store
            .lapse_expired_sessions(chrono::Utc::now(), self.now())
            .await?;
        let groups = self.store.list_groups().await?;
        let now = self.now();
        let shortest = groups.iter().filter_map(|g| g.return_after_minutes).min();
        if let Some(shortest) = shortest {
            let before = now - Duration::minutes(i64::from(shortest));
            for agent in self.store.agents_offline_since(before).await? {
                let since = agent.status_at.map_or(0, |t| t.timestamp());
                let status = AgentStatus::from_str(&agent.status).unwrap_or(AgentStatus::Offline);
                let tickets = self
                    .store
                    .list_tickets(&TicketFilter {
                        states: vec!["new".into(), "open".into()],
                        assignee_id: Some(Some(agent.id)),
                        limit: QUEUE_BATCH,
                        // xdesk's own work: the away agent's tickets, whatever their group.
                        ..TicketFilter::new(Visibility::All)
                    })
                    .await?;
                for t in tickets {
                    let Some(minutes) = t
                        .group_id
                        .and_then(|g| groups.iter().find(|x| x.id == g))
                        .and_then(|g| g.return_after_minutes)
                    else {
                        continue;
                    };
                    let after = u32::try_from(minutes).unwrap_or(u32::MAX);
                    if assignment::back_to_queue(status, since, now.timestamp(), after)
                        && self.return_to_queue(&t, agent.id, minutes).await?
                    {
                        run.returned += 1;
                    }
                }
            }
        }
        for g in groups
            .iter()
            .filter(|g| g.assignment != Strategy::Manual.as_str())
        {
            run.assigned += self.assign_waiting(g.id).await?;
        }
        Ok(run)
    }

    async fn return_to_queue(
        &self,
        t: &TicketRow,
        agent_id: i64,
        after_minutes: i32,
    ) -> Result<bool, ServiceError> {
        let mut changes = BTreeMap::new();
        changes.insert("assignee_id".to_owned(), [json!(agent_id), json!(null)]);
        let patch = TicketPatch {
            assignee_id: Some(None),
            ..Default::default()
        };
        let events = vec![
            EventKind::Updated { changes },
            EventKind::ReturnedToQueue {
                agent_id,
                after_minutes,
            },
        ];
        self.apply_if_unchanged(t, patch, events).await
    }

    /// Applies xdesk's own change to `t` unless it moved on since it was read (another node or
    /// an agent got there first): false then.
    async fn apply_if_unchanged(
        &self,
        t: &TicketRow,
        patch: TicketPatch,
        events: Vec<EventKind>,
    ) -> Result<bool, ServiceError> {
        match self
            .store
            .apply_change(ChangeSet::system(t.id, t.version, patch, events))
            .await
        {
            Ok(done) => {
                self.publish_change(&done.ticket);
                Ok(true)
            }
            Err(StoreError::StaleVersion(_)) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }
}
