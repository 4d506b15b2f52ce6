//! Routing rules: which group a new ticket goes to, from what triage decided (intent,
//! language), the channel it came in on and the customer's tier. Rules are tried in order;
//! the first whose conditions all hold names the group. A condition left empty matches
//! anything. No I/O: the service loads the rules and applies the answer.

use crate::FieldError;
use crate::triage::Intent;

/// One rule as an admin wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub intent: Option<Intent>,
    /// A language code (`zh`, `en`); also matches its regional forms (`zh` matches `zh-Hant`).
    pub language: Option<String>,
    pub channel: Option<String>,
    /// The customer's tier as the exchange names it (`vip`, `institutional`, …).
    pub tier: Option<String>,
    pub group_id: i64,
}

/// What is known of a new ticket when it is routed.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub intent: Option<Intent>,
    pub language: &'a str,
    pub channel: &'a str,
    pub tier: Option<&'a str>,
}

impl Rule {
    /// Whether every condition of the rule holds for `f`.
    pub fn matches(&self, f: &Facts<'_>) -> bool {
        self.intent.is_none_or(|i| f.intent == Some(i))
            && self
                .language
                .as_deref()
                .is_none_or(|want| language_matches(f.language, want))
            && self
                .channel
                .as_deref()
                .is_none_or(|c| c.eq_ignore_ascii_case(f.channel))
            && self
                .tier
                .as_deref()
                .is_none_or(|t| f.tier.is_some_and(|ft| ft.eq_ignore_ascii_case(t)))
    }

    /// A rule with no condition would take every ticket: refused, so a catch-all is a
    /// choice made with the default group, not by accident.
    pub fn validate(&self) -> Result<(), FieldError> {
        if self.intent.is_none()
            && self.language.is_none()
            && self.channel.is_none()
            && self.tier.is_none()
        {
            return Err(FieldError::new(
                "rule",
                "no_condition",
                "a rule needs at least one condition (intent, language, channel or tier)",
            ));
        }
        Ok(())
    }
}

/// Whether `language` is `want` or one of its regional forms (`zh-Hant` for `zh`).
pub fn language_matches(language: &str, want: &str) -> bool {
    language.eq_ignore_ascii_case(want)
        || language
            .get(..want.len() + 1)
            .is_some_and(|p| p.eq_ignore_ascii_case(&format!("{want}-")))
}

/// The group of the first rule that matches, in order.
pub fn route(rules: &[Rule], f: &Facts<'_>) -> Option<i64> {
    rules.iter().find(|r| r.matches(f)).map(|r| r.group_id)
}

/// A customer tier as given by the exchange: a short lowercase word.
pub fn parse_tier(s: &str) -> Result<String, FieldError> {
    let t = s.trim().to_lowercase();
    if (1..=32).contains(&t.len())
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Ok(t)
    } else {
        Err(FieldError::new(
            "tier",
            "invalid_tier",
            "a tier is 1-32 letters, digits, '-' or '_'",
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn rule(group_id: i64) -> Rule {
        Rule {
            intent: None,
            language: None,
            channel: None,
            tier: None,
            group_id,
        }
    }

    fn facts<'a>(
        intent: Intent,
        language: &'a str,
        channel: &'a str,
        tier: Option<&'a str>,
    ) -> Facts<'a> {
        Facts {
            intent: Some(intent),
            language,
            channel,
            tier,
        }
    }

    #[test]
    fn the_first_matching_rule_wins() {
        let rules = [
            Rule {
                intent: Some(Intent::AccountCompromised),
                ..rule(1)
            },
            Rule {
                tier: Some("vip".into()),
                ..rule(2)
            },
            Rule {
                language: Some("zh".into()),
                ..rule(3)
            },
        ];
        let stolen = facts(Intent::AccountCompromised, "zh", "chat", Some("vip"));
        assert_eq!(route(&rules, &stolen), Some(1));
        let vip = facts(Intent::Fees, "zh", "email", Some("VIP"));
        assert_eq!(route(&rules, &vip), Some(2));
        let zh = facts(Intent::Fees, "zh-Hant", "email", None);
        assert_eq!(route(&rules, &zh), Some(3));
        let en = facts(Intent::Fees, "en", "email", None);
        assert_eq!(route(&rules, &en), None);
        assert_eq!(route(&[], &en), None);
    }

    #[test]
    fn every_condition_must_hold() {
        let r = Rule {
            intent: Some(Intent::DepositMissing),
            language: Some("en".into()),
            channel: Some("email".into()),
            ..rule(9)
        };
        assert!(r.matches(&facts(Intent::DepositMissing, "en", "email", None)));
        assert!(!r.matches(&facts(Intent::DepositMissing, "en", "chat", None)));
        assert!(!r.matches(&facts(Intent::DepositMissing, "zh", "email", None)));
        assert!(!r.matches(&facts(Intent::Kyc, "en", "email", None)));
        // "zh" does not match a language that merely starts with the same letters.
        let zh = Rule {
            language: Some("zh".into()),
            ..rule(1)
        };
        assert!(!zh.matches(&facts(Intent::Kyc, "zhx", "email", None)));
        // A tier rule never matches a customer without one.
        let vip = Rule {
            tier: Some("vip".into()),
            ..rule(1)
        };
        assert!(!vip.matches(&facts(Intent::Kyc, "en", "email", None)));
    }

    #[test]
    fn a_rule_without_conditions_is_refused() {
        assert_eq!(rule(1).validate().unwrap_err().code, "no_condition");
        assert!(
            Rule {
                channel: Some("chat".into()),
                ..rule(1)
            }
            .validate()
            .is_ok()
        );
    }

    #[test]
    fn tiers_are_short_words() {
        assert_eq!(parse_tier(" VIP ").unwrap(), "vip");
        assert!(parse_tier("").is_err());
        assert!(parse_tier("vip level 3").is_err());
        assert!(parse_tier(&"x".repeat(33)).is_err());
    }
}
