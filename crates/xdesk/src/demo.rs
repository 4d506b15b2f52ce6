//! The demo data set: an admin, two agents, two groups, a dozen customers and tickets in
//! English and Chinese with crypto case fields, so a first run shows a working help desk.

use anyhow::Context;
use rand::Rng;
use xdesk_domain::identity::Role;
use xdesk_domain::ticket::RawCryptoFields;
use xdesk_service::people::CreateAgent;
use xdesk_service::tickets::{CreateTicket, CustomerRef};
use xdesk_service::{Principal, Services};

/// Credentials printed once, when the demo is first seeded.
pub struct DemoLogin {
    pub email: String,
    pub role: &'static str,
    pub password: String,
}

/// A random 16-character password without look-alike characters, for printed logins.
pub fn password() -> String {
    const A: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut r = rand::thread_rng();
    (0..16)
        .map(|_| char::from(A[r.gen_range(0..A.len())]))
        .collect()
}

struct Case {
    subject: &'static str,
    body: &'static str,
    lang: &'static str,
    priority: &'static str,
    tags: &'static [&'static str],
    crypto: [Option<&'static str>; 6],
}

const CASES: &[Case] = &[
    Case {
        subject: "USDT withdrawal not received after 6 hours",
        body: "I withdrew 1,250 USDT on TRON to my wallet and it still shows pending. The tx hash is attached.",
        lang: "en",
        priority: "high",
        tags: &["withdrawal"],
        crypto: [
            Some("tron"),
            Some("USDT"),
            Some("4a1e8d7c0b5f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5e4d3c2b1a0f9e8d"),
            Some("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
            Some("1250"),
            None,
        ],
    },
    Case {
        subject: "提币一直显示处理中",
        body: "我在今天上午提了 0.5 BTC，状态一直是处理中，请帮忙查一下。",
        lang: "zh",
        priority: "high",
        tags: &["withdrawal", "提现"],
        crypto: [
            Some("bitcoin"),
            Some("BTC"),
            Some("b6f6991d03df0e2e04dafffcd6bc418aac66049e2cd74b80f14ac86db1e3f0da"),
            Some("bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
            Some("0.5"),
            None,
        ],
    },
    Case {
        subject: "Deposit to wrong network (BEP20 instead of ERC20)",
        body: "I sent USDC over BNB Smart Chain to my ERC20 deposit address. Can you recover it?",
        lang: "en",
        priority: "normal",
        tags: &["deposit", "wrong-network"],
        crypto: [
            Some("bsc"),
            Some("USDC"),
            Some("0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"),
            Some("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
            Some("300.25"),
            None,
        ],
    },
    Case {
        subject: "充值未到账，忘记填写标签",
        body: "我充值 XRP 的时候忘了填 destination tag，钱没到账。",
        lang: "zh",
        priority: "high",
        tags: &["deposit", "memo"],
        crypto: [
            Some("xrp"),
            Some("XRP"),
            None,
            Some("rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"),
            Some("820"),
            None,
        ],
    },
    Case {
        subject: "Account frozen after password change",
        body: "After changing my password my account is locked for 24 hours, but I need to close a position.",
        lang: "en",
        priority: "urgent",
        tags: &["account", "security"],
        crypto: [None; 6],
    },
    Case {
        subject: "KYC 审核被拒绝三次",
        body: "我的身份认证已经被拒绝三次了，每次的理由都不一样。",
        lang: "zh",
        priority: "normal",
        tags: &["kyc"],
        crypto: [None; 6],
    },
    Case {
        subject: "Card payment declined during market crash",
        body: "My card was declined three times while prices were falling; I could not buy.",
        lang: "en",
        priority: "normal",
        tags: &["card", "payment"],
        crypto: [None; 6],
    },
    Case {
        subject: "Someone on Telegram claims to be your support",
        body: "A 'support agent' asked me for my seed phrase on Telegram. Is this official?",
        lang: "en",
        priority: "urgent",
        tags: &["phishing", "security"],
        crypto: [None; 6],
    },
    Case {
        subject: "SOL 提现地址被判定无效",
        body: "我填写的 Solana 地址提示无效，但是在钱包里能正常收款。",
        lang: "zh",
        priority: "low",
        tags: &["withdrawal"],
        crypto: [
            Some("solana"),
            Some("SOL"),
            None,
            Some("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"),
            Some("12.75"),
            None,
        ],
    },
    Case {
        subject: "ETH deposit confirmed on chain but not credited",
        body: "Etherscan shows 64 confirmations but my balance did not change.",
        lang: "en",
        priority: "high",
        tags: &["deposit"],
        crypto: [
            Some("ethereum"),
            Some("ETH"),
            Some("0x88df016429689c079f3b2f6ad39fa052532c56795b733da78a91ebe6a713944b"),
            Some("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"),
            Some("1.2"),
            None,
        ],
    },
    Case {
        subject: "合约爆仓要求复核",
        body: "市场剧烈波动时系统卡顿导致我的仓位被强平，请复核。",
        lang: "zh",
        priority: "normal",
        tags: &["futures", "complaint"],
        crypto: [None; 6],
    },
    Case {
        subject: "TON withdrawal missing comment",
        body: "I withdrew TON to an exchange that needs a comment; what can I do?",
        lang: "en",
        priority: "low",
        tags: &["withdrawal", "memo"],
        crypto: [
            Some("ton"),
            Some("TON"),
            None,
            Some("EQCD39VS5jcptHL8vMjEXrzGaRcCVYto7HUn4bpAOg8xqB2N"),
            Some("45"),
            None,
        ],
    },
];

/// The demo's catch-all group: what no rule routes lands here, where agents see it.
pub const DEFAULT_GROUP: &str = "Deposits & Withdrawals";

/// Seeds the demo if the database has no agents yet. Returns the new logins, or `None` when
/// the data was already there.
pub async fn seed(s: &Services) -> anyhow::Result<Option<Vec<DemoLogin>>> {
    if !s.store.list_agents().await?.is_empty() {
        return Ok(None);
    }
    let payments = s
        .create_group(
            &Principal::System,
            DEFAULT_GROUP,
            "充值提现 / on-chain transfers",
        )
        .await?;
    let accounts = s
        .create_group(
            &Principal::System,
            "Accounts & Security",
            "账户与安全 / KYC, access, phishing",
        )
        .await?;
    let mut logins = Vec::new();
    let people = [
        (
            "admin@xdesk.example",
            "Ada Admin",
            Role::Admin,
            vec![payments.id, accounts.id],
        ),
        (
            "li.wei@xdesk.example",
            "李伟 Li Wei",
            Role::Agent,
            vec![payments.id],
        ),
        (
            "sam@xdesk.example",
            "Sam Supervisor",
            Role::Supervisor,
            vec![payments.id, accounts.id],
        ),
    ];
    let mut agent_ids = Vec::new();
    for (email, name, role, groups) in people {
        let pw = password();
        let a = s
            .create_agent(
                &Principal::System,
                CreateAgent {
                    email: email.into(),
                    display_name: name.into(),
                    role: role.as_str().into(),
                    password: pw.clone(),
                    group_ids: groups,
                },
            )
            .await
            .with_context(|| format!("creating demo agent {email}"))?;
        agent_ids.push(a.id);
        logins.push(DemoLogin {
            email: email.into(),
            role: role.as_str(),
            password: pw,
        });
    }
    let (uid, _) = s.create_api_key("demo-exchange-backend", &[]).await?;
    let system = Principal::ApiKey {
        id: uid.id,
        scopes: vec![
            "tickets:write".into(),
            "tickets:read".into(),
            "customers:write".into(),
        ],
    };
    // Promises (before the tickets, so they get them) and canned replies.
    for (name, priority, first, next, resolution) in [
        ("Standard", None, 240, 480, 2880),
        ("Urgent: money at risk", Some("urgent"), 15, 30, 240),
    ] {
        s.store
            .add_sla_policy(xdesk_store::NewSlaPolicy {
                name: name.into(),
                priority: priority.map(Into::into),
                first_response_minutes: first,
                next_response_minutes: next,
                resolution_minutes: resolution,
                ..Default::default()
            })
            .await?;
    }
    s.store
        .create_macro(xdesk_store::NewMacro {
            name: "Ask for the TXID / 请提供交易哈希".into(),
            body_en: "Hi {{ customer_name }}, to trace your {{ asset }} transfer on {{ network }} \
                      we need its transaction hash (TXID) from the sending wallet or exchange. \
                      We will answer by {{ promised_time }}. ({{ ticket_number }})"
                .into(),
            body_zh: "{{ customer_name }} 您好，为核查您在 {{ network }} 上的 {{ asset }} 转账，\
                      请提供发送方钱包或交易所中的交易哈希（TXID）。我们将在 {{ promised_time }} 前回复。\
                      （{{ ticket_number }}）"
                .into(),
            set_state: Some("pending_customer".into()),
            add_tags: vec!["txid-requested".into()],
            set_group_id: None,
        })
        .await?;
    for (i, c) in CASES.iter().enumerate() {
        let [network, asset, tx_hash, to_address, amount, memo] = c.crypto;
        let group = if c
            .tags
            .iter()
            .any(|t| ["withdrawal", "deposit", "memo", "card", "futures"].contains(t))
        {
            payments.id
        } else {
            accounts.id
        };
        let input = CreateTicket {
            subject: c.subject.into(),
            body: c.body.into(),
            body_html: None,
            customer: CustomerRef {
                name: Some(format!(
                    "{} {}",
                    if c.lang == "zh" { "客户" } else { "Customer" },
                    i + 1
                )),
                email: Some(format!("customer{}@example.com", i + 1)),
                exchange_uid: Some(format!("UID{}", 880_000 + i)),
                ..Default::default()
            },
            priority: Some(c.priority.into()),
            channel: Some(["web", "email", "chat"][i % 3].into()),
            language: Some(c.lang.into()),
            category: None,
            group_id: Some(group),
            assignee_id: None,
            tags: c.tags.iter().map(|t| (*t).to_owned()).collect(),
            crypto: RawCryptoFields {
                network: network.map(Into::into),
                asset: asset.map(Into::into),
                tx_hash: tx_hash.map(Into::into),
                from_address: None,
                to_address: to_address.map(Into::into),
                amount: amount.map(Into::into),
                memo: memo.map(Into::into),
                occurred_at: Some(chrono::Utc::now() - chrono::Duration::hours(i as i64 + 1)),
            },
            attachments: Vec::new(),
        };
        s.create_ticket(&system, input, None)
            .await
            .with_context(|| format!("creating demo ticket `{}`", c.subject))?;
    }
    seed_knowledge_base(s).await?;
    seed_official_channels(s).await?;
    seed_status_page(s).await?;
    Ok(Some(logins))
}

mod kb_files {
    include!(concat!(env!("OUT_DIR"), "/demo_kb.rs"));
}

/// The demo knowledge base's files, (name, text): `_categories.toml`, `_relevance.toml` and
/// the articles. For the benchmark, which builds large knowledge bases from them.
/// The demo exchange's official channels, so `/verify` answers from the first minute: its
/// domain, the address its mail comes from, its Telegram and X accounts. Lookalikes of these
/// (`xdesk-example.com`, `@xdesk_demo_supp0rt`) are then answered as such.
pub const OFFICIAL_CHANNELS: &[(&str, &str, &str)] = &[
    (
        "domain",
        "xdesk.example",
        "The demo exchange's website and help center",
    ),
    (
        "email",
        "*@xdesk.example",
        "Every address at the demo exchange's domain",
    ),
    (
        "telegram",
        "@xdesk_demo_support",
        "The demo exchange's Telegram support account",
    ),
    (
        "x",
        "https://x.com/xdesk_demo",
        "The demo exchange's X account",
    ),
];

async fn seed_official_channels(s: &Services) -> anyhow::Result<()> {
    let mut channels: Vec<(String, String, String)> = OFFICIAL_CHANNELS
        .iter()
        .map(|(k, v, n)| ((*k).to_owned(), (*v).to_owned(), (*n).to_owned()))
        .collect();
    if !s.mail.from_address.ends_with("@xdesk.example") {
        channels.push((
            "email".into(),
            s.mail.from_address.clone(),
            "The address support mail comes from".into(),
        ));
    }
    for (kind, value, note) in channels {
        s.add_official_channel(&Principal::System, &kind, &value, &note)
            .await
            .with_context(|| format!("listing {value} as official"))?;
    }
    Ok(())
}

pub fn knowledge_base_files() -> &'static [(&'static str, &'static str)] {
    kb_files::FILES
}

/// The demo's help center: Nexa Exchange's articles in English and Chinese.
pub async fn seed_knowledge_base(s: &Services) -> anyhow::Result<()> {
    let categories = kb_files::FILES
        .iter()
        .find(|(n, _)| *n == "_categories.toml")
        .map(|(_, t)| *t);
    let files: Vec<(String, String)> = kb_files::FILES
        .iter()
        .filter(|(n, _)| n.ends_with(".md"))
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    s.import_kb(&Principal::System, categories, &files)
        .await
        .context("importing the demo knowledge base")?;
    Ok(())
}

/// The status page of a real exchange: components by network and by what customers do, two
/// incidents resolved in the past weeks (so the 90-day bars show them), and a maintenance
/// window next week. Everything goes through the services, as an admin's clicks would.
pub async fn seed_status_page(s: &Services) -> anyhow::Result<()> {
    use chrono::Duration;
    use xdesk_service::incidents::{ComponentSpec, IncidentSpec, UpdateSpec};
    let p = Principal::System;
    let err = |e: xdesk_service::ServiceError| anyhow::anyhow!("{e}");
    let mut position = 0;
    let mut component = |parent: Option<i64>,
                         name: &str,
                         name_zh: &str,
                         network: Option<&str>,
                         intents: &[&str]| {
        position += 1;
        ComponentSpec {
            parent_id: parent,
            name: name.into(),
            name_zh: name_zh.into(),
            description: String::new(),
            position,
            network: network.map(str::to_owned),
            intents: intents.iter().map(|i| (*i).to_owned()).collect(),
        }
    };
    let mut ids = std::collections::HashMap::new();
    for (group, group_zh, intent) in [
        ("Deposits", "充值", "deposit_missing"),
        ("Withdrawals", "提现", "withdrawal_delayed"),
    ] {
        let g = s
            .create_component(&p, &component(None, group, group_zh, None, &[]), None)
            .await
            .map_err(err)?;
        for (name, name_zh, network) in [
            ("Bitcoin", "比特币", "bitcoin"),
            ("Ethereum (ERC-20)", "以太坊 (ERC-20)", "ethereum"),
            ("TRON (TRC-20)", "波场 (TRC-20)", "tron"),
            ("Solana", "Solana", "solana"),
            ("BNB Smart Chain", "BNB 智能链", "bsc"),
        ] {
            let c = s
                .create_component(
                    &p,
                    &component(Some(g.id), name, name_zh, Some(network), &[intent]),
                    None,
                )
                .await
                .map_err(err)?;
            ids.insert(format!("{group}/{network}"), c.id);
        }
    }
    for (name, name_zh, intents) in [
        ("Spot trading", "现货交易", &["trading_order"][..]),
        (
            "Login and 2FA",
            "登录与双重验证",
            &["account_access", "two_factor_reset"][..],
        ),
        ("API", "API", &["api"][..]),
        ("Card payments", "银行卡支付", &["card_fiat_payment"][..]),
    ] {
        let c = s
            .create_component(&p, &component(None, name, name_zh, None, intents), None)
            .await
            .map_err(err)?;
        ids.insert(name.to_owned(), c.id);
    }
    let id = |k: &str| ids.get(k).copied().unwrap_or_default();
    // A past incident told step by step: each step is moved back before the next is written.
    let past = |title: (&str, &str),
                impact: &str,
                components: Vec<(i64, String)>,
                steps: Vec<(&'static str, &'static str, &'static str, i64)>,
                days_ago: i64| {
        let (title, title_zh) = (title.0.to_owned(), title.1.to_owned());
        let impact = impact.to_owned();
        let p = &p;
        async move {
            let mut steps = steps.into_iter();
            let Some((status, body, body_zh, gap)) = steps.next() else {
                return Ok::<(), anyhow::Error>(());
            };
            let inc = s
                .create_incident(
                    p,
                    IncidentSpec {
                        title,
                        title_zh,
                        impact: Some(impact),
                        status: Some(status.into()),
                        body: body.into(),
                        body_zh: body_zh.into(),
                        components,
                        ..Default::default()
                    },
                    None,
                )
                .await
                .map_err(err)?;
            let iid = inc.incident.id;
            s.store
                .backdate_incident(iid, Duration::minutes(gap))
                .await?;
            for (status, body, body_zh, gap) in steps {
                s.post_incident_update(
                    p,
                    iid,
                    UpdateSpec {
                        status: Some(status.into()),
                        body: body.into(),
                        body_zh: body_zh.into(),
                        ..Default::default()
                    },
                    None,
                )
                .await
                .map_err(err)?;
                s.store
                    .backdate_incident(iid, Duration::minutes(gap))
                    .await?;
            }
            s.store
                .backdate_incident(iid, Duration::days(days_ago))
                .await?;
            Ok(())
        }
    };
    past(
        ("USDT deposits on TRON delayed", "波场 USDT 充值延迟"),
        "major",
        vec![(id("Deposits/tron"), "partial_outage".into())],
        vec![
            (
                "investigating",
                "Deposits of USDT and TRX on the TRON network are taking longer than usual to be credited. Your funds are safe; we are investigating.",
                "波场网络上的 USDT 和 TRX 充值到账时间比平时长。您的资产安全，我们正在调查。",
                35,
            ),
            (
                "identified",
                "One of our TRON nodes fell behind the chain. We are switching to a healthy node; delayed deposits will be credited automatically.",
                "我们的一个波场节点同步落后。正在切换到正常节点，延迟的充值将自动到账。",
                50,
            ),
            (
                "monitoring",
                "Deposits are being credited again and the backlog is clearing. We are watching closely.",
                "充值已恢复到账，积压正在处理中。我们会持续观察。",
                40,
            ),
            (
                "resolved",
                "All delayed TRON deposits have been credited. No action is needed on your part.",
                "所有延迟的波场充值均已到账，您无需任何操作。",
                0,
            ),
        ],
        12,
    )
    .await?;
    past(
        ("Ethereum withdrawals paused", "以太坊提现暂停"),
        "minor",
        vec![(id("Withdrawals/ethereum"), "major_outage".into())],
        vec![
            (
                "investigating",
                "Withdrawals on Ethereum are paused while gas prices spike. Pending withdrawals are safe and will be sent.",
                "由于 Gas 费用飙升，以太坊提现暂时暂停。待处理的提现是安全的，稍后会发出。",
                60,
            ),
            (
                "resolved",
                "Ethereum withdrawals have resumed and the queue has been sent.",
                "以太坊提现已恢复，排队中的提现均已发出。",
                0,
            ),
        ],
        41,
    )
    .await?;
    let start = (s.now() + Duration::days(5))
        .date_naive()
        .and_hms_opt(2, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(|| s.now() + Duration::days(5));
    s.create_incident(
        &p,
        IncidentSpec {
            kind: Some("maintenance".into()),
            title: "Bitcoin node upgrade".into(),
            title_zh: "比特币节点升级".into(),
            body: "Bitcoin deposits and withdrawals pause for about one hour while we upgrade our nodes. Funds in transit are safe.".into(),
            body_zh: "比特币节点升级期间，比特币充值和提现将暂停约一小时。途中的资金是安全的。".into(),
            components: vec![
                (id("Deposits/bitcoin"), "under_maintenance".into()),
                (id("Withdrawals/bitcoin"), "under_maintenance".into()),
            ],
            starts_at: Some(start),
            ends_at: Some(start + Duration::hours(1)),
            ..Default::default()
        },
        None,
    )
    .await
    .map_err(err)?;
    Ok(())
}
