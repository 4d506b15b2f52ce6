//! Issue types customers choose when they open a ticket, and the case fields each one needs.
//! Exchanges tell users to "bring your UID, tx hash, time, amount and addresses"; the form asks
//! for exactly those up front, so the first agent reply is an answer and not a request for
//! details.

use crate::FieldError;
use crate::ticket::{RawCryptoFields, string_enum};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

string_enum!(
    /// What the customer's problem is about; stored as the ticket's category.
    IssueType, "issue_type", "invalid_issue_type" {
        MissingDeposit => "missing_deposit",
        PendingWithdrawal => "pending_withdrawal",
        WrongNetwork => "wrong_network",
        AccountAccess => "account_access",
        Verification => "verification",
        Security => "security",
        Other => "other",
    }
);

string_enum!(
    /// A crypto case field as a form names it.
    CaseField, "field", "invalid_field" {
        Network => "network",
        Asset => "asset",
        TxHash => "tx_hash",
        FromAddress => "from_address",
        ToAddress => "to_address",
        Amount => "amount",
        Memo => "memo",
        OccurredAt => "occurred_at",
    }
);

/// Whether a form must have a field filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Required,
    Optional,
}

impl IssueType {
    /// The triage intent a ticket of this type is about, for matching it to an incident's
    /// components before it is written; `None` when the type says nothing specific.
    pub fn intent(self) -> Option<&'static str> {
        match self {
            IssueType::MissingDeposit | IssueType::WrongNetwork => Some("deposit_missing"),
            IssueType::PendingWithdrawal => Some("withdrawal_delayed"),
            IssueType::AccountAccess => Some("account_access"),
            IssueType::Verification => Some("kyc"),
            IssueType::Security => Some("account_compromised"),
            IssueType::Other => None,
        }
    }

    /// The case fields the form shows for this issue type, in form order.
    pub fn fields(self) -> &'static [(CaseField, Need)] {
        use CaseField::*;
        use Need::*;
        match self {
            IssueType::MissingDeposit => &[
                (Network, Required),
                (Asset, Required),
                (TxHash, Required),
                (ToAddress, Required),
                (Memo, Optional),
                (Amount, Required),
                (OccurredAt, Required),
            ],
            IssueType::PendingWithdrawal => &[
                (Network, Required),
                (Asset, Required),
                (ToAddress, Required),
                (Memo, Optional),
                (Amount, Required),
                (OccurredAt, Required),
                (TxHash, Optional),
            ],
            IssueType::WrongNetwork => &[
                (Network, Required),
                (Asset, Required),
                (TxHash, Required),
                (FromAddress, Optional),
                (ToAddress, Required),
                (Memo, Optional),
                (Amount, Required),
                (OccurredAt, Optional),
            ],
            IssueType::Security => &[
                (Network, Optional),
                (TxHash, Optional),
                (ToAddress, Optional),
                (Amount, Optional),
                (OccurredAt, Optional),
            ],
            IssueType::AccountAccess | IssueType::Verification | IssueType::Other => &[],
        }
    }

    /// Money at risk (a possible theft) goes to the front of the queue.
    pub fn urgent(self) -> bool {
        self == IssueType::Security
    }
}

impl RawCryptoFields {
    /// The value given for one field, as text.
    pub fn get(&self, f: CaseField) -> Option<String> {
        match f {
            CaseField::Network => self.network.clone(),
            CaseField::Asset => self.asset.clone(),
            CaseField::TxHash => self.tx_hash.clone(),
            CaseField::FromAddress => self.from_address.clone(),
            CaseField::ToAddress => self.to_address.clone(),
            CaseField::Amount => self.amount.clone(),
            CaseField::Memo => self.memo.clone(),
            CaseField::OccurredAt => self.occurred_at.map(|t| t.to_rfc3339()),
        }
    }

    /// Checks every field on its own, so a form can show each problem beside its input rather
    /// than only the first one. Blank values count as not given.
    pub fn check_each(&self) -> Vec<FieldError> {
        let mut errors = Vec::new();
        let network_bad = self
            .network
            .as_deref()
            .is_some_and(|n| crate::crypto::Network::from_str(n).is_err());
        for f in CaseField::ALL {
            let mut one = RawCryptoFields::default();
            match f {
                CaseField::Network => one.network = self.network.clone(),
                CaseField::Asset => one.asset = self.asset.clone(),
                CaseField::Amount => one.amount = self.amount.clone(),
                CaseField::OccurredAt => continue,
                _ => {
                    // Checked against the network; a bad network is reported once, on itself.
                    if network_bad {
                        continue;
                    }
                    one.network = self.network.clone();
                    match f {
                        CaseField::TxHash => one.tx_hash = self.tx_hash.clone(),
                        CaseField::FromAddress => one.from_address = self.from_address.clone(),
                        CaseField::ToAddress => one.to_address = self.to_address.clone(),
                        _ => one.memo = self.memo.clone(),
                    }
                }
            }
            if let Err(e) = one.validate() {
                errors.push(e.for_field(f.as_str()));
            }
        }
        errors
    }

    /// What a form for `issue` lacks or has wrong: every field's problem, empty when the
    /// ticket may be opened.
    pub fn check_for(&self, issue: IssueType) -> Vec<FieldError> {
        let mut errors = self.check_each();
        for (f, need) in issue.fields() {
            if *need == Need::Required
                && self.get(*f).is_none()
                && !errors.iter().any(|e| e.field == f.as_str())
            {
                errors.push(FieldError::new(
                    f.as_str(),
                    "required",
                    format!("`{f}` is needed for this kind of problem"),
                ));
            }
        }
        let order = |e: &FieldError| {
            CaseField::ALL
                .iter()
                .position(|f| f.as_str() == e.field)
                .unwrap_or(usize::MAX)
        };
        errors.sort_by_key(order);
        errors
    }
}

/// Reads the time a form's `datetime-local` input sends (`2026-11-21T09:30`, taken as UTC), or
/// an RFC 3339 timestamp.
pub fn parse_form_time(s: &str) -> Result<DateTime<Utc>, FieldError> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            FieldError::new(
                "occurred_at",
                "invalid_time",
                format!("`{s}` is not a date and time like 2026-11-21T09:30"),
            )
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const TRON_TX: &str = "a7d3c1e5b2f4a6c8e0d2f4b6a8c0e2d4f6b8a0c2e4d6f8b0a2c4e6d8f0b2a4c6";

    fn deposit() -> RawCryptoFields {
        RawCryptoFields {
            network: Some("tron".into()),
            asset: Some("USDT".into()),
            tx_hash: Some(TRON_TX.into()),
            to_address: Some("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into()),
            amount: Some("120.5".into()),
            occurred_at: Some(Utc::now()),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_deposit_form_passes() {
        assert_eq!(deposit().check_for(IssueType::MissingDeposit), vec![]);
    }

    #[test]
    fn every_missing_required_field_is_named() {
        let errors = RawCryptoFields::default().check_for(IssueType::MissingDeposit);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "network",
                "asset",
                "tx_hash",
                "to_address",
                "amount",
                "occurred_at"
            ]
        );
        assert!(errors.iter().all(|e| e.code == "required"));
        assert_eq!(
            RawCryptoFields::default().check_for(IssueType::AccountAccess),
            vec![]
        );
    }

    #[test]
    fn each_bad_field_is_reported_beside_itself() {
        let mut f = deposit();
        f.tx_hash = Some("0x1234".into());
        f.to_address = Some("0x52908400098527886E0F7030069857D2E4169EE7".into());
        f.amount = Some("-3".into());
        let errors = f.check_for(IssueType::MissingDeposit);
        let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            got,
            [
                ("tx_hash", "invalid_tx_hash"),
                ("to_address", "invalid_address"),
                ("amount", "invalid_amount"),
            ]
        );
    }

    #[test]
    fn a_bad_network_is_one_error_not_one_per_field() {
        let mut f = deposit();
        f.network = Some("narnia".into());
        let errors = f.check_each();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "network");
    }

    #[test]
    fn an_address_without_network_asks_for_the_network() {
        let f = RawCryptoFields {
            to_address: Some("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t".into()),
            ..Default::default()
        };
        let errors = f.check_each();
        assert_eq!(errors[0].field, "to_address");
        assert_eq!(errors[0].code, "network_required");
    }

    #[test]
    fn form_times_are_read_as_utc() {
        let t = parse_form_time("2026-11-21T09:30").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-21T09:30:00+00:00");
        let t = parse_form_time("2026-11-21T09:30:00+08:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-21T01:30:00+00:00");
        assert_eq!(
            parse_form_time("yesterday").unwrap_err().code,
            "invalid_time"
        );
    }

    #[test]
    fn only_security_reports_are_urgent() {
        let urgent: Vec<_> = IssueType::ALL.iter().filter(|t| t.urgent()).collect();
        assert_eq!(urgent, [&IssueType::Security]);
    }
}
