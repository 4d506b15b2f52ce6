//! Wallet sign-in for people who have no account, only a wallet (DEX users): they sign a
//! sign-in message (EIP-4361 "Sign-In with Ethereum", and its CAIP-122 siblings for Bitcoin
//! and Solana) that names this site, a server-issued nonce and a time window, and the
//! signature proves they hold the address. Checked here, with no I/O: the message's fields
//! against what the server expects, and the signature: EIP-191 for Ethereum; BIP-322 "simple"
//! (P2WPKH) and the legacy `signmessage` format (BIP-137) for Bitcoin; Ed25519 for Solana.
//! The caller makes sure the nonce was issued by it, is unexpired and is used once.

use crate::crypto::{Address, Network};
use chrono::{DateTime, Duration, Utc};
use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
use ripemd::Ripemd160;
use sha2::{Digest, Sha256};
use sha3::Keccak256;

/// The chains a wallet can sign in with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Chain {
    Ethereum,
    Bitcoin,
    Solana,
}

impl Chain {
    pub const ALL: &'static [Chain] = &[Chain::Ethereum, Chain::Bitcoin, Chain::Solana];

    pub fn as_str(self) -> &'static str {
        match self {
            Chain::Ethereum => "ethereum",
            Chain::Bitcoin => "bitcoin",
            Chain::Solana => "solana",
        }
    }

    /// The word in the message's first line: "… sign in with your Ethereum account:".
    fn account_word(self) -> &'static str {
        match self {
            Chain::Ethereum => "Ethereum",
            Chain::Bitcoin => "Bitcoin",
            Chain::Solana => "Solana",
        }
    }

    pub fn parse(s: &str) -> Result<Chain, WalletError> {
        Chain::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or(WalletError::UnknownChain)
    }

    /// The network the wallet identity is kept under (any EVM chain: Ethereum's addresses).
    pub fn network(self) -> Network {
        match self {
            Chain::Ethereum => Network::Ethereum,
            Chain::Bitcoin => Network::Bitcoin,
            Chain::Solana => Network::Solana,
        }
    }
}

/// Why a sign-in is refused. Each has a stable code for the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalletError {
    #[error("unknown chain")]
    UnknownChain,
    #[error("not a sign-in message: {0}")]
    Malformed(String),
    #[error("the message is for {found}, not this site ({expected})")]
    WrongDomain { expected: String, found: String },
    #[error("the message's URI is not on this site")]
    WrongUri,
    #[error("chain {0} is not accepted here")]
    WrongChain(String),
    #[error("the message has expired or is not valid yet")]
    Expired,
    #[error("the signature does not match the address")]
    BadSignature,
    #[error("this kind of address cannot sign in yet: {0}")]
    Unsupported(&'static str),
}

impl WalletError {
    pub fn code(&self) -> &'static str {
        match self {
            WalletError::UnknownChain => "unknown_chain",
            WalletError::Malformed(_) => "malformed_message",
            WalletError::WrongDomain { .. } => "wrong_domain",
            WalletError::WrongUri => "wrong_uri",
            WalletError::WrongChain(_) => "wrong_chain",
            WalletError::Expired => "expired",
            WalletError::BadSignature => "bad_signature",
            WalletError::Unsupported(_) => "unsupported_address",
        }
    }
}

/// A sign-in message, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInMessage {
    pub chain: Chain,
    pub domain: String,
    pub address: String,
    pub statement: Option<String>,
    pub uri: String,
    pub version: String,
    pub chain_id: Option<String>,
    pub nonce: String,
    pub issued_at: DateTime<Utc>,
    pub expiration_time: Option<DateTime<Utc>>,
    pub not_before: Option<DateTime<Utc>>,
}

fn malformed(why: &str) -> WalletError {
    WalletError::Malformed(why.to_owned())
}

fn time(v: &str) -> Result<DateTime<Utc>, WalletError> {
    DateTime::parse_from_rfc3339(v.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| malformed("a time is not RFC 3339"))
}

impl SignInMessage {
    /// Reads the EIP-4361 text (the same layout for Bitcoin and Solana accounts).
    pub fn parse(text: &str) -> Result<SignInMessage, WalletError> {
        if text.len() > 4096 {
            return Err(malformed("too long"));
        }
        let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
        let first = lines.next().unwrap_or_default();
        let (domain, rest) = first
            .split_once(" wants you to sign in with your ")
            .ok_or_else(|| malformed("first line"))?;
        let word = rest
            .strip_suffix(" account:")
            .ok_or_else(|| malformed("first line"))?;
        let chain = Chain::ALL
            .iter()
            .copied()
            .find(|c| c.account_word() == word)
            .ok_or(WalletError::UnknownChain)?;
        let domain = domain
            .split_once("://")
            .map_or(domain, |(_, d)| d)
            .to_owned();
        let address = lines
            .next()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| malformed("no address"))?
            .to_owned();
        let mut statement = Vec::new();
        let mut fields: Vec<(String, String)> = Vec::new();
        let mut in_fields = false;
        for line in lines {
            if let Some((k, v)) = line.split_once(": ")
                && matches!(
                    k,
                    "URI"
                        | "Version"
                        | "Chain ID"
                        | "Nonce"
                        | "Issued At"
                        | "Expiration Time"
                        | "Not Before"
                        | "Request ID"
                )
            {
                in_fields = true;
                fields.push((k.to_owned(), v.to_owned()));
            } else if !in_fields && !line.is_empty() {
                statement.push(line);
            } else if in_fields
                && !(line.is_empty() || line == "Resources:" || line.starts_with("- "))
            {
                return Err(malformed("unexpected line"));
            }
        }
        let get = |k: &str| fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
        let need = |k: &str| get(k).ok_or_else(|| malformed(&format!("no {k}")));
        let nonce = need("Nonce")?;
        if nonce.len() < 8 || !nonce.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(malformed("the nonce must be 8 or more letters and digits"));
        }
        Ok(SignInMessage {
            chain,
            domain,
            address,
            statement: (!statement.is_empty()).then(|| statement.join("\n")),
            uri: need("URI")?,
            version: need("Version")?,
            chain_id: get("Chain ID"),
            nonce,
            issued_at: time(&need("Issued At")?)?,
            expiration_time: get("Expiration Time").map(|t| time(&t)).transpose()?,
            not_before: get("Not Before").map(|t| time(&t)).transpose()?,
        })
    }

    /// The text a wallet signs, EIP-4361 layout.
    pub fn to_text(&self) -> String {
        let mut t = format!(
            "{} wants you to sign in with your {} account:\n{}\n\n",
            self.domain,
            self.chain.account_word(),
            self.address
        );
        if let Some(s) = &self.statement {
            t.push_str(s);
            t.push('\n');
        }
        t.push_str(&format!("\nURI: {}\nVersion: {}\n", self.uri, self.version));
        if let Some(c) = &self.chain_id {
            t.push_str(&format!("Chain ID: {c}\n"));
        }
        t.push_str(&format!(
            "Nonce: {}\nIssued At: {}",
            self.nonce,
            self.issued_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
        if let Some(e) = self.expiration_time {
            t.push_str(&format!(
                "\nExpiration Time: {}",
                e.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        if let Some(n) = self.not_before {
            t.push_str(&format!(
                "\nNot Before: {}",
                n.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ));
        }
        t
    }
}

/// What the server expects of a message.
#[derive(Debug, Clone)]
pub struct Expect<'a> {
    /// This site's host (and port, if not the default), as the browser shows it.
    pub domain: &'a str,
    pub now: DateTime<Utc>,
    /// EVM chain IDs accepted (`1` for Ethereum mainnet, …).
    pub evm_chain_ids: &'a [u64],
    /// How old an `Issued At` may be.
    pub max_age: Duration,
}

/// A proven sign-in: the wallet identity and the nonce to use up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub chain: Chain,
    pub address: Address,
    pub nonce: String,
}

/// Checks a signed sign-in message: its fields against `expect`, then the signature.
pub fn verify(text: &str, signature: &str, expect: &Expect) -> Result<SignedIn, WalletError> {
    let (m, address) = checked(text, expect)?;
    // Every signature form here is under 200 characters; base58 decoding takes time quadratic
    // in the length (a 64 KiB Solana "signature" took a second; found by xdesk-fuzz).
    if signature.trim().len() > 1024 {
        return Err(WalletError::BadSignature);
    }
    match m.chain {
        Chain::Ethereum => verify_eip191(text, signature, address.as_str())?,
        Chain::Bitcoin => verify_bitcoin(text, signature, address.as_str())?,
        Chain::Solana => verify_solana(text, signature, address.as_str())?,
    }
    Ok(SignedIn {
        chain: m.chain,
        address,
        nonce: m.nonce,
    })
}

/// A message whose fields hold but whose signature is left to an EIP-1271 contract wallet:
/// the sign-in to grant if the contract at the address answers yes to [`eip1271_call`], and
/// the EVM chain ID to ask it on.
pub fn contract_wallet(text: &str, expect: &Expect) -> Result<(SignedIn, u64), WalletError> {
    let (m, address) = checked(text, expect)?;
    if m.chain != Chain::Ethereum {
        return Err(WalletError::BadSignature);
    }
    let chain_id = m
        .chain_id
        .as_deref()
        .and_then(|c| c.parse().ok())
        .ok_or(WalletError::BadSignature)?;
    Ok((
        SignedIn {
            chain: m.chain,
            address,
            nonce: m.nonce,
        },
        chain_id,
    ))
}

/// The `eth_call` data asking a contract wallet whether `signature` signs `text`:
/// `isValidSignature(bytes32 hash, bytes signature)` with the EIP-191 hash.
pub fn eip1271_call(text: &str, signature: &str) -> Option<String> {
    let sig = hex::decode(signature.trim().trim_start_matches("0x")).ok()?;
    let mut data = vec![0x16, 0x26, 0xba, 0x7e];
    data.extend_from_slice(&eip191_hash(text.as_bytes()));
    let mut word = [0u8; 32];
    word[31] = 0x40;
    data.extend_from_slice(&word);
    let mut len = [0u8; 32];
    len[24..].copy_from_slice(&(sig.len() as u64).to_be_bytes());
    data.extend_from_slice(&len);
    data.extend_from_slice(&sig);
    data.resize(data.len() + (32 - sig.len() % 32) % 32, 0);
    Some(format!("0x{}", hex::encode(data)))
}

/// Whether a contract wallet's answer is EIP-1271's "yes" (the function's own selector).
pub fn eip1271_yes(answer: &str) -> bool {
    answer
        .trim_start_matches("0x")
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("1626ba7e"))
}

/// The EVM network (as xdesk names it) of a chain ID.
pub fn evm_network(chain_id: u64) -> Option<&'static str> {
    Some(match chain_id {
        1 => "ethereum",
        56 => "bsc",
        137 => "polygon",
        42161 => "arbitrum",
        10 => "optimism",
        8453 => "base",
        43114 => "avalanche-c",
        _ => return None,
    })
}

/// The message's fields against what the server expects, and its address.
fn checked(text: &str, expect: &Expect) -> Result<(SignInMessage, Address), WalletError> {
    let m = SignInMessage::parse(text)?;
    if !m.domain.eq_ignore_ascii_case(expect.domain) {
        return Err(WalletError::WrongDomain {
            expected: expect.domain.to_owned(),
            found: m.domain,
        });
    }
    let uri_host = m
        .uri
        .split_once("://")
        .map(|(_, r)| r.split(['/', '?', '#']).next().unwrap_or_default());
    if !uri_host.is_some_and(|h| h.eq_ignore_ascii_case(expect.domain)) {
        return Err(WalletError::WrongUri);
    }
    if m.version != "1" {
        return Err(malformed("version must be 1"));
    }
    if m.chain == Chain::Ethereum {
        let id = m.chain_id.clone().unwrap_or_default();
        if !id
            .parse::<u64>()
            .is_ok_and(|id| expect.evm_chain_ids.contains(&id))
        {
            return Err(WalletError::WrongChain(id));
        }
    }
    let skew = Duration::minutes(5);
    if m.issued_at > expect.now + skew
        || m.issued_at < expect.now - expect.max_age
        || m.expiration_time.is_some_and(|e| e <= expect.now)
        || m.not_before.is_some_and(|n| n > expect.now + skew)
    {
        return Err(WalletError::Expired);
    }
    let address = Address::parse(m.chain.network(), &m.address)
        .map_err(|e| WalletError::Malformed(e.reason))?;
    Ok((m, address))
}

// ----- Ethereum -----

/// EIP-191 `personal_sign` hash of a message.
pub fn eip191_hash(message: &[u8]) -> [u8; 32] {
    let mut h = Keccak256::new();
    h.update(format!("\x19Ethereum Signed Message:\n{}", message.len()).as_bytes());
    h.update(message);
    h.finalize().into()
}

/// The Ethereum address (lower-case hex) of a public key.
pub fn eth_address(key: &VerifyingKey) -> String {
    let point = key.to_encoded_point(false);
    let hash = Keccak256::digest(&point.as_bytes()[1..]);
    format!("0x{}", hex::encode(&hash[12..]))
}

fn recover(prehash: &[u8], rs: &[u8], recid: u8) -> Result<VerifyingKey, WalletError> {
    let mut sig = Signature::from_slice(rs).map_err(|_| WalletError::BadSignature)?;
    let mut recid = recid;
    if let Some(low) = sig.normalize_s() {
        sig = low;
        recid ^= 1;
    }
    let recid = RecoveryId::from_byte(recid).ok_or(WalletError::BadSignature)?;
    VerifyingKey::recover_from_prehash(prehash, &sig, recid).map_err(|_| WalletError::BadSignature)
}

fn verify_eip191(text: &str, signature: &str, address: &str) -> Result<(), WalletError> {
    let bytes = hex::decode(signature.trim().trim_start_matches("0x"))
        .map_err(|_| WalletError::BadSignature)?;
    if bytes.len() != 65 {
        return Err(WalletError::BadSignature);
    }
    let v = match bytes[64] {
        27 | 28 => bytes[64] - 27,
        0 | 1 => bytes[64],
        _ => return Err(WalletError::BadSignature),
    };
    let key = recover(&eip191_hash(text.as_bytes()), &bytes[..64], v)?;
    if eth_address(&key).eq_ignore_ascii_case(address) {
        Ok(())
    } else {
        Err(WalletError::BadSignature)
    }
}

// ----- Bitcoin -----

fn sha256d(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// RIPEMD-160 of SHA-256: what Bitcoin addresses commit to.
pub fn hash160(data: &[u8]) -> [u8; 20] {
    Ripemd160::digest(Sha256::digest(data)).into()
}

fn var_int(n: usize, out: &mut Vec<u8>) {
    match n {
        0..=0xfc => out.push(n as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(n as u16).to_le_bytes());
        }
        _ => {
            out.push(0xfe);
            out.extend_from_slice(&(n as u32).to_le_bytes());
        }
    }
}

/// The legacy `signmessage` hash.
pub fn bitcoin_message_hash(message: &[u8]) -> [u8; 32] {
    const MAGIC: &[u8] = b"Bitcoin Signed Message:\n";
    let mut data = Vec::with_capacity(message.len() + 32);
    var_int(MAGIC.len(), &mut data);
    data.extend_from_slice(MAGIC);
    var_int(message.len(), &mut data);
    data.extend_from_slice(message);
    sha256d(&data)
}

/// What a Bitcoin address pays to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BtcScript {
    P2pkh([u8; 20]),
    /// Taken as P2SH-P2WPKH: the only script type that signs messages with one key.
    P2sh([u8; 20]),
    P2wpkh([u8; 20]),
}

/// The script a Bitcoin address (mainnet or testnet) pays to.
pub fn btc_script(address: &str) -> Result<BtcScript, WalletError> {
    // Bech32 strings are at most 90 characters, base58 addresses 35. Base58 decoding takes time
    // quadratic in the length: 64 KiB took a second before this bound (found by xdesk-fuzz).
    if address.len() > 90 {
        return Err(malformed("not a Bitcoin address"));
    }
    if let Ok((_, version, program)) = bech32::segwit::decode(address) {
        return match (version.to_u8(), program.len()) {
            (0, 20) => {
                let mut h = [0u8; 20];
                h.copy_from_slice(&program);
                Ok(BtcScript::P2wpkh(h))
            }
            (1, _) => Err(WalletError::Unsupported("taproot (bc1p) addresses")),
            _ => Err(WalletError::Unsupported("this segwit address type")),
        };
    }
    let raw = bs58::decode(address)
        .with_check(None)
        .into_vec()
        .map_err(|_| malformed("not a Bitcoin address"))?;
    if raw.len() != 21 {
        return Err(malformed("not a Bitcoin address"));
    }
    let mut h = [0u8; 20];
    h.copy_from_slice(&raw[1..]);
    match raw[0] {
        0x00 | 0x6f => Ok(BtcScript::P2pkh(h)),
        0x05 | 0xc4 => Ok(BtcScript::P2sh(h)),
        _ => Err(malformed("not a Bitcoin address")),
    }
}

/// Does this key (SEC1, compressed or not) own the script?
fn key_owns(key: &[u8], script: BtcScript) -> bool {
    let h = hash160(key);
    match script {
        BtcScript::P2pkh(a) => a == h,
        BtcScript::P2wpkh(a) => key.len() == 33 && a == h,
        BtcScript::P2sh(a) => {
            let mut redeem = vec![0x00, 0x14];
            redeem.extend_from_slice(&h);
            key.len() == 33 && a == hash160(&redeem)
        }
    }
}

fn verify_bitcoin(text: &str, signature: &str, address: &str) -> Result<(), WalletError> {
    use base64::Engine;
    let script = btc_script(address)?;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| WalletError::BadSignature)?;
    if sig.len() == 65 && (27..=42).contains(&sig[0]) {
        // BIP-137: a header byte (recovery id, key compression, address type), then r and s.
        let header = sig[0] - 27;
        let key = recover(
            &bitcoin_message_hash(text.as_bytes()),
            &sig[1..],
            header & 3,
        )?;
        let compressed = header >= 4;
        let point = key.to_encoded_point(compressed);
        return if key_owns(point.as_bytes(), script) {
            Ok(())
        } else {
            Err(WalletError::BadSignature)
        };
    }
    verify_bip322_simple(text.as_bytes(), &sig, script)
}

/// BIP-340 tagged hash.
fn tagged_hash(tag: &str, data: &[u8]) -> [u8; 32] {
    let t = Sha256::digest(tag.as_bytes());
    let mut h = Sha256::new();
    h.update(t);
    h.update(t);
    h.update(data);
    h.finalize().into()
}

/// The witness stack BIP-322 "simple" signatures carry, as serialized.
fn witness_items(data: &[u8]) -> Option<Vec<&[u8]>> {
    let mut at = 0;
    let read_len = |at: &mut usize| -> Option<usize> {
        let first = *data.get(*at)?;
        *at += 1;
        Some(match first {
            0xfd => {
                let v = u16::from_le_bytes([*data.get(*at)?, *data.get(*at + 1)?]);
                *at += 2;
                usize::from(v)
            }
            0xfe | 0xff => return None,
            n => usize::from(n),
        })
    };
    let n = read_len(&mut at)?;
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let len = read_len(&mut at)?;
        items.push(data.get(at..at + len)?);
        at += len;
    }
    (at == data.len()).then_some(items)
}

/// The transaction whose one output the BIP-322 proof spends; its txid.
fn bip322_to_spend_txid(message: &[u8], script_pubkey: &[u8]) -> [u8; 32] {
    let msg_hash = tagged_hash("BIP0322-signed-message", message);
    let mut tx = Vec::new();
    tx.extend_from_slice(&0u32.to_le_bytes());
    var_int(1, &mut tx);
    tx.extend_from_slice(&[0u8; 32]);
    tx.extend_from_slice(&0xffff_ffffu32.to_le_bytes());
    let mut script_sig = vec![0x00, 0x20];
    script_sig.extend_from_slice(&msg_hash);
    var_int(script_sig.len(), &mut tx);
    tx.extend_from_slice(&script_sig);
    tx.extend_from_slice(&0u32.to_le_bytes());
    var_int(1, &mut tx);
    tx.extend_from_slice(&0u64.to_le_bytes());
    var_int(script_pubkey.len(), &mut tx);
    tx.extend_from_slice(script_pubkey);
    tx.extend_from_slice(&0u32.to_le_bytes());
    sha256d(&tx)
}

/// The BIP-143 signature hash of the BIP-322 `to_sign` transaction's one input, spending a
/// P2WPKH output of key hash `h`.
pub fn bip322_p2wpkh_sighash(message: &[u8], h: &[u8; 20], hash_type: u32) -> [u8; 32] {
    let mut spk = vec![0x00, 0x14];
    spk.extend_from_slice(h);
    let txid = bip322_to_spend_txid(message, &spk);
    let mut outpoint = txid.to_vec();
    outpoint.extend_from_slice(&0u32.to_le_bytes());
    let hash_prevouts = sha256d(&outpoint);
    let hash_sequence = sha256d(&0u32.to_le_bytes());
    let mut output = Vec::new();
    output.extend_from_slice(&0u64.to_le_bytes());
    var_int(1, &mut output);
    output.push(0x6a);
    let hash_outputs = sha256d(&output);
    let mut script_code = vec![0x76, 0xa9, 0x14];
    script_code.extend_from_slice(h);
    script_code.extend_from_slice(&[0x88, 0xac]);
    let mut pre = Vec::new();
    pre.extend_from_slice(&0u32.to_le_bytes());
    pre.extend_from_slice(&hash_prevouts);
    pre.extend_from_slice(&hash_sequence);
    pre.extend_from_slice(&outpoint);
    var_int(script_code.len(), &mut pre);
    pre.extend_from_slice(&script_code);
    pre.extend_from_slice(&0u64.to_le_bytes());
    pre.extend_from_slice(&0u32.to_le_bytes());
    pre.extend_from_slice(&hash_outputs);
    pre.extend_from_slice(&0u32.to_le_bytes());
    pre.extend_from_slice(&hash_type.to_le_bytes());
    sha256d(&pre)
}

fn verify_bip322_simple(
    message: &[u8],
    proof: &[u8],
    script: BtcScript,
) -> Result<(), WalletError> {
    let BtcScript::P2wpkh(h) = script else {
        return Err(WalletError::Unsupported(
            "BIP-322 proofs for this address type (use a bc1q address or a legacy signature)",
        ));
    };
    let items = witness_items(proof).ok_or(WalletError::BadSignature)?;
    let [sig, key] = items.as_slice() else {
        return Err(WalletError::BadSignature);
    };
    if key.len() != 33 || hash160(key) != h {
        return Err(WalletError::BadSignature);
    }
    let (der, hash_type) = sig.split_at(sig.len().saturating_sub(1));
    let hash_type = match hash_type {
        [0x01] => 1u32,
        _ => return Err(WalletError::BadSignature),
    };
    let sig = Signature::from_der(der).map_err(|_| WalletError::BadSignature)?;
    let key = VerifyingKey::from_sec1_bytes(key).map_err(|_| WalletError::BadSignature)?;
    key.verify_prehash(&bip322_p2wpkh_sighash(message, &h, hash_type), &sig)
        .map_err(|_| WalletError::BadSignature)
}

// ----- Solana -----

fn verify_solana(text: &str, signature: &str, address: &str) -> Result<(), WalletError> {
    use base64::Engine;
    use ed25519_dalek::Verifier;
    let key: [u8; 32] = bs58::decode(address)
        .into_vec()
        .ok()
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| malformed("not a Solana address"))?;
    let s = signature.trim();
    let sig: [u8; 64] = bs58::decode(s)
        .into_vec()
        .ok()
        .filter(|b| b.len() == 64)
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(s).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or(WalletError::BadSignature)?;
    let key =
        ed25519_dalek::VerifyingKey::from_bytes(&key).map_err(|_| WalletError::BadSignature)?;
    key.verify(text.as_bytes(), &ed25519_dalek::Signature::from_bytes(&sig))
        .map_err(|_| WalletError::BadSignature)
}

/// Signing, for tests (xdesk's own and its integration tests): real keys, real signatures.
#[cfg(any(test, feature = "test-signers"))]
pub mod signers {
    use super::*;
    use k256::ecdsa::SigningKey;
    use k256::ecdsa::signature::hazmat::PrehashSigner;

    /// A secp256k1 key from 32 bytes (any nonzero value below the curve order).
    pub fn k256_key(seed: [u8; 32]) -> Option<SigningKey> {
        SigningKey::from_slice(&seed).ok()
    }

    /// `personal_sign`: 65 bytes, `v` 27 or 28, as hex.
    pub fn eth_sign(key: &SigningKey, text: &str) -> Option<String> {
        let (sig, recid) = key
            .sign_prehash_recoverable(&eip191_hash(text.as_bytes()))
            .ok()?;
        let mut bytes = sig.to_bytes().to_vec();
        bytes.push(27 + recid.to_byte());
        Some(format!("0x{}", hex::encode(bytes)))
    }

    pub fn eth_address_of(key: &SigningKey) -> String {
        super::eth_address(key.verifying_key())
    }

    /// The compressed public key's P2WPKH (bech32) mainnet address.
    pub fn btc_p2wpkh_address(key: &SigningKey) -> Option<String> {
        let point = key.verifying_key().to_encoded_point(true);
        let hrp = bech32::Hrp::parse("bc").ok()?;
        bech32::segwit::encode(hrp, bech32::Fe32::Q, &hash160(point.as_bytes())).ok()
    }

    /// The compressed public key's P2PKH (legacy) mainnet address.
    pub fn btc_p2pkh_address(key: &SigningKey) -> String {
        let point = key.verifying_key().to_encoded_point(true);
        let mut raw = vec![0x00];
        raw.extend_from_slice(&hash160(point.as_bytes()));
        bs58::encode(raw).with_check().into_string()
    }

    /// A legacy `signmessage` signature (compressed key, P2PKH header), base64.
    pub fn btc_legacy_sign(key: &SigningKey, text: &str) -> Option<String> {
        use base64::Engine;
        let (sig, recid) = key
            .sign_prehash_recoverable(&bitcoin_message_hash(text.as_bytes()))
            .ok()?;
        let mut bytes = vec![31 + recid.to_byte()];
        bytes.extend_from_slice(&sig.to_bytes());
        Some(base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    /// A BIP-322 "simple" proof for the key's P2WPKH address, base64.
    pub fn btc_bip322_sign(key: &SigningKey, text: &str) -> Option<String> {
        use base64::Engine;
        let point = key.verifying_key().to_encoded_point(true);
        let h = hash160(point.as_bytes());
        let sighash = bip322_p2wpkh_sighash(text.as_bytes(), &h, 1);
        let sig: Signature = key.sign_prehash(&sighash).ok()?;
        let mut der = sig.to_der().as_bytes().to_vec();
        der.push(0x01);
        let mut out = Vec::new();
        var_int(2, &mut out);
        var_int(der.len(), &mut out);
        out.extend_from_slice(&der);
        var_int(point.as_bytes().len(), &mut out);
        out.extend_from_slice(point.as_bytes());
        Some(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// An Ed25519 key's Solana address and a signature of `text`, both base58.
    pub fn sol_sign(seed: [u8; 32], text: &str) -> (String, String) {
        use ed25519_dalek::Signer;
        let key = ed25519_dalek::SigningKey::from_bytes(&seed);
        let sig = key.sign(text.as_bytes());
        (
            bs58::encode(key.verifying_key().to_bytes()).into_string(),
            bs58::encode(sig.to_bytes()).into_string(),
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::signers::*;
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn expect() -> Expect<'static> {
        Expect {
            domain: "support.example.com",
            now: now(),
            evm_chain_ids: &[1, 56],
            max_age: Duration::minutes(10),
        }
    }

    fn message(chain: Chain, address: &str) -> SignInMessage {
        SignInMessage {
            chain,
            domain: "support.example.com".into(),
            address: address.into(),
            statement: Some("Sign in to support. This costs nothing.".into()),
            uri: "https://support.example.com/portal".into(),
            version: "1".into(),
            chain_id: (chain == Chain::Ethereum).then(|| "1".into()),
            nonce: "k3Jf8sQ2pL9x".into(),
            issued_at: now() - Duration::minutes(1),
            expiration_time: Some(now() + Duration::minutes(9)),
            not_before: None,
        }
    }

    /// Found by xdesk-fuzz: a 64 KiB base58 "signature" on a valid Solana message took a second.
    #[test]
    fn long_signatures_are_refused_at_once() {
        let (addr, _) = sol_sign([9; 32], "");
        let text = message(Chain::Solana, &addr).to_text();
        let t = std::time::Instant::now();
        assert_eq!(
            verify(&text, &"z".repeat(65_536), &expect()),
            Err(WalletError::BadSignature)
        );
        assert!(
            t.elapsed() < std::time::Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
    }

    fn key(n: u8) -> k256::ecdsa::SigningKey {
        k256_key([n; 32]).unwrap()
    }

    #[test]
    fn messages_read_back_what_they_say() {
        let m = message(
            Chain::Ethereum,
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        );
        assert_eq!(SignInMessage::parse(&m.to_text()).unwrap(), m);
        let mut bare = m.clone();
        bare.statement = None;
        bare.expiration_time = None;
        assert_eq!(SignInMessage::parse(&bare.to_text()).unwrap(), bare);
        // A scheme before the domain is allowed.
        let text = format!("https://{}", m.to_text());
        assert_eq!(SignInMessage::parse(&text).unwrap().domain, m.domain);
        for bad in [
            "",
            "hello",
            "x wants you to sign in with your Dogecoin account:\nD1\n",
        ] {
            assert!(SignInMessage::parse(bad).is_err(), "{bad}");
        }
        let short_nonce = m.to_text().replace("k3Jf8sQ2pL9x", "abc");
        assert!(SignInMessage::parse(&short_nonce).is_err());
    }

    #[test]
    fn ethereum_signatures_prove_the_address() {
        let k = key(7);
        let m = message(Chain::Ethereum, &eth_address_of(&k));
        let text = m.to_text();
        let sig = eth_sign(&k, &text).unwrap();
        let ok = verify(&text, &sig, &expect()).unwrap();
        assert_eq!(ok.chain, Chain::Ethereum);
        assert_eq!(ok.nonce, "k3Jf8sQ2pL9x");
        assert!(
            ok.address
                .as_str()
                .eq_ignore_ascii_case(&eth_address_of(&k))
        );
        // Another key, a changed word, another site, another chain, too late.
        let other = eth_sign(&key(8), &text).unwrap();
        assert_eq!(
            verify(&text, &other, &expect()),
            Err(WalletError::BadSignature)
        );
        let tampered = text.replace("costs nothing", "costs 1 ETH");
        assert_eq!(
            verify(&tampered, &sig, &expect()),
            Err(WalletError::BadSignature)
        );
        let elsewhere = Expect {
            domain: "evil.example",
            ..expect()
        };
        assert!(matches!(
            verify(&text, &sig, &elsewhere),
            Err(WalletError::WrongDomain { .. })
        ));
        let mut on_polygon = m.clone();
        on_polygon.chain_id = Some("137".into());
        let t = on_polygon.to_text();
        assert_eq!(
            verify(&t, &eth_sign(&k, &t).unwrap(), &expect()),
            Err(WalletError::WrongChain("137".into()))
        );
        let later = Expect {
            now: now() + Duration::minutes(30),
            ..expect()
        };
        assert_eq!(verify(&text, &sig, &later), Err(WalletError::Expired));
        let mut phished = m.clone();
        phished.uri = "https://evil.example/portal".into();
        let t = phished.to_text();
        assert_eq!(
            verify(&t, &eth_sign(&k, &t).unwrap(), &expect()),
            Err(WalletError::WrongUri)
        );
        assert_eq!(
            verify(&text, "0x1234", &expect()),
            Err(WalletError::BadSignature)
        );
    }

    #[test]
    fn bitcoin_legacy_and_bip322_signatures_prove_the_address() {
        let k = key(9);
        let legacy = btc_p2pkh_address(&k);
        let m = message(Chain::Bitcoin, &legacy);
        let text = m.to_text();
        let sig = btc_legacy_sign(&k, &text).unwrap();
        assert_eq!(
            verify(&text, &sig, &expect()).unwrap().address.as_str(),
            legacy
        );
        let wrong = btc_legacy_sign(&key(10), &text).unwrap();
        assert_eq!(
            verify(&text, &wrong, &expect()),
            Err(WalletError::BadSignature)
        );

        let segwit = btc_p2wpkh_address(&k).unwrap();
        assert!(segwit.starts_with("bc1q"), "{segwit}");
        let m = message(Chain::Bitcoin, &segwit);
        let text = m.to_text();
        let proof = btc_bip322_sign(&k, &text).unwrap();
        assert_eq!(
            verify(&text, &proof, &expect()).unwrap().address.as_str(),
            segwit
        );
        // The legacy format for a segwit address works too (wallets still use it).
        let sig = btc_legacy_sign(&k, &text).unwrap();
        assert!(verify(&text, &sig, &expect()).is_ok());
        let tampered = text.replace("Sign in", "Log in");
        assert_eq!(
            verify(&tampered, &proof, &expect()),
            Err(WalletError::BadSignature)
        );
        let stranger = btc_bip322_sign(&key(11), &text).unwrap();
        assert_eq!(
            verify(&text, &stranger, &expect()),
            Err(WalletError::BadSignature)
        );
    }

    #[test]
    fn bip322_matches_the_published_message_hash() {
        // BIP-322's test vectors: the tagged hash of "" and of "Hello World".
        assert_eq!(
            hex::encode(tagged_hash("BIP0322-signed-message", b"")),
            "c90c269c4f8fcbe6880f72a721ddfbf1914268a794cbb21cfafee13770ae19f1"
        );
        assert_eq!(
            hex::encode(tagged_hash("BIP0322-signed-message", b"Hello World")),
            "f0eb03b1a75ac6d9847f55c624a99169b5dccba2a31f5b23bea77ba270de0a7a"
        );
        // And the to_spend txid for "" with the BIP's P2WPKH address.
        let BtcScript::P2wpkh(h) =
            btc_script("bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l").unwrap()
        else {
            unreachable!()
        };
        let mut spk = vec![0x00, 0x14];
        spk.extend_from_slice(&h);
        let mut txid = bip322_to_spend_txid(b"", &spk);
        txid.reverse();
        assert_eq!(
            hex::encode(txid),
            "c5680aa69bb8d860bf82d4e9cd3504b55dde018de765a91bb566283c545a99a7"
        );
    }

    #[test]
    fn bip322_accepts_the_published_signatures() {
        use base64::Engine;
        let script = btc_script("bc1q9vza2e8x573nczrlzms0wvx3gsqjx7vavgkx0l").unwrap();
        for (message, proof) in [
            (
                "",
                "AkcwRAIgM2gBAQqvZX15ZiysmKmQpDrG83avLIT492QBzLnQIxYCIBaTpOaD20qRlEylyxFSeEA2ba9YOixpX8z46TSDtS40ASECx/EgAxlkQpQ9hYjgGu6EBCPMVPwVIVJqO4XCsMvViHI=",
            ),
            (
                "Hello World",
                "AkcwRAIgZRfIY3p7/DoVTty6YZbWS71bc5Vct9p9Fia83eRmw2QCICK/ENGfwLtptFluMGs2KsqoNSk89pO7F29zJLUx9a/sASECx/EgAxlkQpQ9hYjgGu6EBCPMVPwVIVJqO4XCsMvViHI=",
            ),
        ] {
            let proof = base64::engine::general_purpose::STANDARD
                .decode(proof)
                .unwrap();
            assert_eq!(
                verify_bip322_simple(message.as_bytes(), &proof, script),
                Ok(()),
                "{message:?}"
            );
        }
        let proof = base64::engine::general_purpose::STANDARD
            .decode("AkcwRAIgM2gBAQqvZX15ZiysmKmQpDrG83avLIT492QBzLnQIxYCIBaTpOaD20qRlEylyxFSeEA2ba9YOixpX8z46TSDtS40ASECx/EgAxlkQpQ9hYjgGu6EBCPMVPwVIVJqO4XCsMvViHI=")
            .unwrap();
        assert_eq!(
            verify_bip322_simple(b"Hello World", &proof, script),
            Err(WalletError::BadSignature)
        );
    }

    #[test]
    fn solana_signatures_prove_the_address() {
        let probe = message(Chain::Solana, "11111111111111111111111111111111");
        let (address, _) = sol_sign([5; 32], "");
        let m = SignInMessage {
            address: address.clone(),
            ..probe
        };
        let text = m.to_text();
        let (_, sig) = sol_sign([5; 32], &text);
        assert_eq!(
            verify(&text, &sig, &expect()).unwrap().address.as_str(),
            address
        );
        let (_, other) = sol_sign([6; 32], &text);
        assert_eq!(
            verify(&text, &other, &expect()),
            Err(WalletError::BadSignature)
        );
        assert_eq!(
            verify(
                &text.replace("costs nothing", "costs 9 SOL"),
                &sig,
                &expect()
            ),
            Err(WalletError::BadSignature)
        );
    }

    #[test]
    fn contract_wallets_are_asked_in_abi_form() {
        let data = eip1271_call("hi", "0x0102").unwrap();
        // selector, hash, offset 0x40, length 2, the bytes padded to a word.
        assert_eq!(data.len(), 2 + 8 + 64 * 4);
        assert!(data.starts_with("0x1626ba7e"));
        assert!(data.ends_with(&format!("{:064x}0102{}", 2, "0".repeat(60))));
        assert!(eip1271_yes(&format!("0x1626ba7e{}", "0".repeat(56))));
        assert!(!eip1271_yes(&format!("0x{}", "0".repeat(64))));
        assert_eq!(evm_network(56), Some("bsc"));
    }

    #[test]
    fn taproot_is_refused_plainly() {
        assert_eq!(
            btc_script("bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr"),
            Err(WalletError::Unsupported("taproot (bc1p) addresses"))
        );
    }
}

/// Signatures made outside xdesk, from published test vectors, so the checks are not tested
/// only against xdesk's own signers.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod outside_vectors {
    use super::*;
    use base64::Engine;

    /// web3.js's documented example (`web3.eth.accounts.sign("Some data", key)`, docs of
    /// `web3-eth-accounts`, "sign"): key 0x4c0883a6…3f362318, whose address is below.
    #[test]
    fn eip191_accepts_the_web3js_documented_signature() {
        const SIGNATURE: &str = "0xb91467e570a6466aa9e9876cbcd013baba02900b8979d43fe208a4a4f339f5fd6007e74cd82e037b800186422fc2da167c747ef045e5d18a5f5d4300f8e1a0291c";
        const ADDRESS: &str = "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23";
        assert_eq!(
            hex::encode(eip191_hash(b"Some data")),
            "1da44b586eb0729ff70a73c326926f6ed5a25f5b056e7f47fbc6e58d86871655"
        );
        assert_eq!(verify_eip191("Some data", SIGNATURE, ADDRESS), Ok(()));
        assert_eq!(
            verify_eip191("Some data!", SIGNATURE, ADDRESS),
            Err(WalletError::BadSignature)
        );
        assert_eq!(
            verify_eip191(
                "Some data",
                SIGNATURE,
                "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1"
            ),
            Err(WalletError::BadSignature)
        );
        // v as 0/1 is the same signature; any other v is not.
        let low_v = format!("{}01", &SIGNATURE[..130]);
        assert_eq!(verify_eip191("Some data", &low_v, ADDRESS), Ok(()));
        let bad_v = format!("{}1d", &SIGNATURE[..130]);
        assert_eq!(
            verify_eip191("Some data", &bad_v, ADDRESS),
            Err(WalletError::BadSignature)
        );
    }

    /// Found by xdesk-fuzz: 64 KiB of base58 took a second to decode; no address is that long.
    #[test]
    fn btc_script_refuses_long_input_at_once() {
        let long = "1".repeat(65_536);
        let t = std::time::Instant::now();
        assert!(matches!(btc_script(&long), Err(WalletError::Malformed(_))));
        assert!(
            t.elapsed() < std::time::Duration::from_millis(100),
            "{:?}",
            t.elapsed()
        );
        assert!(btc_script(&"z".repeat(91)).is_err());
        assert!(btc_script("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4").is_ok());
    }

    /// Bitcoin Core's `test/functional/rpc_signmessage.py`: `signmessagewithprivkey` of this
    /// message with key cUeKHd5o…BTj7N must give this signature (BIP-137 header 0x20: a
    /// compressed key's P2PKH), which `verifymessage` accepts for this (testnet) address.
    #[test]
    fn legacy_bitcoin_accepts_bitcoin_cores_signmessage_vector() {
        const MESSAGE: &str = "This is just a test message";
        const ADDRESS: &str = "mpLQjfK79b7CCV4VMJWEWAj5Mpx8Up5zxB";
        const SIGNATURE: &str = "INbVnW4e6PeRmsv2Qgu8NuopvrVjkcxob+sX8OcZG0SALhWybUjzMLPdAsXI46YZGb0KQTRii+wWIQzRpG/U+S0=";
        assert_eq!(verify_bitcoin(MESSAGE, SIGNATURE, ADDRESS), Ok(()));
        // The same key hash as a mainnet address: the signature covers the message only.
        let raw = bs58::decode(ADDRESS).with_check(None).into_vec().unwrap();
        let mut main = vec![0x00];
        main.extend_from_slice(&raw[1..]);
        let mainnet = bs58::encode(main).with_check().into_string();
        assert!(mainnet.starts_with('1'));
        assert_eq!(verify_bitcoin(MESSAGE, SIGNATURE, &mainnet), Ok(()));
        assert_eq!(
            verify_bitcoin("This is just a test message.", SIGNATURE, ADDRESS),
            Err(WalletError::BadSignature)
        );
        // The header claiming an uncompressed key names another address.
        let mut sig = base64::engine::general_purpose::STANDARD
            .decode(SIGNATURE)
            .unwrap();
        sig[0] -= 4;
        let uncompressed = base64::engine::general_purpose::STANDARD.encode(&sig);
        assert_eq!(
            verify_bitcoin(MESSAGE, &uncompressed, ADDRESS),
            Err(WalletError::BadSignature)
        );
    }

    /// RFC 8032, section 7.1, TEST 1 (empty message) and TEST 2 (the one byte 0x72, "r"):
    /// public keys as Solana addresses (base58), signatures as wallets send them (base58 or
    /// base64).
    #[test]
    fn solana_accepts_rfc_8032_signatures() {
        let vectors = [
            (
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "r",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
        ];
        for (public, message, signature) in vectors {
            let address = bs58::encode(hex::decode(public).unwrap()).into_string();
            let sig = hex::decode(signature).unwrap();
            let b58 = bs58::encode(&sig).into_string();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&sig);
            assert_eq!(
                verify_solana(message, &b58, &address),
                Ok(()),
                "{message:?}"
            );
            assert_eq!(
                verify_solana(message, &b64, &address),
                Ok(()),
                "{message:?}"
            );
            assert_eq!(
                verify_solana("x", &b58, &address),
                Err(WalletError::BadSignature)
            );
        }
        // Each vector's signature under the other's key.
        let other = bs58::encode(hex::decode(vectors[1].0).unwrap()).into_string();
        let sig = bs58::encode(hex::decode(vectors[0].2).unwrap()).into_string();
        assert_eq!(
            verify_solana("", &sig, &other),
            Err(WalletError::BadSignature)
        );
    }
}
