//! Tickets: state machine, priority, channel and the validated case fields exchange forms ask for.

use crate::FieldError;
use crate::crypto::{Address, Amount, Asset, Memo, Network, TxHash};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Defines a string-backed enum with `as_str`, `FromStr`, `Display` and serde in snake/kebab case.
macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident, $field:literal, $code:literal { $($variant:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $s)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $s),+
                }
            }
        }

        impl FromStr for $name {
            type Err = FieldError;
            fn from_str(s: &str) -> Result<Self, FieldError> {
                match s {
                    $($s => Ok($name::$variant),)+
                    _ => Err(FieldError::new(
                        $field,
                        $code,
                        format!("`{s}` is not one of: {}", [$($s),+].join(", ")),
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use string_enum;

string_enum!(
    /// Where a ticket is in its life. Transitions are checked by [`TicketState::transition`].
    TicketState, "state", "invalid_state" {
        New => "new",
        Open => "open",
        PendingCustomer => "pending_customer",
        PendingInternal => "pending_internal",
        PendingIncident => "pending_incident",
        Solved => "solved",
        Closed => "closed",
    }
);

string_enum!(
    /// How soon the case must be handled; `urgent` is for money at risk.
    Priority, "priority", "invalid_priority" {
        Urgent => "urgent",
        High => "high",
        Normal => "normal",
        Low => "low",
    }
);

string_enum!(
    /// The channel a ticket arrived on; replies go back the same way.
    Channel, "channel", "invalid_channel" {
        Web => "web",
        Email => "email",
        Chat => "chat",
        Api => "api",
        Telegram => "telegram",
        Phone => "phone",
    }
);

/// An attempted state change that the ticket workflow does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a ticket cannot go from {from} to {to}")]
pub struct IllegalTransition {
    pub from: TicketState,
    pub to: TicketState,
}

impl TicketState {
    /// Whether the workflow allows moving from `self` to `to`.
    ///
    /// `closed` is final: a customer writing again after closure gets a follow-up ticket, so the
    /// closed record stays as evidence. `new` is only ever the initial state.
    pub fn can_transition(self, to: TicketState) -> bool {
        use TicketState::*;
        match (self, to) {
            (a, b) if a == b => false,
            (Closed, _) => false,
            (_, New) => false,
            (New | Open | PendingCustomer | PendingInternal | PendingIncident, _) => true,
            (Solved, Open | PendingCustomer | PendingInternal | PendingIncident | Closed) => true,
            (Solved, _) => false,
        }
    }

    pub fn transition(self, to: TicketState) -> Result<TicketState, IllegalTransition> {
        if self.can_transition(to) {
            Ok(to)
        } else {
            Err(IllegalTransition { from: self, to })
        }
    }

    /// Whether a customer's new message puts the ticket back in front of agents: it waited on
    /// them, on an incident (they are still stuck), or was solved.
    pub fn reopens_on_customer_message(self) -> bool {
        matches!(
            self,
            TicketState::PendingCustomer | TicketState::PendingIncident | TicketState::Solved
        )
    }

    /// Open for work: counts in queues and SLA clocks.
    pub fn is_active(self) -> bool {
        !matches!(self, TicketState::Solved | TicketState::Closed)
    }
}

/// The human-readable ticket number shown to customers, e.g. `XD-10042`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketNumber(i64);

impl TicketNumber {
    pub const PREFIX: &'static str = "XD-";
    /// Numbers start here so a ticket reference always has five digits or more.
    pub const FIRST: i64 = 10001;

    pub fn new(n: i64) -> Self {
        Self(n)
    }

    pub fn value(self) -> i64 {
        self.0
    }

    /// The number of the ticket with this row id.
    pub fn for_ticket(id: i64) -> Self {
        Self(Self::FIRST - 1 + id)
    }

    /// The row id this number stands for.
    pub fn ticket_id(self) -> i64 {
        self.0 - (Self::FIRST - 1)
    }
}

impl fmt::Display for TicketNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", Self::PREFIX, self.0)
    }
}

impl FromStr for TicketNumber {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        let digits = s
            .strip_prefix(Self::PREFIX)
            .or_else(|| s.strip_prefix("xd-"))
            .unwrap_or(s);
        digits
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(TicketNumber)
            .ok_or_else(|| {
                FieldError::new(
                    "ticket",
                    "invalid_ticket_number",
                    format!("`{s}` is not a ticket number like XD-10042"),
                )
            })
    }
}

/// The crypto case fields of a ticket, all optional, each validated against the ticket's network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CryptoFields {
    pub network: Option<Network>,
    pub asset: Option<Asset>,
    pub tx_hash: Option<TxHash>,
    pub from_address: Option<Address>,
    pub to_address: Option<Address>,
    pub amount: Option<Amount>,
    pub memo: Option<Memo>,
    pub occurred_at: Option<DateTime<Utc>>,
}

/// Crypto case fields as they arrive from a form, API or e-mail: plain strings, not yet trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCryptoFields {
    pub network: Option<String>,
    pub asset: Option<String>,
    pub tx_hash: Option<String>,
    pub from_address: Option<String>,
    pub to_address: Option<String>,
    pub amount: Option<String>,
    pub memo: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

impl RawCryptoFields {
    /// Validates every field. Addresses, hashes and memos need a network to be checked against,
    /// so giving one without `network` is an error rather than an unchecked string.
    pub fn validate(&self) -> Result<CryptoFields, FieldError> {
        let network = self.network.as_deref().map(Network::from_str).transpose()?;
        fn with_network<T>(
            field: &'static str,
            value: &Option<String>,
            network: Option<Network>,
            parse: fn(Network, &str) -> Result<T, FieldError>,
        ) -> Result<Option<T>, FieldError> {
            match (value.as_deref(), network) {
                (None, _) => Ok(None),
                (Some(_), None) => Err(FieldError::new(
                    field,
                    "network_required",
                    format!("`{field}` can only be checked when `network` is given"),
                )),
                (Some(v), Some(n)) => parse(n, v).map(Some).map_err(|e| e.for_field(field)),
            }
        }
        Ok(CryptoFields {
            network,
            asset: self.asset.as_deref().map(Asset::parse).transpose()?,
            tx_hash: with_network("tx_hash", &self.tx_hash, network, TxHash::parse)?,
            from_address: with_network(
                "from_address",
                &self.from_address,
                network,
                Address::parse,
            )?,
            to_address: with_network("to_address", &self.to_address, network, Address::parse)?,
            amount: self.amount.as_deref().map(Amount::parse).transpose()?,
            memo: with_network("memo", &self.memo, network, Memo::parse)?,
            occurred_at: self.occurred_at,
        })
    }
}

impl CryptoFields {
    /// The canonical plain-string form, as stored and as put into events.
    pub fn to_raw(&self) -> RawCryptoFields {
        RawCryptoFields {
            network: self.network.map(|n| n.as_str().to_owned()),
            asset: self.asset.as_ref().map(|v| v.as_str().to_owned()),
            tx_hash: self.tx_hash.as_ref().map(|v| v.as_str().to_owned()),
            from_address: self.from_address.as_ref().map(|v| v.as_str().to_owned()),
            to_address: self.to_address.as_ref().map(|v| v.as_str().to_owned()),
            amount: self.amount.as_ref().map(|v| v.to_canonical_string()),
            memo: self.memo.as_ref().map(|v| v.as_str().to_owned()),
            occurred_at: self.occurred_at,
        }
    }
}

/// A subject line: trimmed, non-empty, bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject(String);

impl Subject {
    pub const MAX_CHARS: usize = 300;

    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(FieldError::new(
                "subject",
                "invalid_subject",
                "must not be empty",
            ));
        }
        if t.chars().count() > Self::MAX_CHARS {
            return Err(FieldError::new(
                "subject",
                "invalid_subject",
                format!("longer than {} characters", Self::MAX_CHARS),
            ));
        }
        if t.chars().any(|c| c.is_control()) {
            return Err(FieldError::new(
                "subject",
                "invalid_subject",
                "contains control characters",
            ));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A tag: lowercase, no spaces, so filters match what agents type.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tag(String);

impl Tag {
    pub fn parse(s: &str) -> Result<Self, FieldError> {
        let t = s.trim().to_lowercase();
        let ok = !t.is_empty()
            && t.chars().count() <= 64
            && t.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
        if ok {
            Ok(Self(t))
        } else {
            Err(FieldError::new(
                "tags",
                "invalid_tag",
                format!("`{s}`: a tag is 1-64 letters, digits, '-', '_', '.' or ':'"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Parses, de-duplicates and sorts tags so equal sets compare and hash equal.
pub fn parse_tags(raw: &[String]) -> Result<Vec<Tag>, FieldError> {
    if raw.len() > 50 {
        return Err(FieldError::new("tags", "invalid_tag", "at most 50 tags"));
    }
    let mut tags = raw
        .iter()
        .map(|t| Tag::parse(t))
        .collect::<Result<Vec<_>, _>>()?;
    tags.sort();
    tags.dedup();
    Ok(tags)
}

/// A language for text whose sender gave none: Chinese when it has CJK ideographs, else
/// English, the two languages xdesk answers in.
pub fn guess_language(text: &str) -> &'static str {
    if text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)) {
        "zh"
    } else {
        "en"
    }
}

/// A language code as BCP-47-ish `en`, `zh`, `zh-Hant`.
pub fn parse_language(s: &str) -> Result<String, FieldError> {
    let ok = (2..=12).contains(&s.len())
        && s.split('-')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(FieldError::new(
            "language",
            "invalid_language",
            format!("`{s}` is not a language code like en or zh"),
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn closed_is_final() {
        for &to in TicketState::ALL {
            assert!(TicketState::Closed.transition(to).is_err());
        }
    }

    #[test]
    fn nothing_returns_to_new() {
        for &from in TicketState::ALL {
            assert!(!from.can_transition(TicketState::New));
        }
    }

    #[test]
    fn usual_paths() {
        use TicketState::*;
        assert_eq!(New.transition(Open), Ok(Open));
        assert_eq!(Open.transition(PendingCustomer), Ok(PendingCustomer));
        assert_eq!(PendingCustomer.transition(Solved), Ok(Solved));
        assert_eq!(Solved.transition(Open), Ok(Open));
        assert_eq!(Solved.transition(Closed), Ok(Closed));
        assert_eq!(
            Solved.transition(Solved),
            Err(IllegalTransition {
                from: Solved,
                to: Solved
            })
        );
    }

    #[test]
    fn ticket_numbers() {
        assert_eq!("XD-10042".parse::<TicketNumber>().unwrap().value(), 10042);
        assert_eq!(
            "10042".parse::<TicketNumber>().unwrap().to_string(),
            "XD-10042"
        );
        assert!("XD-".parse::<TicketNumber>().is_err());
        assert!("XD-0".parse::<TicketNumber>().is_err());
        assert!("XD-12a".parse::<TicketNumber>().is_err());
    }

    #[test]
    fn crypto_fields_need_a_network() {
        let raw = RawCryptoFields {
            tx_hash: Some("ab".repeat(32)),
            ..Default::default()
        };
        let err = raw.validate().unwrap_err();
        assert_eq!(err.field, "tx_hash");
        assert_eq!(err.code, "network_required");
    }

    #[test]
    fn subjects_and_tags() {
        assert!(Subject::parse("  ").is_err());
        assert_eq!(
            Subject::parse(" 提币未到账 🚀 ").unwrap().as_str(),
            "提币未到账 🚀"
        );
        assert!(Subject::parse(&"x".repeat(301)).is_err());
        let tags = parse_tags(&["VIP".into(), "vip".into(), "提现".into()]).unwrap();
        assert_eq!(
            tags.iter().map(Tag::as_str).collect::<Vec<_>>(),
            ["vip", "提现"]
        );
        assert!(parse_tags(&["a b".into()]).is_err());
    }

    fn any_state() -> impl Strategy<Value = TicketState> {
        proptest::sample::select(TicketState::ALL)
    }

    proptest! {
        #[test]
        fn transition_agrees_with_can_transition(from in any_state(), to in any_state()) {
            prop_assert_eq!(from.transition(to).is_ok(), from.can_transition(to));
        }

        #[test]
        fn every_walk_respects_the_rules(steps in proptest::collection::vec(any_state(), 0..40)) {
            let mut state = TicketState::New;
            for to in steps {
                let before = state;
                match state.transition(to) {
                    Ok(next) => {
                        prop_assert_ne!(before, TicketState::Closed);
                        prop_assert_ne!(next, TicketState::New);
                        state = next;
                    }
                    Err(e) => {
                        prop_assert_eq!(e.from, before);
                        prop_assert_eq!(state, before);
                    }
                }
            }
        }

        #[test]
        fn state_names_round_trip(s in any_state()) {
            prop_assert_eq!(s.as_str().parse::<TicketState>().unwrap(), s);
        }
    }
}
