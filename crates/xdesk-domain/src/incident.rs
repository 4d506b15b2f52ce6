//! Incidents and the public status page: components and their states, incidents and scheduled
//! maintenance with their statuses, the bilingual text of public updates, the rule that links
//! new tickets to an open incident, and what the status page derives from them (the overall
//! indicator, a bar per component per day). Names follow Atlassian Statuspage's public API, so
//! tools that read a Statuspage page read xdesk's.

use crate::FieldError;
use crate::crypto::{Asset, Network};
use crate::ticket::string_enum;
use crate::triage::Intent;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

string_enum!(
    /// How a component is doing, worst last but one (maintenance is planned, not a failure).
    ComponentStatus, "status", "invalid_component_status" {
        Operational => "operational",
        DegradedPerformance => "degraded_performance",
        PartialOutage => "partial_outage",
        MajorOutage => "major_outage",
        UnderMaintenance => "under_maintenance",
    }
);

impl ComponentStatus {
    /// Rank for "the worst of": an outage outweighs maintenance, maintenance outweighs nothing.
    pub fn severity(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    pub fn worst(a: Self, b: Self) -> Self {
        if b.severity() > a.severity() { b } else { a }
    }
}

string_enum!(
    /// How much of the exchange an incident touches.
    Impact, "impact", "invalid_impact" {
        None => "none",
        Minor => "minor",
        Major => "major",
        Critical => "critical",
    }
);

string_enum!(
    /// An incident or a maintenance window.
    IncidentKind, "kind", "invalid_incident_kind" {
        Incident => "incident",
        Maintenance => "maintenance",
    }
);

string_enum!(
    /// Where an incident (the first four) or a scheduled maintenance (the last four) stands.
    IncidentStatus, "status", "invalid_incident_status" {
        Investigating => "investigating",
        Identified => "identified",
        Monitoring => "monitoring",
        Resolved => "resolved",
        Scheduled => "scheduled",
        InProgress => "in_progress",
        Verifying => "verifying",
        Completed => "completed",
    }
);

impl IncidentStatus {
    /// Over: no more updates are broadcast, linked tickets no longer wait on it.
    pub fn is_final(self) -> bool {
        matches!(self, IncidentStatus::Resolved | IncidentStatus::Completed)
    }

    /// The statuses an incident of `kind` may take.
    pub fn valid_for(self, kind: IncidentKind) -> bool {
        use IncidentStatus::*;
        match kind {
            IncidentKind::Incident => {
                matches!(self, Investigating | Identified | Monitoring | Resolved)
            }
            IncidentKind::Maintenance => {
                matches!(self, Scheduled | InProgress | Verifying | Completed)
            }
        }
    }

    /// Whether an incident may move from `self` to `to`: any open status to any other of its
    /// kind, never out of a final one (a second resolution is refused, not repeated).
    pub fn transition(self, to: IncidentStatus, kind: IncidentKind) -> Result<Self, FieldError> {
        if !to.valid_for(kind) {
            return Err(FieldError::new(
                "status",
                "invalid_incident_status",
                format!("a {kind} cannot be `{to}`"),
            ));
        }
        if self.is_final() {
            return Err(FieldError::new(
                "status",
                "incident_closed",
                format!("this {kind} is already {self}; open a new one"),
            ));
        }
        Ok(to)
    }
}

/// Text in English and Chinese; a customer reads their language, or the other when it is
/// missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bilingual {
    #[serde(default)]
    pub en: String,
    #[serde(default)]
    pub zh: String,
}

impl Bilingual {
    /// Longest text kept for one language of a title or an update.
    pub const MAX_CHARS: usize = 20_000;

    pub fn new(en: impl Into<String>, zh: impl Into<String>) -> Self {
        Self {
            en: en.into(),
            zh: zh.into(),
        }
    }

    /// Trimmed, with at least one language present and none too long.
    pub fn parse(field: &str, en: &str, zh: &str, max_chars: usize) -> Result<Self, FieldError> {
        let (en, zh) = (en.trim(), zh.trim());
        if en.is_empty() && zh.is_empty() {
            return Err(FieldError::new(
                field,
                "text_required",
                "write the text in English, Chinese or both",
            ));
        }
        for (lang, t) in [("en", en), ("zh", zh)] {
            if t.chars().count() > max_chars {
                return Err(FieldError::new(
                    format!("{field}_{lang}"),
                    "too_long",
                    format!("at most {max_chars} characters"),
                ));
            }
        }
        Ok(Self::new(en, zh))
    }

    /// The text for a reader of `language` (`zh`, `zh-CN`, … read Chinese).
    pub fn for_language(&self, language: &str) -> &str {
        Self::pick(&self.en, &self.zh, language)
    }

    /// [`Self::for_language`] over two texts held elsewhere (a stored row's columns).
    pub fn pick<'a>(en: &'a str, zh: &'a str, language: &str) -> &'a str {
        let (mine, other) = if language.starts_with("zh") {
            (zh, en)
        } else {
            (en, zh)
        };
        if mine.is_empty() { other } else { mine }
    }
}

/// The parts of a ticket a match rule reads.
#[derive(Debug, Clone, Default)]
pub struct TicketFacts<'a> {
    pub intent: Option<&'a str>,
    pub network: Option<&'a str>,
    pub asset: Option<&'a str>,
    /// Subject and first message.
    pub text: &'a str,
    pub created_at: DateTime<Utc>,
}

/// What tickets about a component look like: a component with neither says nothing about
/// tickets and is matched by none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComponentScope {
    pub id: i64,
    pub parent_id: Option<i64>,
    pub network: Option<String>,
    #[serde(default)]
    pub intents: Vec<String>,
}

impl ComponentScope {
    fn concerns(&self, t: &TicketFacts<'_>) -> bool {
        if self.network.is_none() && self.intents.is_empty() {
            return false;
        }
        let network_ok = match &self.network {
            Some(n) => t.network == Some(n.as_str()),
            None => true,
        };
        let intent_ok = self.intents.is_empty()
            || t.intent
                .is_some_and(|i| self.intents.iter().any(|x| x == i));
        network_ok && intent_ok
    }
}

/// Which new tickets an open incident takes: every dimension given must hold (any of its
/// values); a rule with no dimension would take every ticket and is refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchRule {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub intents: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub networks: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assets: Vec<String>,
    /// Components whose scope (or a sub-component's) the ticket falls in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<i64>,
    /// Any of these words or phrases in the subject or first message (case-insensitive).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub words: Vec<String>,
    /// Tickets created before this are not taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

/// Words shorter than this would match nearly everything ("a", "的").
const MIN_WORD_CHARS: usize = 2;
const MAX_RULE_VALUES: usize = 50;

impl MatchRule {
    /// Canonical values (known intents, networks by their machine names, assets upper case,
    /// words lower case), or a clear error.
    pub fn validate(mut self, known_components: &[i64]) -> Result<Self, FieldError> {
        let err = |field: &str, code: &'static str, reason: String| {
            FieldError::new(format!("rule.{field}"), code, reason)
        };
        for i in &mut self.intents {
            *i = Intent::parse(i.trim())
                .ok_or_else(|| {
                    err(
                        "intents",
                        "unknown_intent",
                        format!("`{i}` is not an intent"),
                    )
                })?
                .as_str()
                .to_owned();
        }
        for n in &mut self.networks {
            *n = Network::from_str(n.trim())
                .map_err(|e| err("networks", e.code, e.reason))?
                .as_str()
                .to_owned();
        }
        for a in &mut self.assets {
            *a = Asset::parse(&a.trim().to_uppercase())
                .map_err(|e| err("assets", e.code, e.reason))?
                .as_str()
                .to_owned();
        }
        for c in &self.components {
            if !known_components.contains(c) {
                return Err(err(
                    "components",
                    "unknown_component",
                    format!("there is no component {c}"),
                ));
            }
        }
        let mut words = Vec::new();
        for w in &self.words {
            let w = w.trim().to_lowercase();
            if w.is_empty() {
                continue;
            }
            if w.chars().count() < MIN_WORD_CHARS {
                return Err(err(
                    "words",
                    "word_too_short",
                    format!("`{w}` is too short to tell tickets apart"),
                ));
            }
            words.push(w);
        }
        self.words = words;
        for v in [
            &mut self.intents,
            &mut self.networks,
            &mut self.assets,
            &mut self.words,
        ] {
            v.sort();
            v.dedup();
        }
        self.components.sort_unstable();
        self.components.dedup();
        let sizes = [
            self.intents.len(),
            self.networks.len(),
            self.assets.len(),
            self.components.len(),
            self.words.len(),
        ];
        if sizes.iter().any(|n| *n > MAX_RULE_VALUES) {
            return Err(err(
                "",
                "rule_too_large",
                format!("at most {MAX_RULE_VALUES} values per kind"),
            ));
        }
        if sizes.iter().all(|n| *n == 0) {
            return Err(err(
                "",
                "rule_matches_everything",
                "a rule needs an intent, a network, an asset, a component or a word; without one it would take every ticket".into(),
            ));
        }
        Ok(self)
    }

    /// Whether a ticket belongs to the incident. `components` is the whole component tree.
    pub fn matches(&self, t: &TicketFacts<'_>, components: &[ComponentScope]) -> bool {
        if self.since.is_some_and(|s| t.created_at < s) {
            return false;
        }
        let any = |values: &[String], v: Option<&str>| {
            values.is_empty() || v.is_some_and(|v| values.iter().any(|x| x.eq_ignore_ascii_case(v)))
        };
        if !any(&self.intents, t.intent)
            || !any(&self.networks, t.network)
            || !any(&self.assets, t.asset)
        {
            return false;
        }
        if !self.components.is_empty()
            && !self
                .components
                .iter()
                .any(|c| subtree(*c, components).any(|s| s.concerns(t)))
        {
            return false;
        }
        if !self.words.is_empty() {
            let text = t.text.to_lowercase();
            if !self.words.iter().any(|w| text.contains(w.as_str())) {
                return false;
            }
        }
        true
    }
}

/// A component and everything under it.
fn subtree(root: i64, all: &[ComponentScope]) -> impl Iterator<Item = &ComponentScope> {
    let mut ids = vec![root];
    let mut i = 0;
    while i < ids.len() {
        let parent = ids[i];
        ids.extend(
            all.iter()
                .filter(|c| c.parent_id == Some(parent))
                .map(|c| c.id),
        );
        i += 1;
        if ids.len() > all.len() + 1 {
            break;
        }
    }
    all.iter().filter(move |c| ids.contains(&c.id))
}

/// Whether a component may hang under `parent` without making a loop.
pub fn parent_allowed(id: i64, parent: Option<i64>, all: &[ComponentScope]) -> bool {
    let mut at = parent;
    let mut steps = 0;
    while let Some(p) = at {
        if p == id || steps > all.len() {
            return false;
        }
        at = all.iter().find(|c| c.id == p).and_then(|c| c.parent_id);
        steps += 1;
    }
    true
}

string_enum!(
    /// The page's one-word summary, as Statuspage's `status.indicator`.
    Indicator, "indicator", "invalid_indicator" {
        None => "none",
        Minor => "minor",
        Major => "major",
        Critical => "critical",
        Maintenance => "maintenance",
    }
);

impl Indicator {
    /// The words Statuspage shows for each indicator.
    pub fn description(self, language: &str) -> &'static str {
        let zh = language.starts_with("zh");
        match (self, zh) {
            (Indicator::None, false) => "All Systems Operational",
            (Indicator::None, true) => "所有系统运行正常",
            (Indicator::Minor, false) => "Minor Service Outage",
            (Indicator::Minor, true) => "部分服务轻微故障",
            (Indicator::Major, false) => "Partial System Outage",
            (Indicator::Major, true) => "部分系统中断",
            (Indicator::Critical, false) => "Major System Outage",
            (Indicator::Critical, true) => "重大系统中断",
            (Indicator::Maintenance, false) => "Service Under Maintenance",
            (Indicator::Maintenance, true) => "服务维护中",
        }
    }

    /// From the components' states and the impacts of the incidents still open.
    pub fn overall(components: &[ComponentStatus], open_impacts: &[Impact]) -> Indicator {
        let worst_component = components
            .iter()
            .copied()
            .fold(ComponentStatus::Operational, ComponentStatus::worst);
        let worst_impact = open_impacts.iter().map(|i| i.rank()).max().unwrap_or(0);
        let from_component = match worst_component {
            ComponentStatus::MajorOutage => 3,
            ComponentStatus::PartialOutage => 2,
            ComponentStatus::DegradedPerformance => 1,
            _ => 0,
        };
        match worst_impact.max(from_component) {
            3 => Indicator::Critical,
            2 => Indicator::Major,
            1 => Indicator::Minor,
            _ if worst_component == ComponentStatus::UnderMaintenance => Indicator::Maintenance,
            _ => Indicator::None,
        }
    }
}

impl Impact {
    fn rank(self) -> u8 {
        match self {
            Impact::None => 0,
            Impact::Minor => 1,
            Impact::Major => 2,
            Impact::Critical => 3,
        }
    }
}

/// A span during which a component was in a state other than operational (an incident's or a
/// maintenance's effect on it); `until` is `None` while it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spell {
    pub from: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub status: ComponentStatus,
}

/// The worst state of each day in `days` (UTC), operational when no spell touched it: the
/// status page's bar per component per day.
pub fn daily_worst(
    spells: &[Spell],
    days: &[NaiveDate],
    now: DateTime<Utc>,
) -> Vec<ComponentStatus> {
    days.iter()
        .map(|d| {
            let start = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            let end = d
                .succ_opt()
                .and_then(|n| n.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc());
            let (Some(start), Some(end)) = (start, end) else {
                return ComponentStatus::Operational;
            };
            spells
                .iter()
                .filter(|s| s.from < end && s.until.unwrap_or(now) > start && s.from <= now)
                .map(|s| s.status)
                .fold(ComponentStatus::Operational, ComponentStatus::worst)
        })
        .collect()
}

/// Share of the days' time without an outage (degraded and maintenance count as up), as the
/// status page's "99.95 % uptime".
pub fn uptime(spells: &[Spell], from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    let total = (to - from).num_seconds().max(1) as f64;
    let mut down: Vec<(DateTime<Utc>, DateTime<Utc>)> = spells
        .iter()
        .filter(|s| {
            matches!(
                s.status,
                ComponentStatus::PartialOutage | ComponentStatus::MajorOutage
            )
        })
        .map(|s| (s.from.max(from), s.until.unwrap_or(to).min(to)))
        .filter(|(a, b)| a < b)
        .collect();
    down.sort();
    let mut lost = 0i64;
    let mut cur: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for (a, b) in down {
        cur = match cur {
            Some((ca, cb)) if a <= cb => Some((ca, cb.max(b))),
            Some((ca, cb)) => {
                lost += (cb - ca).num_seconds();
                Some((a, b))
            }
            None => Some((a, b)),
        };
    }
    if let Some((a, b)) = cur {
        lost += (b - a).num_seconds();
    }
    (1.0 - lost as f64 / total).clamp(0.0, 1.0)
}

/// What a scheduled maintenance's own timer does at `now`: start when its window opens,
/// complete when it closes. `None` when nothing is due.
pub fn maintenance_step(
    status: IncidentStatus,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<IncidentStatus> {
    match status {
        IncidentStatus::Scheduled if now >= ends_at => Some(IncidentStatus::Completed),
        IncidentStatus::Scheduled if now >= starts_at => Some(IncidentStatus::InProgress),
        IncidentStatus::InProgress | IncidentStatus::Verifying if now >= ends_at => {
            Some(IncidentStatus::Completed)
        }
        _ => None,
    }
}

/// Delivery of one public update to one linked ticket's customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Queued,
    Sent,
    Failed,
    Bounced,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Queued => "queued",
            DeliveryState::Sent => "sent",
            DeliveryState::Failed => "failed",
            DeliveryState::Bounced => "bounced",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, m, 0).unwrap()
    }

    fn facts<'a>(intent: &'a str, network: &'a str, text: &'a str) -> TicketFacts<'a> {
        TicketFacts {
            intent: Some(intent),
            network: Some(network),
            asset: Some("USDT"),
            text,
            created_at: at(12, 0),
        }
    }

    #[test]
    fn an_empty_rule_is_refused_and_values_are_canonical() {
        let e = MatchRule::default().validate(&[]).unwrap_err();
        assert_eq!(e.code, "rule_matches_everything");
        let only_since = MatchRule {
            since: Some(at(1, 0)),
            words: vec!["  ".into()],
            ..Default::default()
        };
        assert_eq!(
            only_since.validate(&[]).unwrap_err().code,
            "rule_matches_everything"
        );
        let r = MatchRule {
            networks: vec!["TRC20".into(), "tron".into()],
            assets: vec!["usdt".into()],
            words: vec!["  Not Arrived ".into()],
            ..Default::default()
        }
        .validate(&[])
        .unwrap();
        assert_eq!(r.networks, vec!["tron"]);
        assert_eq!(r.assets, vec!["USDT"]);
        assert_eq!(r.words, vec!["not arrived"]);
        let bad = MatchRule {
            intents: vec!["deposit_lost".into()],
            ..Default::default()
        };
        assert_eq!(bad.validate(&[]).unwrap_err().code, "unknown_intent");
        let unknown = MatchRule {
            components: vec![9],
            ..Default::default()
        };
        assert_eq!(
            unknown.validate(&[1, 2]).unwrap_err().code,
            "unknown_component"
        );
        let short = MatchRule {
            words: vec!["的".into()],
            ..Default::default()
        };
        assert_eq!(short.validate(&[]).unwrap_err().code, "word_too_short");
    }

    #[test]
    fn every_given_dimension_must_hold() {
        let r = MatchRule {
            intents: vec!["deposit_missing".into()],
            networks: vec!["tron".into()],
            ..Default::default()
        };
        assert!(r.matches(&facts("deposit_missing", "tron", ""), &[]));
        assert!(!r.matches(&facts("deposit_missing", "ethereum", ""), &[]));
        assert!(!r.matches(&facts("withdrawal_delayed", "tron", ""), &[]));
        let words = MatchRule {
            words: vec!["充值未到账".into(), "not credited".into()],
            since: Some(at(11, 0)),
            ..Default::default()
        };
        assert!(words.matches(&facts("other", "tron", "USDT 充值未到账，请帮忙"), &[]));
        assert!(words.matches(&facts("other", "tron", "Deposit NOT CREDITED yet"), &[]));
        assert!(!words.matches(&facts("other", "tron", "withdrawal slow"), &[]));
        let mut early = facts("other", "tron", "not credited");
        early.created_at = at(10, 59);
        assert!(!words.matches(&early, &[]));
    }

    #[test]
    fn a_component_matches_through_its_sub_components() {
        let tree = vec![
            ComponentScope {
                id: 1,
                parent_id: None,
                network: None,
                intents: vec![],
            },
            ComponentScope {
                id: 2,
                parent_id: Some(1),
                network: Some("tron".into()),
                intents: vec!["deposit_missing".into()],
            },
            ComponentScope {
                id: 3,
                parent_id: Some(1),
                network: Some("bitcoin".into()),
                intents: vec!["deposit_missing".into()],
            },
        ];
        let deposits = MatchRule {
            components: vec![1],
            ..Default::default()
        };
        let tron = MatchRule {
            components: vec![2],
            ..Default::default()
        };
        let t = facts("deposit_missing", "tron", "");
        assert!(deposits.matches(&t, &tree));
        assert!(tron.matches(&t, &tree));
        assert!(!tron.matches(&facts("deposit_missing", "bitcoin", ""), &tree));
        assert!(!deposits.matches(&facts("withdrawal_delayed", "tron", ""), &tree));
        assert!(parent_allowed(3, Some(1), &tree));
        assert!(!parent_allowed(1, Some(2), &tree));
        assert!(!parent_allowed(2, Some(2), &tree));
    }

    #[test]
    fn statuses_follow_their_kind_and_a_final_one_stays() {
        use IncidentStatus::*;
        let k = IncidentKind::Incident;
        assert_eq!(Investigating.transition(Monitoring, k).unwrap(), Monitoring);
        assert_eq!(
            Investigating.transition(Scheduled, k).unwrap_err().code,
            "invalid_incident_status"
        );
        assert_eq!(
            Resolved.transition(Resolved, k).unwrap_err().code,
            "incident_closed"
        );
        assert!(
            Scheduled
                .transition(InProgress, IncidentKind::Maintenance)
                .is_ok()
        );
    }

    #[test]
    fn text_is_read_in_the_readers_language_or_the_other() {
        let t = Bilingual::new("Deposits delayed", "充值延迟");
        assert_eq!(t.for_language("zh-CN"), "充值延迟");
        assert_eq!(t.for_language("en"), "Deposits delayed");
        assert_eq!(t.for_language("de"), "Deposits delayed");
        let only_zh = Bilingual::new("", "充值延迟");
        assert_eq!(only_zh.for_language("en"), "充值延迟");
        assert_eq!(
            Bilingual::parse("body", " ", "", 10).unwrap_err().code,
            "text_required"
        );
        assert_eq!(
            Bilingual::parse("body", "x".repeat(11).as_str(), "", 10)
                .unwrap_err()
                .field,
            "body_en"
        );
    }

    #[test]
    fn the_indicator_is_the_worst_of_components_and_open_incidents() {
        use ComponentStatus::*;
        assert_eq!(Indicator::overall(&[Operational], &[]), Indicator::None);
        assert_eq!(
            Indicator::overall(&[Operational, UnderMaintenance], &[]),
            Indicator::Maintenance
        );
        assert_eq!(
            Indicator::overall(&[DegradedPerformance], &[]),
            Indicator::Minor
        );
        assert_eq!(
            Indicator::overall(&[Operational], &[Impact::Major]),
            Indicator::Major
        );
        assert_eq!(
            Indicator::overall(&[MajorOutage], &[Impact::Minor]),
            Indicator::Critical
        );
        assert_eq!(Indicator::None.description("en"), "All Systems Operational");
    }

    #[test]
    fn a_day_shows_the_worst_spell_that_touched_it() {
        let d1 = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        let d2 = d1.succ_opt().unwrap();
        let d3 = d2.succ_opt().unwrap();
        let spells = [
            Spell {
                from: at(10, 0),
                until: Some(at(11, 0)),
                status: ComponentStatus::DegradedPerformance,
            },
            Spell {
                from: at(23, 0),
                until: Some(at(23, 30) + chrono::Duration::hours(1)),
                status: ComponentStatus::MajorOutage,
            },
        ];
        let now = at(12, 0) + chrono::Duration::days(3);
        let bars = daily_worst(&spells, &[d1, d2, d3], now);
        assert_eq!(
            bars,
            vec![
                ComponentStatus::MajorOutage,
                ComponentStatus::MajorOutage,
                ComponentStatus::Operational
            ]
        );
        let open = [Spell {
            from: at(10, 0),
            until: None,
            status: ComponentStatus::PartialOutage,
        }];
        assert_eq!(
            daily_worst(&open, &[d3], now),
            vec![ComponentStatus::PartialOutage]
        );
        let u = uptime(&spells, at(0, 0), at(0, 0) + chrono::Duration::days(1));
        assert!((u - (1.0 - 3600.0 / 86400.0)).abs() < 1e-9, "{u}");
    }

    #[test]
    fn maintenance_starts_and_completes_on_its_own() {
        use IncidentStatus::*;
        assert_eq!(
            maintenance_step(Scheduled, at(2, 0), at(4, 0), at(1, 0)),
            None
        );
        assert_eq!(
            maintenance_step(Scheduled, at(2, 0), at(4, 0), at(2, 0)),
            Some(InProgress)
        );
        assert_eq!(
            maintenance_step(InProgress, at(2, 0), at(4, 0), at(4, 0)),
            Some(Completed)
        );
        assert_eq!(
            maintenance_step(Scheduled, at(2, 0), at(4, 0), at(5, 0)),
            Some(Completed)
        );
        assert_eq!(
            maintenance_step(Completed, at(2, 0), at(4, 0), at(5, 0)),
            None
        );
    }
}
