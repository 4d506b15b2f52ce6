//! Surge alerts: every so often (see `xdesk::config` `surge.interval_secs`) each node reads the
//! last hour's new tickets, compares them with the week before (`xdesk_domain::surge`), and
//! raises what is far above its usual rate. A raised surge is stored once across nodes (its key
//! is unique while it runs) and announced on the live bus to supervisors and admins, who may
//! start an incident from it (`/console/incidents/new?surge=<id>`, which reads it through
//! [`Services::surge`]).

use crate::{Principal, ServiceError, Services, live};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Mutex;
use xdesk_domain::surge::{self, Baseline, Fact, SurgeKey, Term};
use xdesk_domain::triage::Intent;
use xdesk_store::{NewAuditEntry, NewSurge, SurgeRow, SurgeTicket};

/// How far back the usual rates are read.
const BASELINE_DAYS: i64 = 7;
/// The usual rates change slowly: they are read again after this long.
const BASELINE_TTL_MINUTES: i64 = 60;
/// Tickets whose words make the baseline's word rates: the newest before the windows.
/// Tokenising a whole week each hour would cost more than it tells.
const TERM_SAMPLE: u64 = 3_000;
/// The most tickets of a week read for the usual rates, and of the last hour for the check.
const BASELINE_LIMIT: u64 = 500_000;
const RECENT_LIMIT: u64 = 20_000;
/// A running surge ends (and may be raised again) after this long without being seen.
const QUIET_MINUTES: i64 = 30;
/// How far back supervisors' list of surges reaches.
const LIST_DAYS: i64 = 7;

struct CachedBaseline {
    /// The end of the period it counts (the start of the windows when it was read).
    to: DateTime<Utc>,
    baseline: Baseline,
}

/// What a node keeps between checks: the baseline (read hourly) and the words of recent
/// tickets (so each ticket is tokenised once).
pub struct SurgeState {
    pub settings: surge::Settings,
    baseline: Mutex<Option<CachedBaseline>>,
    terms: Mutex<HashMap<i64, Vec<Term>>>,
}

impl Default for SurgeState {
    fn default() -> Self {
        Self::new(surge::Settings::default())
    }
}

impl SurgeState {
    pub fn new(settings: surge::Settings) -> Self {
        Self {
            settings,
            baseline: Mutex::new(None),
            terms: Mutex::new(HashMap::new()),
        }
    }
}

/// What one check did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SurgeCheck {
    /// Surges this node raised (another node may have raised others).
    pub raised: Vec<SurgeRow>,
    /// Surges still running.
    pub running: usize,
    /// Tickets in the windows.
    pub tickets: usize,
}

fn fact(t: SurgeTicket, terms: Vec<Term>) -> Fact {
    Fact::new(
        t.id,
        t.created_at,
        t.intent.as_deref().and_then(Intent::parse),
        t.network.as_deref(),
        t.asset.as_deref(),
        terms,
    )
}

/// The words of a ticket's subject and the start of its first message.
fn words_of(t: &SurgeTicket, bodies: &HashMap<i64, String>) -> Vec<Term> {
    let body = bodies.get(&t.id).map(String::as_str).unwrap_or_default();
    surge::terms(&format!("{}\n{body}", t.subject))
}

fn supervisor_only(p: &Principal) -> Result<(), ServiceError> {
    if p.is_supervisor() {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "surge alerts are for supervisors and admins".into(),
        ))
    }
}

impl Services {
    /// Looks for surges now and raises the new ones. Called periodically by every node; the
    /// store makes sure each running surge is raised by one.
    pub async fn run_surge_check(&self) -> Result<SurgeCheck, ServiceError> {
        let s = &self.surges.settings;
        let now = self.now();
        let windows_from = now - s.longest_window();
        let baseline = self.surge_baseline(windows_from).await?;
        // A second's margin: a ticket stored this instant is in.
        let recent = self
            .store
            .surge_tickets(windows_from, now + Duration::seconds(1), RECENT_LIMIT)
            .await?;
        let facts = self.facts_with_terms(recent).await?;
        let active: Vec<String> = self.store.running_surge_keys().await?;
        let active_keys: Vec<SurgeKey> = active.iter().filter_map(|k| SurgeKey::parse(k)).collect();
        let found = surge::detect(&facts, &baseline, &active_keys, now, s);
        let seen: Vec<String> = found.running.iter().map(SurgeKey::as_key).collect();
        self.store
            .touch_surges(&seen, now, now - Duration::minutes(QUIET_MINUTES))
            .await?;
        let mut raised = Vec::new();
        for x in found.new {
            let new = NewSurge {
                key: x.key.as_key(),
                intent: x.intent.map(|i| i.as_str().to_owned()),
                network: x.network.clone(),
                asset: x.asset.clone(),
                words: x.words.clone(),
                ticket_ids: x.ticket_ids.clone(),
                count: i64::from(x.count),
                window_minutes: x.window_minutes,
                expected: x.expected,
                summary_en: x.summary_en(),
                summary_zh: x.summary_zh(),
                first_at: x.first_at,
                last_at: x.last_at,
            };
            if let Some(row) = self.store.raise_surge(new, now).await? {
                tracing::info!(surge = row.id, key = %row.key, count = row.count, "surge raised");
                self.bus.publish(live::LiveEvent::Surge {
                    surge_id: row.id,
                    summary_en: row.summary_en.clone(),
                    summary_zh: row.summary_zh.clone(),
                    count: row.count,
                });
                raised.push(row);
            }
        }
        Ok(SurgeCheck {
            raised,
            running: seen.len(),
            tickets: facts.len(),
        })
    }

    /// The usual rates up to `to`: the cached ones while they are fresh.
    async fn surge_baseline(&self, to: DateTime<Utc>) -> Result<Baseline, ServiceError> {
        {
            let cached = self
                .surges
                .baseline
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(c) = cached.as_ref()
                && c.to <= to
                && to - c.to < Duration::minutes(BASELINE_TTL_MINUTES)
            {
                return Ok(c.baseline.clone());
            }
        }
        let from = to - Duration::days(BASELINE_DAYS);
        let rows = self.store.surge_tickets(from, to, BASELINE_LIMIT).await?;
        let all: Vec<Fact> = rows.into_iter().map(|t| fact(t, Vec::new())).collect();
        let newest = self.store.surge_tickets(from, to, TERM_SAMPLE).await?;
        let ids: Vec<i64> = newest.iter().map(|t| t.id).collect();
        let bodies = self.store.surge_first_messages(&ids).await?;
        let sample: Vec<Fact> = newest
            .into_iter()
            .map(|t| {
                let terms = words_of(&t, &bodies);
                fact(t, terms)
            })
            .collect();
        let baseline = Baseline::new(&all, from, to).with_terms(&sample, from, to);
        *self
            .surges
            .baseline
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(CachedBaseline {
            to,
            baseline: baseline.clone(),
        });
        Ok(baseline)
    }

    /// The recent tickets as facts, each ticket's words read once (its first message fetched
    /// and tokenised on the first check that sees it) and kept while it is recent.
    async fn facts_with_terms(&self, recent: Vec<SurgeTicket>) -> Result<Vec<Fact>, ServiceError> {
        let unread: Vec<i64> = {
            let cache = self.surges.terms.lock().unwrap_or_else(|e| e.into_inner());
            recent
                .iter()
                .map(|t| t.id)
                .filter(|id| !cache.contains_key(id))
                .collect()
        };
        let bodies = self.store.surge_first_messages(&unread).await?;
        let mut cache = self.surges.terms.lock().unwrap_or_else(|e| e.into_inner());
        let mut kept: HashMap<i64, Vec<Term>> = HashMap::with_capacity(recent.len());
        let facts = recent
            .into_iter()
            .map(|t| {
                let terms = cache.remove(&t.id).unwrap_or_else(|| words_of(&t, &bodies));
                kept.insert(t.id, terms.clone());
                fact(t, terms)
            })
            .collect();
        *cache = kept;
        Ok(facts)
    }

    /// One surge, for supervisors and admins (the incident page pre-fills its rule from it).
    pub async fn surge(&self, p: &Principal, id: i64) -> Result<SurgeRow, ServiceError> {
        supervisor_only(p)?;
        self.store
            .surge(id)
            .await?
            .ok_or(ServiceError::NotFound("surge"))
    }

    /// The surges of the last week, newest first; dismissed ones too when asked.
    pub async fn surges(
        &self,
        p: &Principal,
        include_dismissed: bool,
    ) -> Result<Vec<SurgeRow>, ServiceError> {
        supervisor_only(p)?;
        let since = self.now() - Duration::days(LIST_DAYS);
        Ok(self.store.surges(since, include_dismissed, 200).await?)
    }

    /// Dismisses a surge (nothing to do about it); audited. It stays running, so it is not
    /// raised again while its tickets keep coming.
    pub async fn dismiss_surge(&self, p: &Principal, id: i64) -> Result<SurgeRow, ServiceError> {
        supervisor_only(p)?;
        let agent = match p {
            Principal::Agent { id, .. } => Some(*id),
            _ => None,
        };
        self.store
            .surge(id)
            .await?
            .ok_or(ServiceError::NotFound("surge"))?;
        if !self.store.dismiss_surge(id, agent, self.now()).await? {
            return Err(ServiceError::Conflict(
                "the surge was already dismissed".into(),
            ));
        }
        self.store
            .audit(NewAuditEntry {
                actor: p.actor().to_string(),
                action: "surge.dismiss".into(),
                target: format!("surge:{id}"),
                ip: None,
                detail: serde_json::json!({}),
            })
            .await?;
        self.store
            .surge(id)
            .await?
            .ok_or(ServiceError::NotFound("surge"))
    }
}
