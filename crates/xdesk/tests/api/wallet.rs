//! Wallet sign-in over real HTTP with real keys made in the test: a DEX user with no account
//! signs the server's challenge with an Ethereum, Bitcoin (BIP-322 and legacy) or Solana key
//! and is a customer, in the portal and in the chat widget; replayed, expired, foreign-site,
//! made-up and tampered messages are refused.

use crate::backend_test;
use crate::chat::{connect, expect, send};
use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use xdesk_domain::wallet::SignInMessage;
use xdesk_domain::wallet::signers::*;

fn seed() -> [u8; 32] {
    let mut s = [0u8; 32];
    s[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    s[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    s
}

async fn challenge(app: &TestApp, chain: &str, address: &str) -> String {
    let r = app
        .http
        .get(app.url("/api/v1/wallet/challenge"))
        .query(&[("chain", chain), ("address", address)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{chain} {address}");
    r.json::<Value>().await.unwrap()["message"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn sign_in(app: &TestApp, message: &str, signature: &str) -> (StatusCode, Value) {
    let r = app
        .http
        .post(app.url("/api/v1/wallet/sign-in"))
        .json(&json!({"message": message, "signature": signature}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

backend_test!(wallets_sign_in_without_an_account, |app| {
    // Ethereum: the challenge names this site, the key signs it, the address is the customer.
    let key = k256_key(seed()).unwrap();
    let address = eth_address_of(&key);
    let message = challenge(&app, "ethereum", &address).await;
    let host = app.base.trim_start_matches("http://");
    assert!(
        message.starts_with(&format!("{host} wants you to sign in")),
        "{message}"
    );
    let signature = eth_sign(&key, &message).unwrap();
    let (status, v) = sign_in(&app, &message, &signature).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let token = v["token"].as_str().unwrap().to_owned();
    let customer_id = v["customer_id"].as_i64().unwrap();
    // A customer without tickets yet: a supervisor's to look up.
    let customer = app
        .get_json(
            &app.supervisor_token,
            &format!("/api/v1/customers/{customer_id}"),
        )
        .await;
    assert!(
        customer
            .to_string()
            .to_lowercase()
            .contains(&address.to_lowercase()),
        "{customer}"
    );
    // The same signed message again: refused (the nonce is used up).
    let (status, v) = sign_in(&app, &message, &signature).await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "nonce_used")
    );
    // A second sign-in is the same customer.
    let message = challenge(&app, "ethereum", &address).await;
    let (_, v) = sign_in(&app, &message, &eth_sign(&key, &message).unwrap()).await;
    assert_eq!(v["customer_id"].as_i64(), Some(customer_id));

    // Refused: tampered text, another key, another site, too old, a nonce we never issued.
    let message = challenge(&app, "ethereum", &address).await;
    let signature = eth_sign(&key, &message).unwrap();
    let tampered = message.replace("allows no transaction", "allows any transaction");
    assert_eq!(
        code(&sign_in(&app, &tampered, &signature).await.1),
        "bad_signature"
    );
    let stranger = k256_key(seed()).unwrap();
    assert_eq!(
        code(
            &sign_in(&app, &message, &eth_sign(&stranger, &message).unwrap())
                .await
                .1
        ),
        "bad_signature"
    );
    let parsed = SignInMessage::parse(&message).unwrap();
    let foreign = SignInMessage {
        domain: "evil.example".into(),
        uri: "https://evil.example/portal".into(),
        ..parsed.clone()
    }
    .to_text();
    assert_eq!(
        code(
            &sign_in(&app, &foreign, &eth_sign(&key, &foreign).unwrap())
                .await
                .1
        ),
        "wrong_domain"
    );
    let old = SignInMessage {
        issued_at: parsed.issued_at - chrono::Duration::hours(2),
        expiration_time: Some(parsed.issued_at - chrono::Duration::hours(1)),
        ..parsed.clone()
    }
    .to_text();
    assert_eq!(
        code(&sign_in(&app, &old, &eth_sign(&key, &old).unwrap()).await.1),
        "expired"
    );
    let made_up = SignInMessage {
        nonce: "madeup12345678".into(),
        ..parsed.clone()
    }
    .to_text();
    assert_eq!(
        code(
            &sign_in(&app, &made_up, &eth_sign(&key, &made_up).unwrap())
                .await
                .1
        ),
        "nonce_used"
    );
    // The untouched one still works: refusals used nothing up.
    assert_eq!(sign_in(&app, &message, &signature).await.0, StatusCode::OK);

    // Bitcoin, BIP-322 for a bc1q address and the legacy format for a 1… address; Solana.
    let btc = k256_key(seed()).unwrap();
    let segwit = btc_p2wpkh_address(&btc).unwrap();
    let m = challenge(&app, "bitcoin", &segwit).await;
    let (status, v) = sign_in(&app, &m, &btc_bip322_sign(&btc, &m).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let legacy = btc_p2pkh_address(&btc);
    let m = challenge(&app, "bitcoin", &legacy).await;
    let (status, v) = sign_in(&app, &m, &btc_legacy_sign(&btc, &m).unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let sol_seed = seed();
    let (sol_address, _) = sol_sign(sol_seed, "");
    let m = challenge(&app, "solana", &sol_address).await;
    let (_, sol_sig) = sol_sign(sol_seed, &m);
    let (status, v) = sign_in(&app, &m, &sol_sig).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let r = app
        .http
        .get(app.url("/api/v1/wallet/challenge?chain=dogecoin&address=x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // The session works in the portal and in the chat widget: a verified chat, no account.
    let mut portal = crate::web::Web::new(&app);
    portal.jar.insert("xdesk_portal".into(), token.clone());
    let home = portal.get("/portal").await;
    assert_eq!(home.status, StatusCode::OK);
    let mut chat = connect(
        &app,
        &format!("/api/v1/chat/customer?lang=en&token={token}"),
        None,
    )
    .await;
    let welcome = expect(&mut chat, "welcome").await;
    assert_eq!(welcome["verified"], true, "{welcome}");
    send(
        &mut chat,
        json!({"type": "message", "body": "My swap on your DEX failed"}),
    )
    .await;
    let t = expect(&mut chat, "ticket").await;
    let ticket = app
        .get_json(
            &app.admin_token().await,
            &format!("/api/v1/tickets/{}", t["ticket"]["id"]),
        )
        .await;
    assert_eq!(
        ticket["customer_id"].as_i64(),
        Some(customer_id),
        "{ticket}"
    );
    app.stop().await;
});

// The portal's own form (what the sign-in page's script posts): CSRF-checked, then the
// session cookie.
backend_test!(the_portal_signs_a_wallet_in, |app| {
    let key = k256_key(seed()).unwrap();
    let message = challenge(&app, "ethereum", &eth_address_of(&key)).await;
    let signature = eth_sign(&key, &message).unwrap();
    let mut web = crate::web::Web::new(&app);
    let page = web.get("/portal/sign-in").await;
    assert!(page.body.contains("id=\"wallet-sign-in\"") && page.body.contains("/static/wallet.js"));
    let csrf = web.csrf();
    let r = web
        .post(
            "/portal/wallet",
            &[
                ("csrf", "forged"),
                ("message", &message),
                ("signature", &signature),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = web
        .post(
            "/portal/wallet",
            &[
                ("csrf", &csrf),
                ("message", &message),
                ("signature", "0x00"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = web
        .post(
            "/portal/wallet",
            &[
                ("csrf", &csrf),
                ("message", &message),
                ("signature", &signature),
            ],
        )
        .await;
    assert_eq!(r.location(), "/portal");
    assert!(web.jar.contains_key("xdesk_portal"));
    assert_eq!(web.get("/portal").await.status, StatusCode::OK);
    let js = web.get("/static/wallet.js").await;
    assert!(js.body.contains("personal_sign"));
    app.stop().await;
});

// Smart-contract wallets (EIP-1271): the contract at the address is asked, through the
// chain's node (a real ganache), whether the signature is its own. One contract always says
// yes (its own rule), another always no.
crate::backend_test_db!(contract_wallets_are_asked_on_chain, |db| {
    let Some((node, app)) = app_with_ganache(db).await else {
        return;
    };
    let deployer = node.accounts().await[0].clone();
    let deploy = |runtime: &str| {
        let n = runtime.len() / 2;
        format!("0x60{n:02x}600c60003960{n:02x}6000f3{runtime}")
    };
    let mut contracts = Vec::new();
    // isValidSignature -> 0x1626ba7e…, and -> 0x00…
    for runtime in ["631626ba7e60e01b60005260206000f3", "60206000f3"] {
        let tx = node
            .send(json!({"from": deployer, "data": deploy(runtime), "gas": "0x100000"}))
            .await;
        let receipt = node.rpc("eth_getTransactionReceipt", json!([tx])).await;
        contracts.push(receipt["contractAddress"].as_str().unwrap().to_owned());
    }
    let message = challenge(&app, "ethereum", &contracts[0]).await;
    let (status, v) = sign_in(&app, &message, "0xc0ffee").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let message = challenge(&app, "ethereum", &contracts[1]).await;
    let (status, v) = sign_in(&app, &message, "0xc0ffee").await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_signature")
    );
    // An ordinary account (no code) is no contract wallet either.
    let message = challenge(&app, "ethereum", &deployer).await;
    let (_, v) = sign_in(&app, &message, "0xc0ffee").await;
    assert_eq!(code(&v), "bad_signature");
    app.stop().await;
});

/// `0x`-hex of bytes, as JSON-RPC takes data.
fn hex_data(bytes: &[u8]) -> String {
    let digits: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("0x{digits}")
}

// EIP-191 signatures made by a real node, not by xdesk's own test signer: ganache signs the
// challenge with `eth_sign` (EIP-191 `personal_sign` semantics: the "\x19Ethereum Signed
// Message:\n<len>" prefix, keccak-256, a 65-byte r‖s‖v with v 27/28) for one of its unlocked
// accounts. The same text signed by another of its accounts does not prove the first address.
backend_test!(a_node_signed_challenge_signs_in, |app| {
    let Some(node) = Ganache::start().await else {
        app.stop().await;
        return;
    };
    let accounts = node.accounts().await;
    let (owner, other) = (&accounts[0], &accounts[1]);
    let message = challenge(&app, "ethereum", owner).await;
    let sign = |account: &str, text: &str| {
        let params = json!([account, hex_data(text.as_bytes())]);
        let node = &node;
        async move {
            node.rpc("eth_sign", params)
                .await
                .as_str()
                .unwrap()
                .to_owned()
        }
    };
    let by_other = sign(other, &message).await;
    let (status, v) = sign_in(&app, &message, &by_other).await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_signature"),
        "{v}"
    );
    let by_owner = sign(owner, &message).await;
    assert_eq!(by_owner.len(), 2 + 130, "{by_owner}");
    let (status, v) = sign_in(&app, &message, &by_owner).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let customer_id = v["customer_id"].as_i64().unwrap();
    // The owner's signature over another challenge's text does not carry over.
    let next = challenge(&app, "ethereum", owner).await;
    let (_, v) = sign_in(&app, &next, &by_owner).await;
    assert_eq!(code(&v), "bad_signature", "{v}");
    // The node's signature with v as 0/1 (as some wallets send it) is the same proof.
    let mut low_v = sign(owner, &next).await;
    let v_byte = u8::from_str_radix(&low_v[130..], 16).unwrap();
    low_v.replace_range(130.., &format!("{:02x}", v_byte - 27));
    let (status, v) = sign_in(&app, &next, &low_v).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["customer_id"].as_i64(), Some(customer_id));
    app.stop().await;
});

// EIP-1271 with a contract that checks the hash it is given, so a pass proves xdesk asks
// about the EIP-191 hash of the very message signed in with. The hash is computed here by
// the node (`web3_sha3`, its own keccak-256), not by xdesk, and built into the contract.
//
// The contract's runtime code, hand-assembled (86 bytes; `H` is the 32-byte hash):
//
//   00 6000        PUSH1 0          calldata[0..32]
//   02 35          CALLDATALOAD
//   03 60e0 1c     PUSH1 224 SHR    -> the 4-byte selector
//   06 631626ba7e  PUSH4 0x1626ba7e
//   0b 14          EQ               selector is isValidSignature(bytes32,bytes)
//   0c 7f H        PUSH32 H
//   2d 6004 35     PUSH1 4 CALLDATALOAD  -> the `hash` argument
//   30 14          EQ               hash == H
//   31 16          AND
//   32 6045 57     PUSH1 0x45 JUMPI      both: go to "yes"
//   35 63ffffffff  PUSH4 0xffffffff  "no": 0xffffffff left-aligned in one word
//   3a 60e0 1b     PUSH1 224 SHL
//   3d 6000 52     PUSH1 0 MSTORE
//   40 6020 6000 f3  RETURN memory[0..32]
//   45 5b          JUMPDEST
//   46 631626ba7e  PUSH4 0x1626ba7e  "yes": the magic value, left-aligned
//   4b 60e0 1b 6000 52 6020 6000 f3  as above
//
// The signature argument is not looked at: the contract's own rule is "this hash only".
crate::backend_test_db!(contract_wallets_are_asked_about_the_right_hash, |db| {
    let Some((node, app)) = app_with_ganache(db).await else {
        return;
    };
    let deployer = node.accounts().await[2].clone();
    // The challenge names the contract's address before the contract exists: a CREATE
    // address is keccak-256(rlp([sender, nonce]))[12..], with the nonce below 0x80 here.
    let nonce = node
        .rpc("eth_getTransactionCount", json!([deployer, "latest"]))
        .await;
    let nonce = u8::from_str_radix(nonce.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    assert!(nonce < 0x80);
    let mut rlp = vec![0xd6, 0x94];
    rlp.extend(
        (2..deployer.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&deployer[i..i + 2], 16).unwrap()),
    );
    rlp.push(if nonce == 0 { 0x80 } else { nonce });
    assert_eq!(rlp.len(), 23);
    let created = node.rpc("web3_sha3", json!([hex_data(&rlp)])).await;
    let contract = format!("0x{}", &created.as_str().unwrap()[26..]);

    let message = challenge(&app, "ethereum", &contract).await;
    let mut prefixed = format!("\x19Ethereum Signed Message:\n{}", message.len()).into_bytes();
    prefixed.extend_from_slice(message.as_bytes());
    let hash = node.rpc("web3_sha3", json!([hex_data(&prefixed)])).await;
    let hash = hash.as_str().unwrap().trim_start_matches("0x");
    assert_eq!(hash.len(), 64);
    let runtime = format!(
        "600035 60e01c 631626ba7e 14 7f{hash} 600435 14 16 604557 \
         63ffffffff 60e01b 600052 60206000f3 5b 631626ba7e 60e01b 600052 60206000f3"
    )
    .replace(' ', "");
    assert_eq!(runtime.len(), 2 * 0x56);
    let deploy = format!("0x6056600c60003960566000f3{runtime}");
    let tx = node
        .send(json!({"from": deployer, "data": deploy, "gas": "0x100000"}))
        .await;
    let receipt = node.rpc("eth_getTransactionReceipt", json!([tx])).await;
    assert_eq!(receipt["contractAddress"].as_str(), Some(contract.as_str()));

    // The contract itself, asked directly: yes for that hash, no for another.
    let ask = |h: &str| {
        let data = format!("0x1626ba7e{h}{:064x}{:064x}", 0x40, 0);
        let node = &node;
        let contract = contract.clone();
        async move {
            node.rpc(
                "eth_call",
                json!([{"to": contract, "data": data}, "latest"]),
            )
            .await
            .as_str()
            .unwrap()
            .to_owned()
        }
    };
    assert!(ask(hash).await.starts_with("0x1626ba7e"));
    assert!(ask(&"11".repeat(32)).await.starts_with("0xffffffff"));

    // Another fresh challenge for the same contract (another nonce): valid in every field,
    // but its hash is not the contract's, so the contract says no.
    let other = challenge(&app, "ethereum", &contract).await;
    assert_ne!(other, message);
    let (status, v) = sign_in(&app, &other, "0xc0ffee").await;
    assert_eq!(
        (status, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "bad_signature"),
        "{v}"
    );
    let (status, v) = sign_in(&app, &message, "0xc0ffee").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(v["customer_id"].as_i64().is_some(), "{v}");
    app.stop().await;
});
