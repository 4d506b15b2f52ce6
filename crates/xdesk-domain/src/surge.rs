//! Surge detection: new tickets about the same thing (one intent on one network or for one
//! asset, or one unusual word) arriving far above their usual rate. When a chain halts or a
//! wallet goes into maintenance, dozens of customers write within minutes; a supervisor who
//! hears of it from the first ten can open an incident before the next hundred wait for
//! answers one by one.
//!
//! The test is deliberately plain, so a supervisor can trust it and the benchmark can measure
//! it: for each key, the tickets of the last 10, 30 and 60 minutes are counted and compared
//! with what the previous days lead one to expect at this hour (a Poisson upper tail with a
//! small p-value, a minimum count and a minimum ratio over expectation). Keys never seen
//! before get a floor rate, so one odd ticket is not news but a burst of a new one is. Pure:
//! the service feeds it facts and a baseline read from storage.

use crate::crypto::Network;
use crate::text::{is_identifier, words_at};
use crate::triage::Intent;
use chrono::{DateTime, Duration, Timelike, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;

/// One word of a ticket as a surge key sees it: the stem it is counted by and a form a human
/// reads (the first way it was written, lower case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    pub stem: String,
    pub surface: String,
}

/// How much of a ticket's text is read for its words: the subject and the start of the first
/// message say what it is about; a pasted log would only add noise and time.
const TEXT_CHARS: usize = 1_000;

/// The distinct words of a ticket's subject and first message that can make an "unusual
/// words" surge: [`crate::text`]'s words (jieba for Chinese, stemmed English) without hashes,
/// addresses, numbers, negations and fragments too short to mean anything on their own.
pub fn terms(text: &str) -> Vec<Term> {
    let end = text
        .char_indices()
        .nth(TEXT_CHARS)
        .map_or(text.len(), |(i, _)| i);
    let text = &text[..end];
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for w in words_at(text) {
        let stem = w.text;
        let chars = stem.chars().count();
        let ascii = stem.is_ascii();
        let useless = is_identifier(&stem)
            || stem.chars().all(|c| c.is_ascii_digit())
            || (ascii && chars < 3)
            || (!ascii && chars < 2)
            || stem == "not";
        if useless || !seen.insert(stem.clone()) {
            continue;
        }
        let surface = text
            .get(w.from..w.to)
            .map(str::to_lowercase)
            .unwrap_or_else(|| stem.clone());
        out.push(Term { stem, surface });
    }
    out
}

/// What the detector knows of one new ticket.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub intent: Option<Intent>,
    /// The network's machine name (lower case), as tickets store it.
    pub network: Option<String>,
    /// The asset's symbol (upper case).
    pub asset: Option<String>,
    pub terms: Vec<Term>,
}

impl Fact {
    /// A fact with network and asset normalised the way keys compare them.
    pub fn new(
        id: i64,
        at: DateTime<Utc>,
        intent: Option<Intent>,
        network: Option<&str>,
        asset: Option<&str>,
        terms: Vec<Term>,
    ) -> Fact {
        fn clean(s: Option<&str>) -> Option<&str> {
            s.map(str::trim).filter(|s| !s.is_empty())
        }
        Fact {
            id,
            at,
            intent,
            network: clean(network).map(str::to_lowercase),
            asset: clean(asset).map(str::to_uppercase),
            terms,
        }
    }

    /// The intent-and-network and intent-and-asset keys this ticket counts towards.
    fn structured_keys(&self) -> Vec<SurgeKey> {
        let Some(intent) = self.intent else {
            return Vec::new();
        };
        let mut keys = Vec::with_capacity(2);
        if let Some(n) = &self.network {
            keys.push(SurgeKey::Network {
                intent,
                network: n.clone(),
            });
        }
        if let Some(a) = &self.asset {
            keys.push(SurgeKey::Asset {
                intent,
                asset: a.clone(),
            });
        }
        keys
    }
}

/// What a surge is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SurgeKey {
    /// One intent on one network ("deposits on TRON").
    Network { intent: Intent, network: String },
    /// One intent for one asset ("USDT deposits").
    Asset { intent: Intent, asset: String },
    /// One word, by its stem, whatever the intent ("launchpool").
    Term(String),
}

impl SurgeKey {
    /// The stable text form stored with a raised surge and compared across nodes:
    /// `network:<intent>:<network>`, `asset:<intent>:<ASSET>` or `term:<stem>`.
    pub fn as_key(&self) -> String {
        match self {
            SurgeKey::Network { intent, network } => {
                format!("network:{}:{network}", intent.as_str())
            }
            SurgeKey::Asset { intent, asset } => format!("asset:{}:{asset}", intent.as_str()),
            SurgeKey::Term(stem) => format!("term:{stem}"),
        }
    }

    /// Reads [`SurgeKey::as_key`]'s form back.
    pub fn parse(s: &str) -> Option<SurgeKey> {
        let (kind, rest) = s.split_once(':')?;
        match kind {
            "term" if !rest.is_empty() => Some(SurgeKey::Term(rest.to_owned())),
            "network" | "asset" => {
                let (intent, value) = rest.split_once(':')?;
                let intent = Intent::parse(intent)?;
                if value.is_empty() {
                    return None;
                }
                Some(if kind == "network" {
                    SurgeKey::Network {
                        intent,
                        network: value.to_owned(),
                    }
                } else {
                    SurgeKey::Asset {
                        intent,
                        asset: value.to_owned(),
                    }
                })
            }
            _ => None,
        }
    }

    /// Whether a ticket counts towards this key.
    pub fn matches(&self, f: &Fact) -> bool {
        match self {
            SurgeKey::Network { intent, network } => {
                f.intent == Some(*intent) && f.network.as_deref() == Some(network.as_str())
            }
            SurgeKey::Asset { intent, asset } => {
                f.intent == Some(*intent) && f.asset.as_deref() == Some(asset.as_str())
            }
            SurgeKey::Term(stem) => f.terms.iter().any(|t| &t.stem == stem),
        }
    }

    fn is_term(&self) -> bool {
        matches!(self, SurgeKey::Term(_))
    }
}

/// How sure the detector must be, and how far back it looks.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The sliding windows tested, in minutes: a sharp burst shows in the short one, a steady
    /// climb in the long one.
    pub windows_minutes: Vec<i64>,
    /// The largest Poisson upper-tail probability that still counts as a surge of an intent
    /// key. Hundreds of keys are tested every minute: it must be tiny.
    pub max_p: f64,
    /// The same for words, which are many more than intent keys: tinier still.
    pub max_p_word: f64,
    /// The fewest tickets in a window that make a surge: below this nobody needs an incident.
    pub min_count: u32,
    /// The count must also be this many times what was expected: traffic is burstier than
    /// Poisson, so a busy key a little over its rate is not a surge.
    pub min_ratio: f64,
    /// The rate assumed for a key never seen, per day, at least.
    pub floor_per_day: f64,
    /// ... and at least this share of all tickets' rate, so a large desk's new key needs more.
    pub floor_share: f64,
    /// A surge goes on (and is not raised again) while some window holds this many times its
    /// expectation (and at least three tickets).
    pub running_ratio: f64,
    /// A word in more than this share of the baseline's tickets is common, not unusual: it
    /// makes no word surge (an intent key catches what it is about).
    pub max_word_share: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            windows_minutes: vec![10, 30, 60],
            max_p: 1e-5,
            max_p_word: 1e-7,
            min_count: 8,
            min_ratio: 3.0,
            floor_per_day: 2.0,
            floor_share: 0.005,
            running_ratio: 2.0,
            max_word_share: 0.05,
        }
    }
}

impl Settings {
    /// The longest window: how far back the detector needs recent tickets.
    pub fn longest_window(&self) -> Duration {
        Duration::minutes(self.windows_minutes.iter().copied().max().unwrap_or(60))
    }
}

/// The usual rates: per key, over the days before the windows, and how busy each hour of the
/// day is compared with the day's mean.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Baseline {
    /// Minutes the structured counts cover (from the first ticket seen, at least an hour).
    minutes: f64,
    total: f64,
    keys: HashMap<SurgeKey, f64>,
    /// Per UTC hour, how much busier than the mean that hour is (1 when unknown).
    diurnal: [f64; 24],
    /// Minutes the word counts cover (a sample of the newest tickets may span less).
    term_minutes: f64,
    term_total: f64,
    terms: HashMap<String, f64>,
}

/// The fewest minutes a baseline is taken to cover: rates from less are noise.
const MIN_BASELINE_MINUTES: f64 = 60.0;
/// Hours of history before the time of day is trusted to shape expectations.
const DIURNAL_AFTER_HOURS: f64 = 48.0;

fn minutes_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_seconds().max(0) as f64 / 60.0
}

/// The tickets created in `[from, to)`, where counting starts (at `from`, or at the first
/// ticket after it when history is shorter, a new desk's, so its rates are not diluted by
/// days it did not exist) and the minutes that covers.
fn period<'a, I>(
    facts: I,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> (Vec<&'a Fact>, DateTime<Utc>, f64)
where
    I: IntoIterator<Item = &'a Fact>,
{
    let inside: Vec<&Fact> = facts
        .into_iter()
        .filter(|f| f.at >= from && f.at < to)
        .collect();
    let start = inside.iter().map(|f| f.at).min().unwrap_or(to);
    let minutes = minutes_between(start, to).max(MIN_BASELINE_MINUTES);
    (inside, start, minutes)
}

impl Baseline {
    /// Counts the intent-and-network and intent-and-asset keys of the tickets created in
    /// `[from, to)`, and how busy each hour of the day was. Words are counted by
    /// [`Baseline::with_terms`].
    pub fn new<'a, I>(facts: I, from: DateTime<Utc>, to: DateTime<Utc>) -> Baseline
    where
        I: IntoIterator<Item = &'a Fact>,
    {
        let (inside, start, minutes) = period(facts, from, to);
        let mut keys: HashMap<SurgeKey, f64> = HashMap::new();
        let mut by_hour = [0f64; 24];
        let mut total = 0.0;
        for f in inside {
            total += 1.0;
            by_hour[f.at.hour() as usize] += 1.0;
            for k in f.structured_keys() {
                *keys.entry(k).or_default() += 1.0;
            }
        }
        let diurnal = if minutes >= DIURNAL_AFTER_HOURS * 60.0 {
            diurnal_factors(&by_hour, start, to)
        } else {
            [1.0; 24]
        };
        Baseline {
            minutes,
            total,
            keys,
            diurnal,
            ..Baseline::default()
        }
    }

    /// Adds document frequencies of words, from tickets created in `[from, to)` (the service
    /// reads the words of a sample of the newest tickets only: tokenising a week costs more
    /// than it tells).
    pub fn with_terms<'a, I>(mut self, facts: I, from: DateTime<Utc>, to: DateTime<Utc>) -> Self
    where
        I: IntoIterator<Item = &'a Fact>,
    {
        let (inside, _, minutes) = period(facts, from, to);
        self.term_minutes = minutes;
        self.terms.clear();
        self.term_total = 0.0;
        for f in inside {
            self.term_total += 1.0;
            for t in &f.terms {
                *self.terms.entry(t.stem.clone()).or_default() += 1.0;
            }
        }
        self
    }

    /// Tickets the baseline counted (structured part).
    pub fn tickets(&self) -> f64 {
        self.total
    }

    /// The usual rate of a key per minute, never below the floor.
    fn rate(&self, key: &SurgeKey, s: &Settings) -> f64 {
        let (count, minutes, total) = match key {
            SurgeKey::Term(stem) => (
                self.terms.get(stem).copied().unwrap_or(0.0),
                self.term_minutes.max(MIN_BASELINE_MINUTES),
                self.term_total,
            ),
            _ => (
                self.keys.get(key).copied().unwrap_or(0.0),
                self.minutes.max(MIN_BASELINE_MINUTES),
                self.total,
            ),
        };
        let floor = (s.floor_per_day / 1440.0).max(s.floor_share * total / minutes);
        (count / minutes).max(floor)
    }

    /// The key's usual share of all tickets, never below the floor share.
    fn share(&self, key: &SurgeKey, s: &Settings) -> f64 {
        let (count, total) = match key {
            SurgeKey::Term(stem) => (self.terms.get(stem).copied(), self.term_total),
            _ => (self.keys.get(key).copied(), self.total),
        };
        if total <= 0.0 {
            return s.floor_share;
        }
        (count.unwrap_or(0.0) / total).max(s.floor_share)
    }

    /// Whether a word is in so many of the baseline's tickets ("but", "客服") that it says
    /// nothing unusual; only once the baseline has enough tickets to tell.
    pub fn common_word(&self, stem: &str, s: &Settings) -> bool {
        self.term_total >= MIN_TICKETS_FOR_COMMON
            && self.terms.get(stem).copied().unwrap_or(0.0) > s.max_word_share * self.term_total
    }

    /// How many tickets of `key` to expect in the `window` minutes before `now`, when
    /// `tickets` of all kinds came in that window: the usual rate, raised (never lowered) in
    /// the busy hours of the day, or the key's usual share of what came, whichever is more. The
    /// share takes the busy and quiet stretches every desk has (all keys rise together) out
    /// of the test; a surge of one key barely moves it.
    pub fn expected(
        &self,
        key: &SurgeKey,
        window: i64,
        now: DateTime<Utc>,
        tickets: usize,
        s: &Settings,
    ) -> f64 {
        let start = now - Duration::minutes(window);
        let busy = self.diurnal[now.hour() as usize].max(self.diurnal[start.hour() as usize]);
        let by_rate = self.rate(key, s) * window as f64 * busy.max(1.0);
        by_rate.max(self.share(key, s) * tickets as f64)
    }
}

/// Tickets a baseline needs before a word can be called common.
const MIN_TICKETS_FOR_COMMON: f64 = 200.0;

/// Per UTC hour, the hour's rate over the mean rate, smoothed over its neighbours; the time
/// each hour of the day was covered is counted so a partial day does not skew it.
fn diurnal_factors(by_hour: &[f64; 24], from: DateTime<Utc>, to: DateTime<Utc>) -> [f64; 24] {
    let mut exposure = [0f64; 24];
    let mut t = from;
    while t < to {
        let next_hour = (t + Duration::hours(1))
            .with_minute(0)
            .and_then(|x| x.with_second(0))
            .and_then(|x| x.with_nanosecond(0))
            .unwrap_or(to)
            .min(to);
        exposure[t.hour() as usize] += minutes_between(t, next_hour);
        if next_hour <= t {
            break;
        }
        t = next_hour;
    }
    let total: f64 = by_hour.iter().sum();
    let minutes: f64 = exposure.iter().sum();
    if total <= 0.0 || minutes <= 0.0 {
        return [1.0; 24];
    }
    let mean = total / minutes;
    let mut out = [1.0; 24];
    for (h, o) in out.iter_mut().enumerate() {
        let around = [(h + 23) % 24, h, (h + 1) % 24];
        let count: f64 = around.iter().map(|&i| by_hour[i]).sum();
        let covered: f64 = around.iter().map(|&i| exposure[i]).sum();
        if covered > 0.0 {
            *o = count / covered / mean;
        }
    }
    out
}

fn ln_factorial(n: u64) -> f64 {
    if n < 256 {
        (2..=n).map(|i| (i as f64).ln()).sum()
    } else {
        // Stirling's series: exact to far below what a p-value needs at this size.
        let x = n as f64;
        x * x.ln() - x + 0.5 * (2.0 * std::f64::consts::PI * x).ln() + 1.0 / (12.0 * x)
            - 1.0 / (360.0 * x * x * x)
    }
}

/// P(X ≥ k) for X ~ Poisson(λ): how unlikely `k` or more tickets are when `lambda` are
/// expected. Summed in the upper tail itself, so tiny probabilities keep their precision.
pub fn poisson_tail(k: u64, lambda: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if lambda.is_nan() || lambda <= 0.0 {
        return 0.0;
    }
    let pmf = |i: u64| (-lambda + i as f64 * lambda.ln() - ln_factorial(i)).exp();
    if (k as f64) <= lambda {
        let below: f64 = (0..k).map(pmf).sum();
        return (1.0 - below).clamp(0.0, 1.0);
    }
    let mut term = pmf(k);
    let mut sum = term;
    let mut i = k;
    while term > sum * 1e-17 && i < k + 100_000 {
        i += 1;
        term *= lambda / i as f64;
        sum += term;
    }
    sum.min(1.0)
}

/// A burst of tickets about one thing.
#[derive(Debug, Clone, PartialEq)]
pub struct Surge {
    pub key: SurgeKey,
    /// What a rule for an incident would match: the key's parts, and what nearly all of the
    /// surge's tickets share besides (the asset of a network key, say).
    pub intent: Option<Intent>,
    pub network: Option<String>,
    pub asset: Option<String>,
    /// Unusual words the tickets share (as written, lower case).
    pub words: Vec<String>,
    /// Tickets in the window that made the surge.
    pub count: u32,
    pub window_minutes: i64,
    pub expected: f64,
    pub p_value: f64,
    /// The first and last of those tickets.
    pub first_at: DateTime<Utc>,
    pub last_at: DateTime<Utc>,
    pub ticket_ids: Vec<i64>,
}

/// Share of a surge's tickets that must agree on a further part for the rule to carry it.
const DOMINANT: f64 = 0.8;

fn dominant<'a>(values: impl Iterator<Item = Option<&'a str>>, n: usize) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values.flatten() {
        *counts.entry(v).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(_, c)| *c)
        .filter(|(_, c)| *c as f64 >= DOMINANT * n as f64)
        .map(|(v, _)| v.to_owned())
}

/// Counting minutes as people do: 37 tickets from 10:00:00 to 10:11:20 came "in 12 minutes".
fn span_minutes(first: DateTime<Utc>, last: DateTime<Utc>) -> i64 {
    let secs = (last - first).num_seconds().max(0);
    ((secs + 59) / 60).max(1)
}

/// The plural phrase for what customers of an intent write about.
fn intent_phrase(intent: Intent) -> (&'static str, &'static str) {
    match intent {
        Intent::DepositMissing => ("deposits", "充值未到账"),
        Intent::WithdrawalDelayed => ("withdrawals", "提现延迟"),
        Intent::AccountAccess => ("account access", "账户登录问题"),
        Intent::TwoFactorReset => ("2FA resets", "二次验证重置"),
        Intent::Kyc => ("KYC", "身份认证"),
        Intent::AccountCompromised => ("compromised accounts", "账户被盗"),
        Intent::CardFiatPayment => ("card and fiat payments", "银行卡与法币支付"),
        Intent::TradingOrder => ("trading and orders", "交易与订单"),
        Intent::Fees => ("fees", "手续费"),
        Intent::Api => ("API", "API"),
        Intent::P2pDispute => ("P2P disputes", "P2P 纠纷"),
        Intent::ScamReport => ("scam reports", "诈骗举报"),
        Intent::Feedback => ("feedback", "反馈"),
        Intent::Other => ("other requests", "其他问题"),
    }
}

/// A network's name for people; an unknown one as stored.
fn network_name(n: &str) -> String {
    Network::from_str(n).map_or_else(|_| n.to_owned(), |n| n.display_name().to_owned())
}

impl Surge {
    /// Minutes from the first to the last ticket of the surge, rounded up, at least one.
    pub fn minutes(&self) -> i64 {
        span_minutes(self.first_at, self.last_at)
    }

    /// "37 tickets in 12 minutes: USDT deposits on Tron".
    pub fn summary_en(&self) -> String {
        let m = self.minutes();
        let head = format!(
            "{} tickets in {m} minute{}",
            self.count,
            if m == 1 { "" } else { "s" }
        );
        match (&self.key, self.intent) {
            (SurgeKey::Network { .. } | SurgeKey::Asset { .. }, Some(intent)) => {
                let mut what = String::new();
                if let Some(a) = &self.asset {
                    what.push_str(a);
                    what.push(' ');
                }
                what.push_str(intent_phrase(intent).0);
                if let Some(n) = &self.network {
                    what.push_str(" on ");
                    what.push_str(&network_name(n));
                }
                format!("{head}: {what}")
            }
            _ => format!("{head} mentioning “{}”", self.words.join(" ")),
        }
    }

    /// "12 分钟内 37 张工单：Tron 上的 USDT 充值未到账".
    pub fn summary_zh(&self) -> String {
        let head = format!("{} 分钟内 {} 张工单", self.minutes(), self.count);
        match (&self.key, self.intent) {
            (SurgeKey::Network { .. } | SurgeKey::Asset { .. }, Some(intent)) => {
                let mut what = String::new();
                if let Some(n) = &self.network {
                    what.push_str(&network_name(n));
                    what.push_str(" 上的 ");
                }
                if let Some(a) = &self.asset {
                    what.push_str(a);
                    what.push(' ');
                }
                what.push_str(intent_phrase(intent).1);
                format!("{head}：{what}")
            }
            _ => format!("{head}提到“{}”", self.words.join(" ")),
        }
    }

    /// The summary in a console language (`zh…` is Chinese, anything else English).
    pub fn summary(&self, language: &str) -> String {
        if language.starts_with("zh") {
            self.summary_zh()
        } else {
            self.summary_en()
        }
    }
}

/// What one check found.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Detection {
    /// Surges to raise, most significant first.
    pub new: Vec<Surge>,
    /// Of the keys already raised, those still well above their usual rate.
    pub running: Vec<SurgeKey>,
}

/// A key's best window: its tickets there, what was expected, and the tail probability.
struct Tested<'a> {
    window: i64,
    tickets: Vec<&'a Fact>,
    expected: f64,
    p: f64,
}

/// Share of a candidate's tickets that, once explained by another surge, makes it the same
/// surge seen from another side (the asset of a network surge, a word all its tickets use).
const SAME_SURGE: f64 = 0.5;

/// Finds surges among `recent` tickets as of `now`. `active` are the keys raised before and
/// still running: they are not raised again, and neither is a candidate whose tickets they
/// mostly explain.
pub fn detect<'a>(
    recent: impl IntoIterator<Item = &'a Fact>,
    baseline: &Baseline,
    active: &[SurgeKey],
    now: DateTime<Utc>,
    s: &Settings,
) -> Detection {
    let oldest = now - s.longest_window();
    let mut facts: Vec<&Fact> = recent
        .into_iter()
        .filter(|f| f.at > oldest && f.at <= now)
        .collect();
    facts.sort_by_key(|f| (f.at, f.id));
    let mut by_key: HashMap<SurgeKey, Vec<&Fact>> = HashMap::new();
    for f in &facts {
        for k in f.structured_keys() {
            by_key.entry(k).or_default().push(f);
        }
        for t in &f.terms {
            by_key
                .entry(SurgeKey::Term(t.stem.clone()))
                .or_default()
                .push(f);
        }
    }
    let active_set: HashSet<&SurgeKey> = active.iter().collect();
    let mut running = Vec::new();
    let mut candidates: Vec<(SurgeKey, Tested)> = Vec::new();
    // All tickets per window, for the share each key usually has of them.
    let in_window: Vec<usize> = s
        .windows_minutes
        .iter()
        .map(|w| {
            let since = now - Duration::minutes(*w);
            facts.iter().filter(|f| f.at > since).count()
        })
        .collect();
    for (key, list) in &by_key {
        let is_active = active_set.contains(key);
        if !is_active && (list.len() as u32) < s.min_count {
            continue;
        }
        if let SurgeKey::Term(stem) = key
            && !is_active
            && baseline.common_word(stem, s)
        {
            continue;
        }
        let mut best: Option<Tested> = None;
        let mut still = false;
        for (&w, &all) in s.windows_minutes.iter().zip(&in_window) {
            let since = now - Duration::minutes(w);
            let tickets: Vec<&Fact> = list.iter().copied().filter(|f| f.at > since).collect();
            let count = tickets.len() as f64;
            let expected = baseline.expected(key, w, now, all, s);
            still |= count >= 3.0 && count >= s.running_ratio * expected;
            if (tickets.len() as u32) < s.min_count || count < s.min_ratio * expected {
                continue;
            }
            let p = poisson_tail(tickets.len() as u64, expected);
            let max_p = if key.is_term() { s.max_p_word } else { s.max_p };
            if p <= max_p && best.as_ref().is_none_or(|b| p < b.p) {
                best = Some(Tested {
                    window: w,
                    tickets,
                    expected,
                    p,
                });
            }
        }
        if is_active {
            if still || best.is_some() {
                running.push(key.clone());
            }
        } else if let Some(b) = best {
            candidates.push((key.clone(), b));
        }
    }
    running.sort();
    // Intent keys first (they name the problem), then words; the most significant first.
    candidates.sort_by(|(ka, a), (kb, b)| {
        (ka.is_term(), a.p, ka)
            .partial_cmp(&(kb.is_term(), b.p, kb))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let surging_terms: Vec<&SurgeKey> = candidates
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.is_term())
        .collect();
    let mut new: Vec<Surge> = Vec::new();
    let mut explained: HashSet<i64> = HashSet::new();
    for (key, t) in &candidates {
        let n = t.tickets.len();
        let covered = t
            .tickets
            .iter()
            .filter(|f| explained.contains(&f.id) || active.iter().any(|a| a.matches(f)))
            .count();
        if covered as f64 >= SAME_SURGE * n as f64 {
            continue;
        }
        explained.extend(t.tickets.iter().map(|f| f.id));
        new.push(surge(key, t, &surging_terms, now));
    }
    Detection { new, running }
}

/// A candidate made into a surge: its rule filled with what nearly all its tickets share.
fn surge(key: &SurgeKey, t: &Tested, surging_terms: &[&SurgeKey], now: DateTime<Utc>) -> Surge {
    let n = t.tickets.len();
    let dominant_intent = || {
        dominant(t.tickets.iter().map(|f| f.intent.map(Intent::as_str)), n)
            .and_then(|i| Intent::parse(&i))
    };
    let networks = || dominant(t.tickets.iter().map(|f| f.network.as_deref()), n);
    let assets = || dominant(t.tickets.iter().map(|f| f.asset.as_deref()), n);
    let (intent, network, asset) = match key {
        SurgeKey::Network { intent, network } => (Some(*intent), Some(network.clone()), assets()),
        SurgeKey::Asset { intent, asset } => (Some(*intent), networks(), Some(asset.clone())),
        SurgeKey::Term(_) => (dominant_intent(), networks(), assets()),
    };
    // Shared unusual words: the key's own first, then others nearly every ticket uses.
    let surface = |stem: &str| {
        t.tickets
            .iter()
            .flat_map(|f| f.terms.iter())
            .find(|x| x.stem == stem)
            .map(|x| x.surface.clone())
    };
    let mut words = Vec::new();
    if let SurgeKey::Term(stem) = key
        && let Some(w) = surface(stem)
    {
        words.push(w);
    }
    for k in surging_terms {
        if words.len() >= 3 || *k == key {
            continue;
        }
        let shared = t.tickets.iter().filter(|f| k.matches(f)).count();
        if let SurgeKey::Term(stem) = k
            && shared as f64 >= DOMINANT * n as f64
            && let Some(w) = surface(stem)
        {
            words.push(w);
        }
    }
    let first_at = t.tickets.first().map_or(now, |f| f.at);
    let last_at = t.tickets.last().map_or(first_at, |f| f.at);
    Surge {
        key: key.clone(),
        intent,
        network,
        asset,
        words,
        count: u32::try_from(n).unwrap_or(u32::MAX),
        window_minutes: t.window,
        expected: t.expected,
        p_value: t.p,
        first_at,
        last_at,
        ticket_ids: t.tickets.iter().map(|f| f.id).collect(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(min: i64) -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(min)
    }

    fn fact(id: i64, min: i64, intent: Intent, network: &str, asset: &str, text: &str) -> Fact {
        Fact::new(
            id,
            at(min),
            Some(intent),
            Some(network).filter(|s| !s.is_empty()),
            Some(asset).filter(|s| !s.is_empty()),
            terms(text),
        )
    }

    /// The `i`th of a cycle of ordinary requests, at minute `min`.
    fn ordinary(i: i64, min: i64) -> Fact {
        let kinds = [
            (
                Intent::DepositMissing,
                "ethereum",
                "ETH",
                "ETH deposit not credited",
            ),
            (
                Intent::WithdrawalDelayed,
                "bitcoin",
                "BTC",
                "BTC withdrawal pending",
            ),
            (
                Intent::DepositMissing,
                "tron",
                "USDT",
                "USDT deposit missing",
            ),
            (Intent::Kyc, "", "", "KYC verification rejected"),
            (Intent::AccountAccess, "", "", "cannot log in to my account"),
        ];
        let (intent, n, a, text) = kinds[i.rem_euclid(kinds.len() as i64) as usize];
        fact(i, min, intent, n, a, text)
    }

    /// A week of quiet, mixed traffic before minute 0: one ticket every 20 minutes.
    fn quiet_week() -> Vec<Fact> {
        (1..=7 * 72).map(|i| ordinary(-i, -i * 20)).collect()
    }

    fn baseline(history: &[Fact]) -> Baseline {
        Baseline::new(history, at(-7 * 24 * 60), at(-60)).with_terms(
            history,
            at(-7 * 24 * 60),
            at(-60),
        )
    }

    fn burst(n: i64, minutes: i64) -> Vec<Fact> {
        (0..n)
            .map(|i| {
                fact(
                    1000 + i,
                    i * minutes / n.max(1),
                    Intent::DepositMissing,
                    "tron",
                    "USDT",
                    "USDT deposit on TRON not arrived",
                )
            })
            .collect()
    }

    #[test]
    fn poisson_tail_matches_known_values() {
        // P(X ≥ 1 | λ=1) = 1 - e^-1; P(X ≥ 3 | λ=2) = 1 - 5e^-2.
        assert!((poisson_tail(1, 1.0) - (1.0 - (-1f64).exp())).abs() < 1e-12);
        assert!((poisson_tail(3, 2.0) - (1.0 - 5.0 * (-2f64).exp())).abs() < 1e-12);
        assert_eq!(poisson_tail(0, 3.0), 1.0);
        assert_eq!(poisson_tail(4, 0.0), 0.0);
        // Far in the tail: P(X ≥ 30 | λ=1) ≈ e^-1/30! (next terms add ~3%).
        let p = poisson_tail(30, 1.0);
        let first = (-1.0 - ln_factorial(30)).exp();
        assert!(p > first && p < first * 1.04, "{p} vs {first}");
        // Stirling's branch joins the exact sum smoothly.
        assert!(
            (ln_factorial(256) - (2..=256u64).map(|i| (i as f64).ln()).sum::<f64>()).abs() < 1e-9
        );
    }

    #[test]
    fn a_burst_of_usdt_deposits_on_tron_is_a_surge_with_a_summary() {
        let history = quiet_week();
        let b = baseline(&history);
        let recent = burst(37, 11);
        let d = detect(&recent, &b, &[], at(12), &Settings::default());
        assert_eq!(d.new.len(), 1, "{:#?}", d.new);
        let s = &d.new[0];
        assert_eq!(
            s.key,
            SurgeKey::Network {
                intent: Intent::DepositMissing,
                network: "tron".into()
            }
        );
        assert_eq!((s.count, s.asset.as_deref()), (37, Some("USDT")));
        assert_eq!(
            s.summary_en(),
            "37 tickets in 10 minutes: USDT deposits on Tron"
        );
        assert_eq!(
            s.summary_zh(),
            "10 分钟内 37 张工单：Tron 上的 USDT 充值未到账"
        );
        assert!(s.words.contains(&"arrived".to_owned()), "{:?}", s.words);
        assert_eq!(s.first_at, at(0));
        assert!(s.p_value <= 1e-5);
        // Once raised it is running, and neither it nor its asset side is raised again.
        let again = detect(
            &recent,
            &b,
            std::slice::from_ref(&s.key),
            at(13),
            &Settings::default(),
        );
        assert!(again.new.is_empty(), "{:#?}", again.new);
        assert_eq!(again.running, vec![s.key.clone()]);
        // An hour after the last ticket it is over.
        let later = detect(
            &recent,
            &b,
            std::slice::from_ref(&s.key),
            at(80),
            &Settings::default(),
        );
        assert!(later.running.is_empty());
    }

    #[test]
    fn ordinary_traffic_and_small_bursts_raise_nothing() {
        let history = quiet_week();
        let b = baseline(&history);
        // A busy hour: five times the usual pace, of the usual mix.
        let busy: Vec<Fact> = (0..15).map(|i| ordinary(i, i * 4 - 59)).collect();
        assert!(
            detect(&busy, &b, &[], at(0), &Settings::default())
                .new
                .is_empty()
        );
        // Seven tickets in a minute: fewer than anyone needs an incident for.
        assert!(
            detect(&burst(7, 1), &b, &[], at(1), &Settings::default())
                .new
                .is_empty()
        );
    }

    #[test]
    fn a_new_word_across_intents_is_a_word_surge() {
        let history = quiet_week();
        let b = baseline(&history);
        let intents = [
            Intent::TradingOrder,
            Intent::Fees,
            Intent::Other,
            Intent::Api,
        ];
        let recent: Vec<Fact> = (0..16)
            .map(|i| {
                let intent = intents[i as usize % intents.len()];
                fact(i, i, intent, "", "", "Where are my launchpool rewards?")
            })
            .collect();
        let d = detect(&recent, &b, &[], at(16), &Settings::default());
        let s = d.new.first().unwrap();
        assert_eq!(s.key, SurgeKey::Term("launchpool".into()));
        assert_eq!(s.intent, None, "the tickets' intents differ");
        assert_eq!(s.words[0], "launchpool");
        assert_eq!(
            s.summary_en(),
            "16 tickets in 15 minutes mentioning “launchpool rewards”"
        );
        assert!(
            s.summary_zh()
                .starts_with("15 分钟内 16 张工单提到“launchpool")
        );
    }

    #[test]
    fn a_desk_with_no_history_needs_a_real_burst() {
        let empty = Baseline::new(&[], at(-7 * 24 * 60), at(-60));
        // A dozen varied tickets at once, as a fresh demo seeds them.
        let mixed: Vec<Fact> = quiet_week()
            .into_iter()
            .take(12)
            .map(|mut f| {
                f.at = at(0);
                f
            })
            .collect();
        assert!(
            detect(&mixed, &empty, &[], at(1), &Settings::default())
                .new
                .is_empty()
        );
        assert_eq!(
            detect(&burst(30, 5), &empty, &[], at(6), &Settings::default())
                .new
                .len(),
            1
        );
    }

    #[test]
    fn keys_round_trip_and_reject_garbage() {
        for k in [
            SurgeKey::Network {
                intent: Intent::DepositMissing,
                network: "tron".into(),
            },
            SurgeKey::Asset {
                intent: Intent::Kyc,
                asset: "USDT".into(),
            },
            SurgeKey::Term("提现".into()),
        ] {
            assert_eq!(SurgeKey::parse(&k.as_key()), Some(k));
        }
        for bad in ["", "term:", "network:nope:tron", "asset:kyc:", "x:y"] {
            assert_eq!(SurgeKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn terms_skip_hashes_numbers_and_fragments() {
        let t: Vec<String> = terms("USDT 提现 6 hours tx 0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b not arrived")
            .into_iter()
            .map(|t| t.surface)
            .collect();
        assert_eq!(t, ["usdt", "提现", "hours", "arrived"]);
    }

    #[test]
    fn busy_hours_raise_expectations_and_quiet_ones_do_not_lower_them() {
        // Two weeks where 12:00-13:00 UTC carries three times the traffic of other hours.
        let mut history = Vec::new();
        let mut id = 0;
        for m in 1..(14 * 24 * 60) {
            let t = at(-m);
            let every = if t.hour() == 12 { 10 } else { 30 };
            if m % every == 0 {
                id += 1;
                history.push(fact(id, -m, Intent::Fees, "ethereum", "", "fee"));
            }
        }
        let b = Baseline::new(&history, at(-14 * 24 * 60), at(-60));
        let key = SurgeKey::Network {
            intent: Intent::Fees,
            network: "ethereum".into(),
        };
        let s = Settings::default();
        let noon = b.expected(&key, 60, at(30), 0, &s);
        let night = b.expected(&key, 60, at(12 * 60), 0, &s);
        assert!(noon > 1.4 * night, "{noon} vs {night}");
        let flat = b.rate(&key, &s) * 60.0;
        assert!((night - flat).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn the_tail_falls_with_the_count_and_rises_with_the_rate(
            k in 0u64..400, lambda in 0.01f64..200.0
        ) {
            let p = poisson_tail(k, lambda);
            prop_assert!((0.0..=1.0).contains(&p));
            prop_assert!(poisson_tail(k + 1, lambda) <= p + 1e-12);
            prop_assert!(poisson_tail(k, lambda * 1.5) + 1e-12 >= p);
        }

        /// Fewer than `min_count` tickets of anything never make a surge, whatever the
        /// baseline; and a detected surge's tickets all match its key.
        #[test]
        fn surges_need_enough_tickets_and_match_their_key(
            n in 0i64..40, spread in 1i64..60, extra in 0usize..3
        ) {
            let b = Baseline::new(&[], at(-7 * 24 * 60), at(-60));
            let mut recent = burst(n, spread);
            for i in 0..extra {
                recent.push(fact(5000 + i as i64, 1, Intent::Kyc, "", "", "kyc rejected"));
            }
            let s = Settings::default();
            let d = detect(&recent, &b, &[], at(spread + 1), &s);
            if n < i64::from(s.min_count) {
                prop_assert!(d.new.is_empty());
            }
            for surge in &d.new {
                prop_assert!(surge.count >= s.min_count);
                for id in &surge.ticket_ids {
                    let f = recent.iter().find(|f| f.id == *id).unwrap();
                    prop_assert!(surge.key.matches(f));
                }
                prop_assert!(surge.first_at <= surge.last_at);
            }
            // Raising what was found leaves nothing new to raise.
            let active: Vec<SurgeKey> = d.new.iter().map(|s| s.key.clone()).collect();
            let again = detect(&recent, &b, &active, at(spread + 1), &s);
            prop_assert!(again.new.is_empty());
            prop_assert_eq!(again.running.len(), active.len());
        }

        /// More tickets of a key in the same minutes never turn a surge into no surge.
        #[test]
        fn more_of_a_burst_is_still_a_surge(n in 10i64..60, more in 0i64..30) {
            let b = baseline(&quiet_week());
            let s = Settings::default();
            let found = !detect(&burst(n, 10), &b, &[], at(11), &s).new.is_empty();
            let bigger = !detect(&burst(n + more, 10), &b, &[], at(11), &s).new.is_empty();
            prop_assert!(!found || bigger);
        }
    }
}
