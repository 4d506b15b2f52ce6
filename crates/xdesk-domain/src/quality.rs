//! Quality guards, the stories of broken promises turned into rules: an agent asking the
//! customer for the same thing again, a ticket reopened again and again, a customer coming
//! back with the same problem. No I/O: the service feeds in the texts and dates.

use crate::text::words;
use crate::triage::Intent;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;

/// How alike a new reply must be to an earlier one to count as asking the same thing again.
pub const SAME_REQUEST: f64 = 0.8;

/// From this many reopenings a ticket is flagged.
pub const REOPENS: usize = 3;

/// A customer opening a ticket with the same intent within this time is coming back with the
/// same problem.
pub fn repeat_window() -> Duration {
    Duration::days(7)
}

/// How alike two texts are: the overlap of their sets of words (Dice), 0 to 1, over the
/// analyzer's words (Chinese segmented, English stemmed), ignoring hashes and numbers.
pub fn similarity(a: &str, b: &str) -> f64 {
    let set = |t: &str| -> BTreeSet<String> {
        words(t)
            .into_iter()
            .filter(|w| !crate::text::is_identifier(w) && !w.chars().all(|c| c.is_ascii_digit()))
            .collect()
    };
    let (a, b) = (set(a), set(b));
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    2.0 * a.intersection(&b).count() as f64 / (a.len() + b.len()) as f64
}

/// The earlier reply (its index) a new one repeats, if any: the most similar at or above
/// [`SAME_REQUEST`]. Short replies ("Thanks!") never count: they ask for nothing.
pub fn repeats(reply: &str, earlier: &[&str]) -> Option<usize> {
    if words(reply).len() < 5 {
        return None;
    }
    earlier
        .iter()
        .enumerate()
        .map(|(i, e)| (i, similarity(reply, e)))
        .filter(|(_, s)| *s >= SAME_REQUEST)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// Whether a customer's new ticket repeats one of theirs: the same intent (not `other`), opened
/// within [`repeat_window`] before it.
pub fn repeats_intent(
    intent: Intent,
    at: DateTime<Utc>,
    earlier: &[(Intent, DateTime<Utc>)],
) -> bool {
    intent != Intent::Other
        && earlier
            .iter()
            .any(|(i, t)| *i == intent && *t <= at && at - *t <= repeat_window())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_same_request_in_other_words_is_caught() {
        let first =
            "Please send us a screenshot of the withdrawal record and the TXID so we can check.";
        let again = "Could you please send a screenshot of your withdrawal record and the TXID so we can check it?";
        let other = "Your withdrawal was processed; the funds arrive within 30 minutes.";
        assert!(
            similarity(first, again) >= SAME_REQUEST,
            "{}",
            similarity(first, again)
        );
        assert!(similarity(first, other) < SAME_REQUEST);
        assert_eq!(repeats(again, &[other, first]), Some(1));
        assert_eq!(repeats(other, &[first]), None);
        assert_eq!(
            repeats("Thanks!", &["Thanks!"]),
            None,
            "too short to ask anything"
        );
        let zh1 = "请提供提现记录的截图和交易哈希，以便我们核查。";
        let zh2 = "麻烦您提供一下提现记录截图和交易哈希，我们好核查。";
        assert!(
            similarity(zh1, zh2) >= SAME_REQUEST,
            "{}",
            similarity(zh1, zh2)
        );
    }

    #[test]
    fn identical_texts_are_alike_and_empty_ones_are_not() {
        assert!(
            (similarity("send the txid please now", "send the txid please now") - 1.0).abs() < 1e-9
        );
        assert_eq!(similarity("", "anything"), 0.0);
    }

    #[test]
    fn coming_back_with_the_same_problem_within_a_week() {
        let now = DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let earlier = [
            (Intent::DepositMissing, now - Duration::days(3)),
            (Intent::Kyc, now - Duration::days(20)),
        ];
        assert!(repeats_intent(Intent::DepositMissing, now, &earlier));
        assert!(!repeats_intent(Intent::Kyc, now, &earlier), "too long ago");
        assert!(!repeats_intent(Intent::Fees, now, &earlier));
        assert!(!repeats_intent(Intent::Other, now, &[(Intent::Other, now)]));
    }
}
