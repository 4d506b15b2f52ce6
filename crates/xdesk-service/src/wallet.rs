//! Wallet sign-in for customers with no account (DEX users): the server issues a single-use
//! nonce in a sign-in message naming this site; the wallet signs it; the signature
//! (`xdesk_domain::wallet` checks it; a smart-contract wallet is asked through the chain's node,
//! EIP-1271) makes the address the customer's identity, with no email and no password. The result is a portal session, which the chat widget uses too.

use crate::portal::PortalSession;
use crate::{ServiceError, Services};
use chrono::{Duration, Utc};
use xdesk_domain::FieldError;
use xdesk_domain::crypto::Address;
use xdesk_domain::identity::Identity;
use xdesk_domain::wallet::{self, Chain, Expect, SignInMessage, WalletError};

/// EVM chains whose wallets may sign in: Ethereum, BNB Smart Chain, Polygon, Arbitrum,
/// Optimism, Base, Avalanche C-Chain (an EVM address is the same on each).
pub const EVM_CHAIN_IDS: &[u64] = &[1, 56, 137, 42161, 10, 8453, 43114];
/// How long a challenge may wait for its signature.
const CHALLENGE_MINUTES: i64 = 10;

/// What the wallet is asked to sign.
#[derive(Debug, Clone)]
pub struct WalletChallenge {
    pub nonce: String,
    /// The exact text to sign.
    pub message: String,
    pub expires_at: chrono::DateTime<Utc>,
}

fn refused(e: &WalletError) -> ServiceError {
    FieldError::new("signature", e.code(), e.to_string()).into()
}

/// `0x5aAe…BeAed`: how a wallet customer is named until they say more.
fn short(address: &str) -> String {
    let chars: Vec<char> = address.chars().collect();
    if chars.len() <= 12 {
        return address.to_owned();
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 5..].iter().collect();
    format!("{head}…{tail}")
}

impl Services {
    /// EIP-1271: asks the contract at the message's address, on its chain, whether the
    /// signature is its own. None when it says no or no node for that chain is configured.
    async fn contract_wallet(
        &self,
        message: &str,
        signature: &str,
        expect: &Expect<'_>,
    ) -> Result<Option<wallet::SignedIn>, ServiceError> {
        let Ok((signed, chain_id)) = wallet::contract_wallet(message, expect) else {
            return Ok(None);
        };
        let (Some(network), Some(reader), Some(data)) = (
            wallet::evm_network(chain_id),
            self.chains.as_ref(),
            wallet::eip1271_call(message, signature),
        ) else {
            return Ok(None);
        };
        if !reader.reads(network) {
            return Ok(None);
        }
        match reader.call(network, signed.address.as_str(), &data).await {
            Ok(answer) if wallet::eip1271_yes(&answer) => Ok(Some(signed)),
            Ok(_) => Ok(None),
            // A contract that reverts, or no contract at all, is a no.
            Err(e) => {
                tracing::info!(error = %e, "EIP-1271 check answered no");
                Ok(None)
            }
        }
    }

    /// This site as sign-in messages name it: the public URL's host and port.
    fn sign_in_domain(&self) -> String {
        let url = &self.portal.public_url;
        url.split_once("://")
            .map_or(url.as_str(), |(_, r)| r)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default()
            .to_owned()
    }

    /// A challenge for `address` on `chain`: a fresh nonce, remembered until it expires. Anyone
    /// may ask, and each writes a row: limited per client address (`ip`).
    pub async fn wallet_challenge(
        &self,
        chain: &str,
        address: &str,
        ip: Option<&str>,
    ) -> Result<WalletChallenge, ServiceError> {
        let chain =
            Chain::parse(chain).map_err(|e| FieldError::new("chain", e.code(), e.to_string()))?;
        let address = Address::parse(chain.network(), address.trim())?;
        self.rate_limits
            .wallet_challenges
            .hit(&crate::ratelimit::client_key(ip))?;
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let now = Utc::now();
        let expires_at = now + Duration::minutes(CHALLENGE_MINUTES);
        self.store.create_wallet_nonce(&nonce, expires_at).await?;
        let message = SignInMessage {
            chain,
            domain: self.sign_in_domain(),
            address: address.as_str().to_owned(),
            statement: Some(format!(
                "Sign in to {} support with your wallet. This is free and allows no transaction.",
                self.mail.from_name
            )),
            uri: format!("{}/portal", self.portal.public_url.trim_end_matches('/')),
            version: "1".into(),
            chain_id: (chain == Chain::Ethereum).then(|| EVM_CHAIN_IDS[0].to_string()),
            nonce: nonce.clone(),
            issued_at: now,
            expiration_time: Some(expires_at),
            not_before: None,
        };
        Ok(WalletChallenge {
            nonce,
            message: message.to_text(),
            expires_at,
        })
    }

    /// Signs a customer in with a signed challenge: the nonce is used up, the wallet becomes
    /// (or finds) the customer. Replayed, expired, foreign and tampered messages are refused.
    pub async fn wallet_sign_in(
        &self,
        message: &str,
        signature: &str,
        language: &str,
    ) -> Result<PortalSession, ServiceError> {
        let now = Utc::now();
        let domain = self.sign_in_domain();
        let expect = Expect {
            domain: &domain,
            now,
            evm_chain_ids: EVM_CHAIN_IDS,
            max_age: Duration::minutes(CHALLENGE_MINUTES),
        };
        let signed = match wallet::verify(message, signature, &expect) {
            Ok(s) => s,
            // Not a key's signature: perhaps a smart-contract wallet's (EIP-1271).
            Err(WalletError::BadSignature) => self
                .contract_wallet(message, signature, &expect)
                .await?
                .ok_or_else(|| refused(&WalletError::BadSignature))?,
            Err(e) => return Err(refused(&e)),
        };
        if !self.store.use_wallet_nonce(&signed.nonce, now).await? {
            return Err(FieldError::new(
                "message",
                "nonce_used",
                "this sign-in message was used already, has expired or was not issued here; ask for a new one",
            )
            .into());
        }
        let identity = Identity::Wallet {
            network: signed.chain.network(),
            address: signed.address.clone(),
        };
        let customer = self
            .store
            .upsert_customer(&[identity], &short(signed.address.as_str()), language)
            .await?;
        self.audit_admin(
            format!("customer:{}", customer.id),
            "customer.wallet_sign_in",
            format!("customer:{}", customer.id),
            serde_json::json!({"chain": signed.chain.as_str(), "address": signed.address.as_str()}),
        )
        .await?;
        self.portal_session(customer).await
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_addresses_are_shortened_for_names() {
        assert_eq!(
            super::short("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
            "0x5aAe…BeAed"
        );
        assert_eq!(super::short("short"), "short");
    }
}
