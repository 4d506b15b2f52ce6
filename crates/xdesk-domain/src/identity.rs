//! People: customers with identities on several channels, and agents with roles.

use crate::FieldError;
use crate::crypto::{Address, Network};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One way a customer can be recognised. A customer may have several, and all of them lead to
/// the same history whatever channel they write on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Identity {
    Email(String),
    /// The user ID in the exchange's own account system.
    ExchangeUid(String),
    Wallet {
        network: Network,
        address: Address,
    },
    Telegram(i64),
    /// An anonymous chat visitor: a random ID the widget keeps in the browser. Proves nothing
    /// about who they are; it only lets them come back to their conversation.
    Visitor(String),
}

/// Every identity kind, as stored.
pub const KINDS: [&str; 5] = ["email", "exchange_uid", "wallet", "telegram", "visitor"];

impl Identity {
    pub fn kind(&self) -> &'static str {
        match self {
            Identity::Email(_) => "email",
            Identity::ExchangeUid(_) => "exchange_uid",
            Identity::Wallet { .. } => "wallet",
            Identity::Telegram(_) => "telegram",
            Identity::Visitor(_) => "visitor",
        }
    }

    /// The value as stored and looked up: unique per kind.
    pub fn value(&self) -> String {
        match self {
            Identity::Email(e) => e.clone(),
            Identity::ExchangeUid(u) => u.clone(),
            Identity::Wallet { network, address } => {
                format!("{network}:{address}", address = address.as_str())
            }
            Identity::Telegram(id) => id.to_string(),
            Identity::Visitor(v) => v.clone(),
        }
    }

    /// Parses `kind` + `value` as they arrive from the API.
    pub fn parse(kind: &str, value: &str) -> Result<Self, FieldError> {
        match kind {
            "email" => parse_email(value).map(Identity::Email),
            "exchange_uid" => {
                // What exchanges use as account IDs (numbers, UUIDs, `U1001`, `sub|123`): no
                // character that means something in a URL path, query or fragment.
                let v = value.trim();
                if v.is_empty()
                    || v.len() > 64
                    || v == "."
                    || v == ".."
                    || !v.bytes().all(|b| {
                        b.is_ascii_alphanumeric()
                            || matches!(b, b'-' | b'_' | b'.' | b':' | b'@' | b'|' | b'+')
                    })
                {
                    Err(FieldError::new(
                        "exchange_uid",
                        "invalid_identity",
                        "1-64 letters, digits and - _ . : @ | +",
                    ))
                } else {
                    Ok(Identity::ExchangeUid(v.to_owned()))
                }
            }
            "wallet" => {
                let (network, address) = value.split_once(':').ok_or_else(|| {
                    FieldError::new("wallet", "invalid_identity", "expected `network:address`")
                })?;
                let network = Network::from_str(network).map_err(|e| e.for_field("wallet"))?;
                let address =
                    Address::parse(network, address).map_err(|e| e.for_field("wallet"))?;
                Ok(Identity::Wallet { network, address })
            }
            "telegram" => value
                .trim()
                .parse::<i64>()
                .ok()
                .filter(|n| *n > 0)
                .map(Identity::Telegram)
                .ok_or_else(|| {
                    FieldError::new(
                        "telegram",
                        "invalid_identity",
                        "a Telegram user ID is a positive number",
                    )
                }),
            "visitor" => {
                let v = value.trim();
                if (16..=64).contains(&v.len())
                    && v.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                {
                    Ok(Identity::Visitor(v.to_owned()))
                } else {
                    Err(FieldError::new(
                        "visitor",
                        "invalid_identity",
                        "16-64 letters, digits, - or _",
                    ))
                }
            }
            other => Err(FieldError::new(
                "kind",
                "invalid_identity",
                format!("`{other}` is not one of: email, exchange_uid, wallet, telegram"),
            )),
        }
    }
}

/// A pragmatic address check: one `@`, a dotted domain, no spaces; lower-cased for lookup.
pub fn parse_email(s: &str) -> Result<String, FieldError> {
    let e = s.trim().to_lowercase();
    let bad = || {
        FieldError::new(
            "email",
            "invalid_email",
            format!("`{s}` is not an e-mail address"),
        )
    };
    let (local, domain) = e.split_once('@').ok_or_else(bad)?;
    let ok = !local.is_empty()
        && local.len() <= 64
        && domain.len() <= 253
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !e
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';'));
    if ok { Ok(e) } else { Err(bad()) }
}

/// What an agent may do. Ordered: each role can do everything the ones before it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Agent,
    Supervisor,
    Admin,
}

impl Role {
    pub const ALL: &'static [Role] = &[Role::Agent, Role::Supervisor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Supervisor => "supervisor",
            Role::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, FieldError> {
        match s {
            "agent" => Ok(Role::Agent),
            "supervisor" => Ok(Role::Supervisor),
            "admin" => Ok(Role::Admin),
            _ => Err(FieldError::new(
                "role",
                "invalid_role",
                "one of: agent, supervisor, admin",
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Password policy for agents: long enough to resist guessing, bounded to keep hashing cheap.
pub fn check_password(p: &str) -> Result<(), FieldError> {
    let n = p.chars().count();
    if n < 12 {
        return Err(FieldError::new(
            "password",
            "weak_password",
            "at least 12 characters",
        ));
    }
    if p.len() > 256 {
        return Err(FieldError::new(
            "password",
            "invalid_password",
            "at most 256 bytes",
        ));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn exchange_uids_carry_no_url_syntax() {
        for ok in [
            "U1001",
            "123456789",
            "3f2b8c1e-9d4a-4b7e-8a61-0c5d2e7f9a10",
            "auth0|abc",
            "a.b",
        ] {
            assert!(Identity::parse("exchange_uid", ok).is_ok(), "{ok}");
        }
        for bad in [
            "U1/../admin",
            "U1?x=1",
            "U1#f",
            "U1%2F",
            "..",
            ".",
            "a b",
            "a\\b",
            "",
            "用户1",
        ] {
            assert!(Identity::parse("exchange_uid", bad).is_err(), "{bad}");
        }
        assert!(Identity::parse("exchange_uid", &"x".repeat(65)).is_err());
    }

    #[test]
    fn emails() {
        assert_eq!(
            parse_email(" Alice@Example.COM ").unwrap(),
            "alice@example.com"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "a@.com",
            "a b@c.com",
            "@c.com",
            "a@b.com@c.com",
        ] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn identities() {
        assert_eq!(
            Identity::parse("telegram", "12345").unwrap(),
            Identity::Telegram(12345)
        );
        assert!(Identity::parse("telegram", "-1").is_err());
        assert!(Identity::parse("fax", "1").is_err());
        let e = Identity::parse("wallet", "nonsense").unwrap_err();
        assert_eq!(e.field, "wallet");
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin > Role::Supervisor && Role::Supervisor > Role::Agent);
    }
}
