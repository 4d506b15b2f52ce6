//! What a waiting customer is told: their place in the queue and an estimated wait, from the
//! group's recent pace and who is on duty now, and, when the estimate moves a lot, why, in
//! plain words. "Someone will handle it soon" with no time is the broken promise the seeds
//! complain about; a number with a reason is the fix. No I/O.

/// How the group has been working: what the estimate is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    /// Agents of the group online now.
    pub online_agents: u32,
    /// Tickets the group's agents held and worked on (assigned, answered, solved) in the
    /// last hour.
    pub worked_last_hour: u32,
}

/// Minutes one agent spends on a ticket when the group has no recent pace to go by.
pub const DEFAULT_HANDLE_MINUTES: u32 = 10;

/// A customer's place and expected wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// 1 = next.
    pub position: u32,
    /// `None` while no agent is online: no honest number can be given.
    pub minutes: Option<u32>,
    pub pace: Pace,
}

impl Estimate {
    /// A short form a page keeps to compare the next estimate with: `3.15.2.12`
    /// (position, minutes or `-`, agents online, worked in the last hour).
    pub fn token(&self) -> String {
        let minutes = self
            .minutes
            .map_or_else(|| "-".to_owned(), |m| m.to_string());
        format!(
            "{}.{minutes}.{}.{}",
            self.position, self.pace.online_agents, self.pace.worked_last_hour
        )
    }

    /// Reads [`Estimate::token`] back; anything malformed is `None` (then nothing is
    /// explained).
    pub fn from_token(s: &str) -> Option<Estimate> {
        let mut parts = s.split('.');
        let position = parts.next()?.parse().ok()?;
        let minutes = match parts.next()? {
            "-" => None,
            m => Some(m.parse().ok()?),
        };
        let online_agents = parts.next()?.parse().ok()?;
        let worked_last_hour = parts.next()?.parse().ok()?;
        if parts.next().is_some() {
            return None;
        }
        Some(Estimate {
            position,
            minutes,
            pace: Pace {
                online_agents,
                worked_last_hour,
            },
        })
    }
}

/// The estimate for the ticket at `position`: at the pace of the last hour while agents are
/// on duty (or a default handling time per online agent when the hour was quiet), rounded up
/// to whole minutes, at least one.
pub fn estimate(position: u32, pace: Pace) -> Estimate {
    let minutes = if pace.online_agents == 0 {
        None
    } else {
        let per_hour = if pace.worked_last_hour > 0 {
            u64::from(pace.worked_last_hour)
        } else {
            u64::from(pace.online_agents) * 60 / u64::from(DEFAULT_HANDLE_MINUTES)
        };
        let m = (u64::from(position) * 60).div_ceil(per_hour.max(1)).max(1);
        Some(u32::try_from(m).unwrap_or(u32::MAX))
    };
    Estimate {
        position,
        minutes,
        pace,
    }
}

/// Why an estimate moved, as the customer is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// No agent of the group is online any more.
    NobodyOnline,
    /// Fewer agents are on duty than before.
    FewerAgents,
    /// More agents came on duty.
    MoreAgents,
    /// More urgent cases (money at risk) were placed ahead.
    UrgentAhead,
    /// Agents are taking cases more slowly (long, complex cases).
    SlowerPace,
    /// Cases ahead were taken faster than expected.
    FasterPace,
}

impl Reason {
    /// The sentence shown to the customer, in English or Chinese (`zh…`).
    pub fn words(self, language: &str) -> &'static str {
        let zh = language.starts_with("zh");
        match (self, zh) {
            (Reason::NobodyOnline, false) => {
                "No agent is online right now, so we cannot give a time; your place is kept."
            }
            (Reason::NobodyOnline, true) => {
                "当前没有客服在线，暂时无法给出时间；您的排队位置会保留。"
            }
            (Reason::FewerAgents, false) => {
                "Fewer agents are on duty now (a shift is changing), so the wait is longer."
            }
            (Reason::FewerAgents, true) => "当前值班的客服变少了（正在换班），等待时间变长。",
            (Reason::MoreAgents, false) => "More agents just came on duty, so the wait is shorter.",
            (Reason::MoreAgents, true) => "刚有更多客服上线，等待时间缩短了。",
            (Reason::UrgentAhead, false) => {
                "Urgent cases where customers' funds are at risk were placed ahead of you."
            }
            (Reason::UrgentAhead, true) => "有涉及资金风险的紧急案件排在了您前面。",
            (Reason::SlowerPace, false) => {
                "Agents are working on long cases at the moment, so the queue moves more slowly."
            }
            (Reason::SlowerPace, true) => "客服正在处理较复杂的案件，队列前进变慢。",
            (Reason::FasterPace, false) => "Cases ahead of you were handled faster than expected.",
            (Reason::FasterPace, true) => "排在您前面的案件处理得比预期快。",
        }
    }
}

/// The reason to tell when the estimate changed a lot (by half or more, and by at least
/// five minutes, or to or from no estimate at all); `None` for the small moves a queue
/// always makes.
pub fn explain(before: &Estimate, now: &Estimate) -> Option<Reason> {
    let (b, n) = match (before.minutes, now.minutes) {
        (Some(_), None) => return Some(Reason::NobodyOnline),
        (None, Some(_)) => return Some(Reason::MoreAgents),
        (None, None) => return None,
        (Some(b), Some(n)) => (b, n),
    };
    let moved = b.abs_diff(n);
    if moved < 5 || moved * 2 < b {
        return None;
    }
    let longer = n > b;
    let (ba, na) = (before.pace.online_agents, now.pace.online_agents);
    Some(if longer {
        if now.position > before.position {
            Reason::UrgentAhead
        } else if na < ba {
            Reason::FewerAgents
        } else {
            Reason::SlowerPace
        }
    } else if na > ba {
        Reason::MoreAgents
    } else {
        Reason::FasterPace
    })
}

/// "You are number 3 in the queue; estimated wait about 12 minutes." in the language.
pub fn status_words(e: &Estimate, language: &str) -> String {
    let zh = language.starts_with("zh");
    let wait = match (e.minutes, zh) {
        (None, false) => {
            "no agent is online right now; we will answer as soon as one is".to_owned()
        }
        (None, true) => "当前没有客服在线，客服上线后会尽快回复".to_owned(),
        (Some(m), false) if m >= 120 => format!("estimated wait about {} hours", m.div_ceil(60)),
        (Some(m), true) if m >= 120 => format!("预计等待约 {} 小时", m.div_ceil(60)),
        (Some(1), false) => "estimated wait about 1 minute".to_owned(),
        (Some(m), false) => format!("estimated wait about {m} minutes"),
        (Some(m), true) => format!("预计等待约 {m} 分钟"),
    };
    if zh {
        format!("您目前排在第 {} 位；{wait}。", e.position)
    } else {
        format!("You are number {} in the queue; {wait}.", e.position)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pace(online_agents: u32, worked_last_hour: u32) -> Pace {
        Pace {
            online_agents,
            worked_last_hour,
        }
    }

    #[test]
    fn the_wait_follows_the_last_hours_pace() {
        // 30 taken in the last hour = one every 2 minutes: number 5 waits about 10.
        assert_eq!(estimate(5, pace(3, 30)).minutes, Some(10));
        assert_eq!(estimate(1, pace(3, 30)).minutes, Some(2));
        // A quiet hour: the default handling time per online agent (2 agents, 10 min each).
        assert_eq!(estimate(4, pace(2, 0)).minutes, Some(20));
        // Never "0 minutes".
        assert_eq!(estimate(1, pace(50, 6000)).minutes, Some(1));
        // Nobody online: no number.
        assert_eq!(estimate(1, pace(0, 30)).minutes, None);
    }

    #[test]
    fn small_moves_are_not_explained() {
        let a = estimate(5, pace(3, 30));
        let b = estimate(6, pace(3, 30));
        assert_eq!(explain(&a, &b), None, "2 minutes more");
        let c = estimate(50, pace(3, 30));
        let d = estimate(45, pace(3, 30));
        assert_eq!(explain(&c, &d), None, "100 → 90 minutes: under half");
    }

    #[test]
    fn big_moves_say_why() {
        let before = estimate(5, pace(3, 30));
        // An agent left and the pace halved: the wait doubles.
        let fewer = estimate(5, pace(2, 15));
        assert_eq!(explain(&before, &fewer), Some(Reason::FewerAgents));
        // Urgent cases jumped ahead.
        let urgent = estimate(12, pace(3, 30));
        assert_eq!(explain(&before, &urgent), Some(Reason::UrgentAhead));
        // Same staff, slower pace.
        let slow = estimate(5, pace(3, 10));
        assert_eq!(explain(&before, &slow), Some(Reason::SlowerPace));
        // More agents online.
        let busy = estimate(20, pace(2, 20));
        let more = estimate(20, pace(6, 60));
        assert_eq!(explain(&busy, &more), Some(Reason::MoreAgents));
        let fast = estimate(20, pace(2, 60));
        assert_eq!(explain(&busy, &fast), Some(Reason::FasterPace));
        // To and from nobody online.
        let none = estimate(5, pace(0, 30));
        assert_eq!(explain(&before, &none), Some(Reason::NobodyOnline));
        assert_eq!(explain(&none, &before), Some(Reason::MoreAgents));
        assert_eq!(explain(&none, &none), None);
    }

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        for e in [estimate(3, pace(2, 12)), estimate(1, pace(0, 0))] {
            assert_eq!(Estimate::from_token(&e.token()), Some(e));
        }
        assert_eq!(estimate(3, pace(2, 12)).token(), "3.15.2.12");
        for bad in ["", "3", "3.x.2.12", "3.15.2", "3.15.2.12.9", "-1.15.2.12"] {
            assert_eq!(Estimate::from_token(bad), None, "{bad}");
        }
    }

    #[test]
    fn words_in_both_languages() {
        let e = estimate(3, pace(2, 12));
        assert_eq!(
            status_words(&e, "en"),
            "You are number 3 in the queue; estimated wait about 15 minutes."
        );
        assert_eq!(
            status_words(&e, "zh-Hans"),
            "您目前排在第 3 位；预计等待约 15 分钟。"
        );
        let long = estimate(40, pace(1, 6));
        assert!(status_words(&long, "en").contains("about 7 hours"));
        let none = estimate(2, pace(0, 0));
        assert!(status_words(&none, "en").contains("no agent is online"));
        for r in [
            Reason::NobodyOnline,
            Reason::FewerAgents,
            Reason::MoreAgents,
            Reason::UrgentAhead,
            Reason::SlowerPace,
            Reason::FasterPace,
        ] {
            assert!(r.words("en").is_ascii());
            assert!(!r.words("zh").is_ascii());
        }
    }
}
