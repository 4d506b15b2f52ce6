//! The exchange connector's contract (`docs/exchange-connector.openapi.yaml`): what an exchange
//! tells support about an account (status and KYC with its history, recent deposits and
//! withdrawals with their transaction hashes, recent logins, risk flags) and the actions
//! support may ask of it. Also how personal data is masked for agents by default: an agent who
//! needs a field in clear gives a reason, and that is audited.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// An account as the exchange reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    pub uid: String,
    /// `active`, `frozen` or `closed`.
    pub status: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub created_at: DateTime<Utc>,
    pub kyc: Kyc,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kyc {
    /// 0 (none) to 3.
    pub level: u8,
    /// `none`, `pending`, `approved` or `rejected`.
    pub status: String,
    #[serde(default)]
    pub history: Vec<KycStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KycStep {
    pub at: DateTime<Utc>,
    pub level: u8,
    pub status: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// A deposit or a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfer {
    /// `deposit` or `withdrawal`.
    pub kind: String,
    pub asset: String,
    pub network: String,
    /// Decimal string: never a float for money.
    pub amount: String,
    pub tx_hash: Option<String>,
    pub address: Option<String>,
    pub memo: Option<String>,
    /// `pending`, `confirming`, `completed`, `failed` or `on_hold`.
    pub status: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub at: DateTime<Utc>,
    pub ip: String,
    /// "Singapore, SG".
    pub location: String,
    pub device: String,
    /// `success` or `failed`.
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RiskFlag {
    /// `new_device`, `withdrawal_address_changed`, `sanctions_hit`, …
    pub flag: String,
    /// `low`, `medium` or `high`.
    pub severity: String,
    pub since: DateTime<Utc>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Where the exchange takes this account's deposits of `asset` on `network`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositAddress {
    pub network: String,
    pub asset: String,
    pub address: String,
    #[serde(default)]
    pub memo: Option<String>,
}

/// An action support asks of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The emergency "lock my account": no login, no withdrawal, until the exchange unlocks it.
    Freeze,
    /// Removes the second factor so the customer can enrol a new one; a supervisor approves it.
    ResetTwoFactor,
    /// Sends the customer a new KYC link.
    ResendKyc,
}

impl Action {
    pub const ALL: &'static [Action] = &[Action::Freeze, Action::ResetTwoFactor, Action::ResendKyc];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Freeze => "freeze",
            Action::ResetTwoFactor => "reset_2fa",
            Action::ResendKyc => "resend_kyc",
        }
    }

    pub fn parse(s: &str) -> Option<Action> {
        Action::ALL.iter().copied().find(|a| a.as_str() == s)
    }

    /// The connector's path under `/v1/accounts/{uid}/`.
    pub fn path(self) -> &'static str {
        match self {
            Action::Freeze => "freeze",
            Action::ResetTwoFactor => "reset-2fa",
            Action::ResendKyc => "kyc/resend",
        }
    }
}

/// What an action asks: why, and who asked (and who approved, where that is needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionRequest {
    pub reason: String,
    /// `agent:7`, `customer:42` (a customer freezing their own account).
    pub requested_by: String,
    #[serde(default)]
    pub approved_by: Option<String>,
    /// The support ticket it is for, `XD-…`.
    #[serde(default)]
    pub ticket: Option<String>,
}

/// The exchange's answer to an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    /// `done`, `pending` or `refused`.
    pub result: String,
    /// The account's status after it.
    pub account_status: String,
    #[serde(default)]
    pub message: Option<String>,
}

/// The personal fields agents see masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PiiField {
    Email,
    Phone,
    Name,
}

impl PiiField {
    pub const ALL: &'static [PiiField] = &[PiiField::Email, PiiField::Phone, PiiField::Name];

    pub fn as_str(self) -> &'static str {
        match self {
            PiiField::Email => "email",
            PiiField::Phone => "phone",
            PiiField::Name => "name",
        }
    }

    pub fn parse(s: &str) -> Option<PiiField> {
        PiiField::ALL.iter().copied().find(|f| f.as_str() == s)
    }

    pub fn of(self, a: &Account) -> Option<&str> {
        match self {
            PiiField::Email => a.email.as_deref(),
            PiiField::Phone => a.phone.as_deref(),
            PiiField::Name => a.name.as_deref(),
        }
    }

    /// Enough to recognise, not enough to use: `l***@example.com`, `+86 ******5678`, `W. L.`
    pub fn mask(self, value: &str) -> String {
        match self {
            PiiField::Email => match value.split_once('@') {
                Some((local, domain)) => {
                    let first: String = local.chars().take(1).collect();
                    format!("{first}***@{domain}")
                }
                None => "***".into(),
            },
            PiiField::Phone => {
                let digits: Vec<char> = value.chars().filter(char::is_ascii_digit).collect();
                let keep = digits.len().saturating_sub(4);
                let tail: String = digits[keep..].iter().collect();
                let plus = if value.trim_start().starts_with('+') {
                    "+"
                } else {
                    ""
                };
                format!("{plus}{}{tail}", "*".repeat(keep.min(8)))
            }
            PiiField::Name => value
                .split_whitespace()
                .map(|w| {
                    let first: String = w.chars().take(1).collect();
                    // A CJK name is one word: keep its first character only.
                    if w.chars().count() > 1 {
                        format!("{first}*")
                    } else {
                        first
                    }
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

/// An agent unmasking more than this many fields in an hour is unusual: admins are alerted
/// (an insider leaking customers' data to scammers is a real pattern).
pub const UNMASKS_PER_HOUR: u32 = 20;

/// True when this unmask (the `count`-th in the hour) is the one that crosses the line: the
/// alert goes once, not on every later unmask.
pub fn unmask_alarm(count: u32) -> bool {
    count == UNMASKS_PER_HOUR + 1
}

/// The connector path of an account: the UID as one percent-encoded path segment, so a UID
/// holding `/`, `?`, `#` or `..` can never point the request at another resource.
pub fn account_path(uid: &str) -> String {
    format!("v1/accounts/{}", path_segment(uid))
}

/// Percent-encodes everything but RFC 3986's unreserved characters; `.` and `..` alone are
/// encoded too, since clients and servers resolve them as dot-segments.
pub fn path_segment(s: &str) -> String {
    if s == "." || s == ".." {
        return s.replace('.', "%2E");
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_data_is_masked_recognisably() {
        assert_eq!(
            PiiField::Email.mask("lin.wei@example.com"),
            "l***@example.com"
        );
        assert_eq!(PiiField::Email.mask("broken"), "***");
        assert_eq!(PiiField::Phone.mask("+86 138 0013 5678"), "+********5678");
        assert_eq!(PiiField::Phone.mask("555-0199"), "***0199");
        assert_eq!(PiiField::Name.mask("Wei Lin"), "W* L*");
        assert_eq!(PiiField::Name.mask("王小明"), "王*");
        for f in PiiField::ALL {
            assert_eq!(PiiField::parse(f.as_str()), Some(*f));
        }
    }

    #[test]
    fn the_unmask_alarm_rings_once() {
        let rings: Vec<u32> = (1..=60).filter(|n| unmask_alarm(*n)).collect();
        assert_eq!(rings, vec![UNMASKS_PER_HOUR + 1]);
    }

    #[test]
    fn account_paths_keep_the_uid_in_one_segment() {
        assert_eq!(account_path("U1001"), "v1/accounts/U1001");
        assert_eq!(
            account_path("a/../../admin?x=1#f"),
            "v1/accounts/a%2F..%2F..%2Fadmin%3Fx%3D1%23f"
        );
        assert_eq!(account_path(".."), "v1/accounts/%2E%2E");
        assert_eq!(account_path("用户"), "v1/accounts/%E7%94%A8%E6%88%B7");
        assert_eq!(account_path("a%2Fb"), "v1/accounts/a%252Fb");
    }

    #[test]
    fn actions_have_paths() {
        for a in Action::ALL {
            assert_eq!(Action::parse(a.as_str()), Some(*a));
            assert!(!a.path().starts_with('/'));
        }
    }
}
