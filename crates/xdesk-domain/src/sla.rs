//! SLA clocks on business calendars. A calendar is 24/7 or working hours per weekday in a time
//! zone, minus holidays (importable from iCal). A clock measures working time towards a
//! target, pauses while the ticket waits on the customer, and says when it is due. Everything
//! is plain computation on instants; the service stores clocks and fires timers.

use crate::ticket::Priority;
use crate::triage::Intent;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;

/// How far ahead a calendar is searched for working time before it is declared to have none.
const HORIZON_DAYS: i64 = 3_660;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("unknown time zone {0:?}")]
    TimeZone(String),
    #[error("{day}: opening {open} is not before closing {close}")]
    Hours {
        day: &'static str,
        open: NaiveTime,
        close: NaiveTime,
    },
    #[error("a calendar needs working hours on at least one weekday")]
    NoHours,
    #[error("iCal line {line}: {reason}")]
    Ical { line: usize, reason: String },
}

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Working hours on one weekday: opening and closing wall-clock times; a closing time of
/// 00:00 means midnight at the end of the day.
pub type Hours = Option<(NaiveTime, NaiveTime)>;

/// When the support team works.
#[derive(Debug, Clone, PartialEq)]
pub enum Calendar {
    /// Around the clock, every day.
    Always,
    Business {
        tz: Tz,
        /// Monday first.
        week: [Hours; 7],
        holidays: BTreeSet<NaiveDate>,
    },
}

fn midnight() -> NaiveTime {
    NaiveTime::MIN
}

/// A wall-clock time in `tz` as an instant. A time the clocks skip (spring forward) moves to
/// the first instant after the gap; a time that happens twice (fall back) is the first.
fn instant(tz: Tz, at: NaiveDateTime) -> DateTime<Utc> {
    let mut t = at;
    for _ in 0..8 {
        if let Some(d) = tz.from_local_datetime(&t).earliest() {
            return d.with_timezone(&Utc);
        }
        t += Duration::minutes(15);
    }
    Utc.from_utc_datetime(&at)
}

impl Calendar {
    /// Working hours in a named IANA time zone (`Asia/Shanghai`), Monday first.
    pub fn business(
        tz: &str,
        week: [Hours; 7],
        holidays: impl IntoIterator<Item = NaiveDate>,
    ) -> Result<Calendar, CalendarError> {
        let tz: Tz = tz
            .parse()
            .map_err(|_| CalendarError::TimeZone(tz.to_owned()))?;
        for (i, h) in week.iter().enumerate() {
            if let Some((open, close)) = *h
                && close != midnight()
                && open >= close
            {
                return Err(CalendarError::Hours {
                    day: DAYS[i],
                    open,
                    close,
                });
            }
        }
        if week.iter().all(Option::is_none) {
            return Err(CalendarError::NoHours);
        }
        Ok(Calendar::Business {
            tz,
            week,
            holidays: holidays.into_iter().collect(),
        })
    }

    /// The working interval of a local date, as instants, if it has one.
    fn interval(&self, date: NaiveDate) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let Calendar::Business { tz, week, holidays } = self else {
            return None;
        };
        if holidays.contains(&date) {
            return None;
        }
        let (open, close) = week[date.weekday().num_days_from_monday() as usize]?;
        let start = instant(*tz, date.and_time(open));
        let end = if close == midnight() {
            instant(*tz, date.succ_opt()?.and_time(midnight()))
        } else {
            instant(*tz, date.and_time(close))
        };
        (start < end).then_some((start, end))
    }

    fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        match self {
            Calendar::Always => t.date_naive(),
            Calendar::Business { tz, .. } => t.with_timezone(tz).date_naive(),
        }
    }

    /// The instant `work` of working time after `start`; None if the calendar has no working
    /// time within ten years (every day a holiday).
    pub fn add(&self, start: DateTime<Utc>, work: Duration) -> Option<DateTime<Utc>> {
        if matches!(self, Calendar::Always) {
            return Some(start + work);
        }
        let mut left = work.max(Duration::zero());
        // The day before too: its interval may run past midnight in UTC terms.
        let mut date = self.local_date(start).pred_opt()?;
        for _ in 0..HORIZON_DAYS {
            if let Some((a, b)) = self.interval(date) {
                let a = a.max(start);
                if b > a {
                    if b - a >= left {
                        return Some(a + left);
                    }
                    left -= b - a;
                }
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// Working time between two instants (zero if `to` is not after `from`).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        if to <= from {
            return Duration::zero();
        }
        if matches!(self, Calendar::Always) {
            return to - from;
        }
        let mut sum = Duration::zero();
        let (Some(mut date), last) = (self.local_date(from).pred_opt(), self.local_date(to)) else {
            return sum;
        };
        while date <= last {
            if let Some((a, b)) = self.interval(date) {
                let (a, b) = (a.max(from), b.min(to));
                if b > a {
                    sum += b - a;
                }
            }
            let Some(next) = date.succ_opt() else { break };
            date = next;
        }
        sum
    }
}

/// The most days (each year of a yearly event counted) an iCalendar file may expand to: a
/// country's holidays for ten years are a few hundred. Without a bound, 64 KiB of year-long,
/// yearly events (3,660 days each) took over 50 ms to read.
pub const MAX_ICAL_DAYS: i64 = 20_000;

/// Holidays from an iCalendar file: the dates of every `VEVENT` (all-day `DTSTART;VALUE=DATE`
/// or date-times, whose date counts), multi-day events to their exclusive `DTEND`, and
/// `RRULE:FREQ=YEARLY` repeated for ten years. Folded lines are unfolded.
pub fn ical_holidays(ics: &str) -> Result<Vec<NaiveDate>, CalendarError> {
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (n, raw) in ics.lines().enumerate() {
        let raw = raw.trim_end_matches('\r');
        match (
            raw.strip_prefix(' ').or_else(|| raw.strip_prefix('\t')),
            lines.last_mut(),
        ) {
            (Some(rest), Some((_, prev))) => prev.push_str(rest),
            _ => lines.push((n + 1, raw.to_owned())),
        }
    }
    let date_of = |line: usize, v: &str| {
        let d = v.get(..8).unwrap_or(v);
        NaiveDate::parse_from_str(d, "%Y%m%d").map_err(|_| CalendarError::Ical {
            line,
            reason: format!("not a date: {v:?}"),
        })
    };
    let mut out = BTreeSet::new();
    // Days added so far, repeats counted: bounds the work an uploaded file can ask for.
    let mut expanded: i64 = 0;
    let mut event: Option<(Option<NaiveDate>, Option<NaiveDate>, bool)> = None;
    for (n, line) in &lines {
        let (name, value) = line.split_once(':').unwrap_or((line.as_str(), ""));
        let key = name.split(';').next().unwrap_or(name).to_ascii_uppercase();
        match (key.as_str(), &mut event) {
            ("BEGIN", _) if value.eq_ignore_ascii_case("VEVENT") => {
                event = Some((None, None, false))
            }
            ("DTSTART", Some(e)) => e.0 = Some(date_of(*n, value)?),
            ("DTEND", Some(e)) => e.1 = Some(date_of(*n, value)?),
            ("RRULE", Some(e)) => e.2 = value.to_ascii_uppercase().contains("FREQ=YEARLY"),
            ("END", Some(e)) if value.eq_ignore_ascii_case("VEVENT") => {
                let Some(start) = e.0 else {
                    return Err(CalendarError::Ical {
                        line: *n,
                        reason: "an event without DTSTART".into(),
                    });
                };
                let days = e.1.map_or(1, |end| (end - start).num_days().clamp(1, 366));
                let years = if e.2 { 10 } else { 1 };
                expanded += days * i64::from(years);
                if expanded > MAX_ICAL_DAYS {
                    return Err(CalendarError::Ical {
                        line: *n,
                        reason: format!(
                            "more than {MAX_ICAL_DAYS} holiday days (repeats counted); is this a holiday calendar?"
                        ),
                    });
                }
                for y in 0..years {
                    let Some(first) = start.with_year(start.year() + y) else {
                        continue;
                    };
                    for d in 0..days {
                        out.insert(first + Duration::days(d));
                    }
                }
                event = None;
            }
            _ => {}
        }
    }
    Ok(out.into_iter().collect())
}

/// A promise measured in working time: running, paused (waiting on the customer), or met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub target: Duration,
    /// Working time used before the current run.
    pub used: Duration,
    /// Since when it runs; None while paused or stopped.
    pub running_since: Option<DateTime<Utc>>,
    /// When the promise was kept, if it was.
    pub met_at: Option<DateTime<Utc>>,
}

/// Where a clock stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockState {
    Running,
    Paused,
    Met,
    Breached,
}

impl Clock {
    pub fn start(at: DateTime<Utc>, target: Duration) -> Clock {
        Clock {
            target,
            used: Duration::zero(),
            running_since: Some(at),
            met_at: None,
        }
    }

    /// Working time used by `now`.
    pub fn used_at(&self, cal: &Calendar, now: DateTime<Utc>) -> Duration {
        self.used
            + self
                .running_since
                .map_or(Duration::zero(), |s| cal.between(s, now))
    }

    /// Stops counting while the ticket waits on the customer.
    pub fn pause(&mut self, cal: &Calendar, now: DateTime<Utc>) {
        if self.running_since.is_some() {
            self.used = self.used_at(cal, now);
            self.running_since = None;
        }
    }

    /// Counts again (the customer answered).
    pub fn resume(&mut self, now: DateTime<Utc>) {
        if self.running_since.is_none() && self.met_at.is_none() {
            self.running_since = Some(now);
        }
    }

    /// The promise was kept (an answer sent, the ticket solved).
    pub fn meet(&mut self, cal: &Calendar, now: DateTime<Utc>) {
        self.pause(cal, now);
        self.met_at.get_or_insert(now);
    }

    /// When it breaches if it keeps running; None while paused or met.
    pub fn due(&self, cal: &Calendar) -> Option<DateTime<Utc>> {
        let since = self.running_since?;
        if self.met_at.is_some() {
            return None;
        }
        cal.add(since, (self.target - self.used).max(Duration::zero()))
    }

    /// When to warn before the breach: once `share` (0-1) of the target is used.
    pub fn warn_at(&self, cal: &Calendar, share: f64) -> Option<DateTime<Utc>> {
        let since = self.running_since?;
        if self.met_at.is_some() {
            return None;
        }
        let at = Duration::seconds((self.target.num_seconds() as f64 * share) as i64);
        (at > self.used)
            .then(|| cal.add(since, at - self.used))
            .flatten()
    }

    pub fn state(&self, cal: &Calendar, now: DateTime<Utc>) -> ClockState {
        let over = |used: Duration| used >= self.target;
        match (self.met_at, self.running_since) {
            (Some(_), _) if over(self.used) => ClockState::Breached,
            (Some(_), _) => ClockState::Met,
            (None, _) if over(self.used_at(cal, now)) => ClockState::Breached,
            (None, Some(_)) => ClockState::Running,
            (None, None) => ClockState::Paused,
        }
    }
}

/// What a team promises for a kind of ticket. Conditions left `None` match anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub priority: Option<Priority>,
    pub intent: Option<Intent>,
    pub tier: Option<String>,
    pub first_response: Duration,
    /// After each customer message that follows an answer.
    pub next_response: Duration,
    pub resolution: Duration,
}

impl Policy {
    /// How many conditions it has, if all of them hold; None if one does not.
    fn fit(&self, priority: Priority, intent: Option<Intent>, tier: Option<&str>) -> Option<u8> {
        let mut n = 0;
        if let Some(p) = self.priority {
            (p == priority).then_some(())?;
            n += 1;
        }
        if let Some(i) = self.intent {
            (Some(i) == intent).then_some(())?;
            n += 1;
        }
        if let Some(t) = &self.tier {
            tier.is_some_and(|x| x.eq_ignore_ascii_case(t))
                .then_some(())?;
            n += 1;
        }
        Some(n)
    }
}

/// The policy for a ticket: of those whose conditions all hold, the most specific; the first
/// listed among equally specific ones.
pub fn choose_policy<'a>(
    policies: &'a [Policy],
    priority: Priority,
    intent: Option<Intent>,
    tier: Option<&str>,
) -> Option<&'a Policy> {
    let mut best: Option<(&Policy, u8)> = None;
    for p in policies {
        if let Some(n) = p.fit(priority, intent, tier)
            && best.is_none_or(|(_, b)| n > b)
        {
            best = Some((p, n));
        }
    }
    best.map(|(p, _)| p)
}

/// At a breach the ticket's priority goes up one step (urgent stays urgent).
pub fn raised(p: Priority) -> Priority {
    match p {
        Priority::Low => Priority::Normal,
        Priority::Normal => Priority::High,
        Priority::High | Priority::Urgent => Priority::Urgent,
    }
}

/// How near a promise is to breaking, as the inbox colours its due time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueLevel {
    /// Time to spare.
    Ok,
    /// Within an hour of its due time, or of a fifth of its target if that is less: act now.
    Near,
    /// Due time passed (or the breach was recorded).
    Breached,
}

impl DueLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            DueLevel::Ok => "ok",
            DueLevel::Near => "near",
            DueLevel::Breached => "breached",
        }
    }
}

/// Where a running clock due at `due_at`, with `target` to meet it in, stands at `now`.
pub fn due_level(
    due_at: DateTime<Utc>,
    target: Duration,
    breached: bool,
    now: DateTime<Utc>,
) -> DueLevel {
    if breached || now >= due_at {
        return DueLevel::Breached;
    }
    let margin = Duration::hours(1).min(target / 5);
    if due_at - now <= margin {
        DueLevel::Near
    } else {
        DueLevel::Ok
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn policy(
        name: &str,
        priority: Option<Priority>,
        intent: Option<Intent>,
        tier: Option<&str>,
    ) -> Policy {
        Policy {
            name: name.into(),
            priority,
            intent,
            tier: tier.map(str::to_owned),
            first_response: Duration::hours(4),
            next_response: Duration::hours(8),
            resolution: Duration::hours(48),
        }
    }

    #[test]
    fn the_most_specific_policy_applies() {
        let ps = [
            policy("default", None, None, None),
            policy("urgent", Some(Priority::Urgent), None, None),
            policy("vip urgent", Some(Priority::Urgent), None, Some("vip")),
            policy("stolen", None, Some(Intent::AccountCompromised), None),
            policy("also default", None, None, None),
        ];
        let name = |p: Priority, i: Option<Intent>, t: Option<&str>| {
            choose_policy(&ps, p, i, t).map(|p| p.name.as_str())
        };
        assert_eq!(name(Priority::Normal, None, None), Some("default"));
        assert_eq!(name(Priority::Urgent, None, None), Some("urgent"));
        assert_eq!(
            name(Priority::Urgent, None, Some("VIP")),
            Some("vip urgent")
        );
        assert_eq!(
            name(
                Priority::Normal,
                Some(Intent::AccountCompromised),
                Some("vip")
            ),
            Some("stolen")
        );
        // Equally specific: the first listed.
        assert_eq!(
            name(Priority::Urgent, Some(Intent::AccountCompromised), None),
            Some("urgent")
        );
        assert_eq!(choose_policy(&ps[1..2], Priority::Low, None, None), None);
    }

    #[test]
    fn a_breach_raises_the_priority_one_step() {
        assert_eq!(raised(Priority::Low), Priority::Normal);
        assert_eq!(raised(Priority::Normal), Priority::High);
        assert_eq!(raised(Priority::High), Priority::Urgent);
        assert_eq!(raised(Priority::Urgent), Priority::Urgent);
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn hm(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn weekdays(open: NaiveTime, close: NaiveTime) -> [Hours; 7] {
        let d = Some((open, close));
        [d, d, d, d, d, None, None]
    }

    fn shanghai(holidays: &[NaiveDate]) -> Calendar {
        Calendar::business(
            "Asia/Shanghai",
            weekdays(hm(9, 0), hm(18, 0)),
            holidays.iter().copied(),
        )
        .unwrap()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn around_the_clock_is_plain_time() {
        let c = Calendar::Always;
        let s = t("2026-11-21T23:30:00Z");
        assert_eq!(
            c.add(s, Duration::hours(2)),
            Some(t("2026-11-22T01:30:00Z"))
        );
        assert_eq!(c.between(s, t("2026-11-22T01:30:00Z")), Duration::hours(2));
        assert_eq!(c.between(t("2026-11-22T01:30:00Z"), s), Duration::zero());
    }

    #[test]
    fn friday_evening_runs_into_monday() {
        let c = shanghai(&[]);
        // Friday 2026-11-20 17:00 in Shanghai is 09:00 UTC; two working hours end Monday 10:00.
        let due = c
            .add(t("2026-11-20T09:00:00Z"), Duration::hours(2))
            .unwrap();
        assert_eq!(due, t("2026-11-23T02:00:00Z"));
        assert_eq!(
            c.between(t("2026-11-20T09:00:00Z"), due),
            Duration::hours(2)
        );
    }

    #[test]
    fn the_weekend_and_the_night_count_nothing() {
        let c = shanghai(&[]);
        // Saturday noon: the clock starts Monday 09:00.
        let due = c
            .add(t("2026-11-21T04:00:00Z"), Duration::minutes(30))
            .unwrap();
        assert_eq!(due, t("2026-11-23T01:30:00Z"));
        // Exactly at closing time: the next morning.
        let due = c
            .add(t("2026-11-23T10:00:00Z"), Duration::minutes(1))
            .unwrap();
        assert_eq!(due, t("2026-11-24T01:01:00Z"));
        assert_eq!(
            c.between(t("2026-11-20T10:00:00Z"), t("2026-11-23T01:00:00Z")),
            Duration::zero()
        );
    }

    #[test]
    fn holidays_are_skipped() {
        let c = shanghai(&[day(2026, 11, 23)]);
        let due = c
            .add(t("2026-11-20T09:00:00Z"), Duration::hours(2))
            .unwrap();
        assert_eq!(due, t("2026-11-24T02:00:00Z"));
    }

    #[test]
    fn working_hours_follow_the_wall_clock_across_daylight_saving() {
        // New York springs forward on Sunday 2026-03-08: Friday is UTC-5, Monday UTC-4.
        let c = Calendar::business("America/New_York", weekdays(hm(9, 0), hm(17, 0)), []).unwrap();
        let due = c
            .add(t("2026-03-06T21:00:00Z"), Duration::hours(2))
            .unwrap();
        assert_eq!(due, t("2026-03-09T14:00:00Z"), "Monday 10:00 EDT");
        // And falls back on Sunday 2026-11-01.
        let due = c
            .add(t("2026-10-30T20:00:00Z"), Duration::hours(2))
            .unwrap();
        assert_eq!(due, t("2026-11-02T15:00:00Z"), "Monday 10:00 EST");
    }

    #[test]
    fn a_whole_day_calendar_has_a_short_day_when_clocks_spring_forward() {
        let all = Some((hm(0, 0), hm(0, 0)));
        let c = Calendar::business("America/New_York", [all; 7], []).unwrap();
        // 24 working hours from Saturday noon EST: Sunday has only 23 hours, so the clock
        // reads 13:00 EDT on Sunday, which is 24 real hours later.
        let start = t("2026-03-07T17:00:00Z");
        let due = c.add(start, Duration::hours(24)).unwrap();
        assert_eq!(due, t("2026-03-08T17:00:00Z"));
        assert_eq!(c.between(start, due), Duration::hours(24));
    }

    #[test]
    fn bad_calendars_are_refused() {
        assert!(matches!(
            Calendar::business("Mars/Olympus", weekdays(hm(9, 0), hm(17, 0)), []),
            Err(CalendarError::TimeZone(_))
        ));
        assert!(matches!(
            Calendar::business("UTC", weekdays(hm(17, 0), hm(9, 0)), []),
            Err(CalendarError::Hours { day: "mon", .. })
        ));
        assert_eq!(
            Calendar::business("UTC", [None; 7], []),
            Err(CalendarError::NoHours)
        );
    }

    #[test]
    fn a_calendar_of_holidays_only_never_comes_due() {
        let d = Some((hm(9, 0), hm(10, 0)));
        let start = day(2026, 1, 1);
        let every_day = (0..4_000).map(|i| start + Duration::days(i));
        let c = Calendar::business("UTC", [d; 7], every_day).unwrap();
        assert_eq!(c.add(t("2026-01-01T00:00:00Z"), Duration::hours(1)), None);
    }

    #[test]
    fn ical_holidays_are_bounded() {
        // Found by xdesk-fuzz: 64 KiB of events a year long repeated yearly for ten years.
        let event =
            "BEGIN:VEVENT\nDTSTART:20260101\nDTEND:20270101\nRRULE:FREQ=YEARLY\nEND:VEVENT\n";
        let many = event.repeat(65_536 / event.len());
        assert!(matches!(
            ical_holidays(&many),
            Err(CalendarError::Ical { line: 30, .. })
        ));
        // Five of them (18,300 days) are still read.
        let days = ical_holidays(&event.repeat(5)).unwrap();
        assert_eq!(days.len(), 365 * 10);
    }

    #[test]
    fn ical_holidays_are_read() {
        let ics = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20261001\r\nDTEND;VALUE=DATE:20261004\r\nSUMMARY:National\r\n  Day\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nDTSTART:20261225T000000Z\r\nRRULE:FREQ=YEARLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let days = ical_holidays(ics).unwrap();
        assert!(days.contains(&day(2026, 10, 1)));
        assert!(days.contains(&day(2026, 10, 3)));
        assert!(!days.contains(&day(2026, 10, 4)), "DTEND is exclusive");
        assert!(days.contains(&day(2026, 12, 25)));
        assert!(days.contains(&day(2030, 12, 25)), "yearly");
        let bad = "BEGIN:VEVENT\nDTSTART;VALUE=DATE:2026-10-01\nEND:VEVENT\n";
        assert!(matches!(
            ical_holidays(bad),
            Err(CalendarError::Ical { line: 2, .. })
        ));
        assert!(ical_holidays("BEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\n").is_err());
    }

    #[test]
    fn a_clock_pauses_while_waiting_on_the_customer() {
        let c = shanghai(&[]);
        // Monday 10:00 local, four working hours to answer.
        let mut clock = Clock::start(t("2026-11-23T02:00:00Z"), Duration::hours(4));
        assert_eq!(clock.due(&c), Some(t("2026-11-23T06:00:00Z")));
        // After one hour the agent asks the customer something: paused.
        clock.pause(&c, t("2026-11-23T03:00:00Z"));
        assert_eq!(clock.due(&c), None);
        assert_eq!(
            clock.state(&c, t("2026-11-25T00:00:00Z")),
            ClockState::Paused
        );
        // The customer answers Tuesday 17:00 local: one hour left today, two Wednesday.
        clock.resume(t("2026-11-24T09:00:00Z"));
        assert_eq!(clock.due(&c), Some(t("2026-11-25T03:00:00Z")));
        assert_eq!(clock.warn_at(&c, 0.75), Some(t("2026-11-25T02:00:00Z")));
        assert_eq!(
            clock.state(&c, t("2026-11-25T02:59:00Z")),
            ClockState::Running
        );
        assert_eq!(
            clock.state(&c, t("2026-11-25T03:00:00Z")),
            ClockState::Breached
        );
        clock.meet(&c, t("2026-11-25T02:30:00Z"));
        assert_eq!(clock.state(&c, t("2026-11-26T00:00:00Z")), ClockState::Met);
        assert_eq!(clock.due(&c), None);
        // Met late is still a breach.
        let mut late = Clock::start(t("2026-11-23T02:00:00Z"), Duration::hours(1));
        late.meet(&c, t("2026-11-23T04:00:00Z"));
        assert_eq!(
            late.state(&c, t("2026-11-24T00:00:00Z")),
            ClockState::Breached
        );
    }

    proptest::proptest! {
        #[test]
        fn adding_then_measuring_gives_back_the_work(
            start in 1_767_225_600i64..1_830_297_600i64,
            minutes in 0i64..20_000,
        ) {
            let c = Calendar::business(
                "America/New_York",
                [Some((hm(8, 30), hm(17, 45))), Some((hm(8, 30), hm(17, 45))),
                 Some((hm(8, 30), hm(17, 45))), Some((hm(8, 30), hm(17, 45))),
                 Some((hm(8, 30), hm(12, 0))), None, Some((hm(10, 0), hm(0, 0)))],
                [day(2026, 12, 25), day(2027, 1, 1)],
            ).unwrap();
            let start = DateTime::from_timestamp(start, 0).unwrap();
            let work = Duration::minutes(minutes);
            let due = c.add(start, work).unwrap();
            proptest::prop_assert!(due >= start);
            proptest::prop_assert_eq!(c.between(start, due), work);
        }
    }

    /// Amber within an hour of a long target's due time, within a fifth of a short one's; red
    /// once due or recorded as breached.
    #[test]
    fn due_levels_follow_the_margin() {
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 10, 0, 0).unwrap();
        let at = |m: i64| now + Duration::minutes(m);
        let day = Duration::hours(24);
        assert_eq!(due_level(at(61), day, false, now), DueLevel::Ok);
        assert_eq!(due_level(at(60), day, false, now), DueLevel::Near);
        assert_eq!(due_level(at(1), day, false, now), DueLevel::Near);
        assert_eq!(due_level(at(0), day, false, now), DueLevel::Breached);
        assert_eq!(due_level(at(-5), day, false, now), DueLevel::Breached);
        assert_eq!(due_level(at(120), day, true, now), DueLevel::Breached);
        // A 30-minute target turns amber at 6 minutes left, not for its whole life.
        let short = Duration::minutes(30);
        assert_eq!(due_level(at(7), short, false, now), DueLevel::Ok);
        assert_eq!(due_level(at(6), short, false, now), DueLevel::Near);
    }
}
