//! Assignment: which agent of a group takes a waiting ticket. A group assigns by hand, in
//! turn (round-robin) or to whoever carries the fewest open tickets (least-loaded); either
//! way only agents who are online, speak the ticket's language and have room on its channel
//! are chosen, and among them those with the skill the ticket needs come first. No I/O: the
//! service loads the agents with their load and applies the answer.

use crate::FieldError;
use crate::routing::language_matches;
use crate::ticket::{Channel, string_enum};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

string_enum!(
    /// Whether an agent takes work now. Only `online` agents are assigned tickets.
    AgentStatus, "status", "invalid_status" {
        Online => "online",
        Away => "away",
        Offline => "offline",
    }
);

string_enum!(
    /// How a group hands its waiting tickets to agents.
    Strategy, "assignment", "invalid_assignment" {
        Manual => "manual",
        RoundRobin => "round_robin",
        LeastLoaded => "least_loaded",
    }
);

/// How many open tickets of each channel an agent may hold at once (`chat=3`); a channel not
/// listed has no limit.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capacity(BTreeMap<String, u32>);

impl Capacity {
    /// Parses `chat=3 email=20` (spaces or commas between entries).
    pub fn parse(s: &str) -> Result<Capacity, FieldError> {
        let bad = |m: String| FieldError::new("capacity", "invalid_capacity", m);
        let mut map = BTreeMap::new();
        for entry in s.split([',', ' ']).filter(|e| !e.trim().is_empty()) {
            let (channel, n) = entry
                .split_once('=')
                .ok_or_else(|| bad(format!("`{entry}` is not channel=number, like chat=3")))?;
            let channel = Channel::from_str(channel.trim())
                .map_err(|e| bad(e.reason))?
                .as_str()
                .to_owned();
            let n: u32 = n
                .trim()
                .parse()
                .ok()
                .filter(|n| *n <= 1000)
                .ok_or_else(|| bad(format!("`{n}` is not a number from 0 to 1000")))?;
            map.insert(channel, n);
        }
        Ok(Capacity(map))
    }

    pub fn limit(&self, channel: &str) -> Option<u32> {
        self.0.get(channel).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Capacity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(c, n)| format!("{c}={n}")).collect();
        f.write_str(&parts.join(" "))
    }
}

/// Parses a list of short lowercase words (languages or skills), separated by spaces or
/// commas; duplicates dropped, order kept.
pub fn parse_words(field: &str, s: &str) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for w in s.split([',', ' ']).filter(|w| !w.trim().is_empty()) {
        let w = w.trim();
        let ok = w.len() <= 32
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !ok {
            return Err(FieldError::new(
                field,
                "invalid_word",
                format!("`{w}` is not 1-32 letters, digits, '-' or '_'"),
            ));
        }
        let w = if field == "languages" {
            w.to_owned()
        } else {
            w.to_lowercase()
        };
        if !out.contains(&w) {
            out.push(w);
        }
    }
    Ok(out)
}

/// An agent of the group as the chooser sees them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub agent_id: i64,
    pub status: AgentStatus,
    /// Empty: speaks every language.
    pub languages: Vec<String>,
    pub skills: Vec<String>,
    pub capacity: Capacity,
    /// Open tickets assigned to the agent, per channel.
    pub load: BTreeMap<String, u32>,
    /// When the agent was last given a ticket of this group (any increasing clock, e.g. Unix
    /// microseconds); never: `None`.
    pub last_assigned: Option<i64>,
}

impl Candidate {
    fn total_load(&self) -> u32 {
        self.load.values().sum()
    }

    fn has_room(&self, channel: &str) -> bool {
        self.capacity
            .limit(channel)
            .is_none_or(|max| self.load.get(channel).copied().unwrap_or(0) < max)
    }

    fn speaks(&self, language: &str) -> bool {
        self.languages.is_empty() || self.languages.iter().any(|l| language_matches(language, l))
    }
}

/// What the waiting ticket needs.
#[derive(Debug, Clone, Copy)]
pub struct Need<'a> {
    pub channel: &'a str,
    pub language: &'a str,
    /// The skill that suits it best (the service passes the triaged intent).
    pub skill: Option<&'a str>,
}

/// Why no agent was chosen, for the timeline and the supervisor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoAgent {
    Manual,
    NobodyOnline,
    NoLanguage,
    AllAtCapacity,
}

/// The agent who gets the ticket under `strategy`, or why nobody does.
pub fn choose(
    strategy: Strategy,
    candidates: &[Candidate],
    need: &Need<'_>,
) -> Result<i64, NoAgent> {
    if strategy == Strategy::Manual {
        return Err(NoAgent::Manual);
    }
    let online: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.status == AgentStatus::Online)
        .collect();
    if online.is_empty() {
        return Err(NoAgent::NobodyOnline);
    }
    let speaking: Vec<&Candidate> = online
        .into_iter()
        .filter(|c| c.speaks(need.language))
        .collect();
    if speaking.is_empty() {
        return Err(NoAgent::NoLanguage);
    }
    let free: Vec<&Candidate> = speaking
        .into_iter()
        .filter(|c| c.has_room(need.channel))
        .collect();
    if free.is_empty() {
        return Err(NoAgent::AllAtCapacity);
    }
    let skilled: Vec<&Candidate> = match need.skill {
        Some(s) => free
            .iter()
            .copied()
            .filter(|c| c.skills.iter().any(|k| k == s))
            .collect(),
        None => Vec::new(),
    };
    let pool = if skilled.is_empty() { free } else { skilled };
    // `None` (never assigned) sorts before any time: a newcomer gets the next ticket.
    let chosen = match strategy {
        Strategy::RoundRobin => pool
            .into_iter()
            .min_by_key(|c| (c.last_assigned, c.agent_id)),
        _ => pool
            .into_iter()
            .min_by_key(|c| (c.total_load(), c.last_assigned, c.agent_id)),
    };
    chosen.map(|c| c.agent_id).ok_or(NoAgent::NobodyOnline)
}

/// Whether an agent's tickets go back to the queue: they have been offline (not merely away)
/// for at least `after_minutes` of the group's setting.
pub fn back_to_queue(
    status: AgentStatus,
    offline_since: i64,
    now: i64,
    after_minutes: u32,
) -> bool {
    status == AgentStatus::Offline && now - offline_since >= i64::from(after_minutes) * 60
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn agent(id: i64) -> Candidate {
        Candidate {
            agent_id: id,
            status: AgentStatus::Online,
            languages: Vec::new(),
            skills: Vec::new(),
            capacity: Capacity::default(),
            load: BTreeMap::new(),
            last_assigned: None,
        }
    }

    fn need<'a>(channel: &'a str, language: &'a str, skill: Option<&'a str>) -> Need<'a> {
        Need {
            channel,
            language,
            skill,
        }
    }

    #[test]
    fn manual_groups_assign_nobody() {
        let agents = [agent(1)];
        let n = need("email", "en", None);
        assert_eq!(choose(Strategy::Manual, &agents, &n), Err(NoAgent::Manual));
    }

    #[test]
    fn round_robin_takes_turns_starting_with_the_never_assigned() {
        let mut agents = vec![agent(1), agent(2), agent(3)];
        agents[0].last_assigned = Some(100);
        agents[2].last_assigned = Some(50);
        let n = need("email", "en", None);
        let mut order = Vec::new();
        for t in 200..206 {
            let id = choose(Strategy::RoundRobin, &agents, &n).unwrap();
            order.push(id);
            agents
                .iter_mut()
                .find(|a| a.agent_id == id)
                .unwrap()
                .last_assigned = Some(t);
        }
        assert_eq!(order, vec![2, 3, 1, 2, 3, 1]);
    }

    #[test]
    fn least_loaded_takes_the_emptiest_desk_then_the_longest_idle() {
        let mut agents = vec![agent(1), agent(2), agent(3)];
        agents[0].load.insert("email".into(), 4);
        agents[1].load.insert("chat".into(), 1);
        agents[1].load.insert("email".into(), 1);
        agents[2].load.insert("email".into(), 2);
        let n = need("email", "en", None);
        assert_eq!(choose(Strategy::LeastLoaded, &agents, &n), Ok(2));
        agents[2].load.insert("email".into(), 0);
        agents[2].load.insert("chat".into(), 2);
        agents[1].last_assigned = Some(10);
        agents[2].last_assigned = Some(5);
        // Equal loads (2 and 2): the one idle longer.
        assert_eq!(choose(Strategy::LeastLoaded, &agents, &n), Ok(3));
    }

    #[test]
    fn only_online_agents_are_chosen() {
        let mut agents = vec![agent(1), agent(2)];
        agents[0].status = AgentStatus::Away;
        agents[1].status = AgentStatus::Offline;
        let n = need("chat", "en", None);
        for s in [Strategy::RoundRobin, Strategy::LeastLoaded] {
            assert_eq!(choose(s, &agents, &n), Err(NoAgent::NobodyOnline));
        }
        agents[0].status = AgentStatus::Online;
        assert_eq!(choose(Strategy::RoundRobin, &agents, &n), Ok(1));
    }

    #[test]
    fn the_ticket_language_must_be_spoken() {
        let mut agents = vec![agent(1), agent(2)];
        agents[0].languages = vec!["en".into()];
        agents[1].languages = vec!["zh".into(), "en".into()];
        let zh = need("chat", "zh-Hans", None);
        assert_eq!(choose(Strategy::RoundRobin, &agents, &zh), Ok(2));
        agents[1].languages = vec!["en".into()];
        assert_eq!(
            choose(Strategy::RoundRobin, &agents, &zh),
            Err(NoAgent::NoLanguage)
        );
        // No languages listed: speaks them all.
        agents[0].languages.clear();
        assert_eq!(choose(Strategy::RoundRobin, &agents, &zh), Ok(1));
    }

    #[test]
    fn capacity_is_per_channel() {
        let mut agents = vec![agent(1), agent(2)];
        for a in &mut agents {
            a.capacity = Capacity::parse("chat=3").unwrap();
        }
        agents[0].load.insert("chat".into(), 3);
        agents[1].load.insert("chat".into(), 2);
        agents[1].last_assigned = Some(99);
        let chat = need("chat", "en", None);
        assert_eq!(choose(Strategy::RoundRobin, &agents, &chat), Ok(2));
        agents[1].load.insert("chat".into(), 3);
        assert_eq!(
            choose(Strategy::RoundRobin, &agents, &chat),
            Err(NoAgent::AllAtCapacity)
        );
        // Email has no limit: a full chat desk still takes mail.
        assert_eq!(
            choose(Strategy::RoundRobin, &agents, &need("email", "en", None)),
            Ok(1)
        );
    }

    #[test]
    fn skilled_agents_come_first_and_others_cover_when_none_is_free() {
        let mut agents = vec![agent(1), agent(2)];
        agents[1].skills = vec!["p2p_dispute".into()];
        agents[1].load.insert("web".into(), 9);
        let p2p = need("web", "en", Some("p2p_dispute"));
        assert_eq!(choose(Strategy::LeastLoaded, &agents, &p2p), Ok(2));
        agents[1].status = AgentStatus::Away;
        assert_eq!(choose(Strategy::LeastLoaded, &agents, &p2p), Ok(1));
    }

    #[test]
    fn offline_agents_hand_back_after_the_group_delay() {
        assert!(!back_to_queue(AgentStatus::Offline, 1_000, 1_000 + 299, 5));
        assert!(back_to_queue(AgentStatus::Offline, 1_000, 1_000 + 300, 5));
        assert!(!back_to_queue(AgentStatus::Away, 0, 10_000, 5));
        assert!(!back_to_queue(AgentStatus::Online, 0, 10_000, 5));
    }

    #[test]
    fn settings_parse_with_clear_errors() {
        let c = Capacity::parse("chat=3, email=20").unwrap();
        assert_eq!(
            (c.limit("chat"), c.limit("email"), c.limit("web")),
            (Some(3), Some(20), None)
        );
        assert_eq!(c.to_string(), "chat=3 email=20");
        assert_eq!(Capacity::parse("").unwrap(), Capacity::default());
        assert_eq!(
            Capacity::parse("fax=2").unwrap_err().code,
            "invalid_capacity"
        );
        assert_eq!(
            Capacity::parse("chat").unwrap_err().code,
            "invalid_capacity"
        );
        assert_eq!(
            Capacity::parse("chat=-1").unwrap_err().code,
            "invalid_capacity"
        );
        assert_eq!(
            parse_words("skills", "KYC p2p_dispute kyc").unwrap(),
            vec!["kyc", "p2p_dispute"]
        );
        assert_eq!(
            parse_words("languages", "en, zh-Hant").unwrap(),
            vec!["en", "zh-Hant"]
        );
        assert_eq!(
            parse_words("skills", "a;b").unwrap_err().code,
            "invalid_word"
        );
        assert_eq!(
            Strategy::from_str("round_robin").unwrap(),
            Strategy::RoundRobin
        );
        assert!(AgentStatus::from_str("busy").is_err());
    }
}
