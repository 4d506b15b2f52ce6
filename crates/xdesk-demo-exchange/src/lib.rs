//! A reference implementation of the exchange connector contract
//! (`docs/exchange-connector.openapi.yaml`): every account whose UID starts with `U` exists,
//! with believable data derived from its UID (so the demo and the tests see the same account
//! every time), and actions change its state in memory. Callers authenticate with a bearer
//! token.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use xdesk_domain::exchange::{
    Account, ActionRequest, ActionResult, DepositAddress, Kyc, KycStep, Login, RiskFlag, Transfer,
};

/// The token `xdesk-demo-exchange` accepts unless told otherwise.
pub const DEFAULT_TOKEN: &str = "demo-exchange-token";

/// What the exchange changed since start: frozen accounts, and every action it was asked.
#[derive(Default)]
struct Memory {
    status: BTreeMap<String, String>,
    /// Deposit addresses set by hand (tests), by (uid, network).
    deposit: BTreeMap<(String, String), String>,
    actions: Vec<(String, String, ActionRequest)>,
}

#[derive(Clone)]
struct Demo {
    token: Arc<str>,
    memory: Arc<Mutex<Memory>>,
    /// Requests served, per path kind: the tests read it to see xdesk's cache work.
    hits: Arc<Mutex<BTreeMap<String, u64>>>,
}

/// A handle on a running demo exchange.
#[derive(Clone)]
pub struct DemoExchange {
    demo: Demo,
    pub url: String,
}

impl DemoExchange {
    /// How many times `kind` (`account`, `transfers`, `logins`, `risk`) was fetched.
    pub fn hits(&self, kind: &str) -> u64 {
        self.demo
            .hits
            .lock()
            .map(|h| h.get(kind).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// Makes `address` the account's deposit address on `network` (for tests whose chain
    /// has its own addresses).
    pub fn set_deposit_address(&self, uid: &str, network: &str, address: &str) {
        if let Ok(mut m) = self.demo.memory.lock() {
            m.deposit
                .insert((uid.to_owned(), network.to_owned()), address.to_owned());
        }
    }

    /// The actions asked so far: (uid, action, request).
    pub fn actions(&self) -> Vec<(String, String, ActionRequest)> {
        self.demo
            .memory
            .lock()
            .map(|m| m.actions.clone())
            .unwrap_or_default()
    }
}

/// Starts one on a free loopback port, in this process (for tests and the demo).
pub async fn start(token: &str) -> std::io::Result<DemoExchange> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let demo = demo(token.to_owned());
    let app = router(demo.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(DemoExchange { demo, url })
}

/// Serves until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, token: String) -> std::io::Result<()> {
    axum::serve(listener, router(demo(token))).await
}

fn demo(token: String) -> Demo {
    Demo {
        token: token.into(),
        memory: Arc::default(),
        hits: Arc::default(),
    }
}

fn router(demo: Demo) -> Router {
    Router::new()
        .route("/v1/accounts/{uid}", get(account))
        .route("/v1/accounts/{uid}/transfers", get(transfers))
        .route("/v1/accounts/{uid}/logins", get(logins))
        .route("/v1/accounts/{uid}/risk", get(risk))
        .route(
            "/v1/accounts/{uid}/deposit-addresses",
            get(deposit_addresses),
        )
        .route("/v1/accounts/{uid}/freeze", post(freeze))
        .route("/v1/accounts/{uid}/reset-2fa", post(reset_2fa))
        .route("/v1/accounts/{uid}/kyc/resend", post(resend_kyc))
        .with_state(demo)
}

fn problem(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(serde_json::json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// The caller's token is right and the account exists: else the error to answer.
fn check(demo: &Demo, headers: &HeaderMap, uid: &str, kind: &str) -> Option<Response> {
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| t == &*demo.token);
    if !ok {
        return Some(problem(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "bad token",
        ));
    }
    if let Ok(mut h) = demo.hits.lock() {
        *h.entry(kind.to_owned()).or_default() += 1;
    }
    if !uid.starts_with('U') || uid.len() > 32 {
        return Some(problem(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such account",
        ));
    }
    None
}

/// Bytes derived from the UID: the same account every time.
fn seed(uid: &str) -> [u8; 32] {
    Sha256::digest(uid.as_bytes()).into()
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0)
        .single()
        .unwrap_or_else(Utc::now)
}

const NAMES: &[&str] = &[
    "Wei Lin",
    "王小明",
    "Aiko Tanaka",
    "Carlos Mendes",
    "Nguyen Thi Mai",
    "李娜",
];
const CITIES: &[&str] = &[
    "Singapore, SG",
    "Shanghai, CN",
    "Hong Kong, HK",
    "Tokyo, JP",
    "Lagos, NG",
    "São Paulo, BR",
];

fn account_of(uid: &str, status: Option<&String>) -> Account {
    let s = seed(uid);
    let level = s[0] % 4;
    let name = NAMES[usize::from(s[1]) % NAMES.len()];
    let created = base_time() - Duration::days(30 + i64::from(s[2]));
    let mut history = vec![KycStep {
        at: created + Duration::hours(1),
        level: 1,
        status: "approved".into(),
        note: None,
    }];
    if level >= 2 {
        history.push(KycStep {
            at: created + Duration::days(3),
            level: 2,
            status: "rejected".into(),
            note: Some("address proof unreadable".into()),
        });
        history.push(KycStep {
            at: created + Duration::days(5),
            level: 2,
            status: "approved".into(),
            note: None,
        });
    }
    Account {
        uid: uid.to_owned(),
        status: status.cloned().unwrap_or_else(|| "active".into()),
        email: Some(format!("{}@example.com", uid.to_lowercase())),
        phone: Some(format!(
            "+65 9{:03} {:04}",
            s[3],
            u16::from_le_bytes([s[4], s[5]]) % 10_000
        )),
        name: Some(name.into()),
        country: Some(["SG", "CN", "HK", "JP", "NG", "BR"][usize::from(s[1]) % 6].into()),
        created_at: created,
        kyc: Kyc {
            level: level.max(1),
            status: "approved".into(),
            history,
        },
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn transfers_of(uid: &str) -> Vec<Transfer> {
    let s = seed(uid);
    let t = base_time();
    let hash = |n: u8| {
        let mut h = Sha256::new();
        h.update(uid.as_bytes());
        h.update([n]);
        format!("0x{}", hex(&h.finalize()))
    };
    vec![
        Transfer {
            kind: "deposit".into(),
            asset: "USDT".into(),
            network: "ethereum".into(),
            amount: format!("{}.50", 100 + u32::from(s[6]) * 10),
            tx_hash: Some(hash(1)),
            address: Some("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".into()),
            memo: None,
            status: "confirming".into(),
            at: t - Duration::minutes(40),
        },
        Transfer {
            kind: "withdrawal".into(),
            asset: "ETH".into(),
            network: "ethereum".into(),
            amount: format!("0.{:03}", s[7]),
            tx_hash: Some(hash(2)),
            address: Some("0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359".into()),
            memo: None,
            status: "completed".into(),
            at: t - Duration::days(2),
        },
        Transfer {
            kind: "withdrawal".into(),
            asset: "USDT".into(),
            network: "tron".into(),
            amount: "2500.00".into(),
            tx_hash: None,
            address: Some("TLa2f6VPqDgRE67v1736s7bJ8Ray5wYjU7".into()),
            memo: None,
            status: "on_hold".into(),
            at: t - Duration::hours(5),
        },
    ]
}

fn logins_of(uid: &str) -> Vec<Login> {
    let s = seed(uid);
    let t = base_time();
    let home = CITIES[usize::from(s[1]) % CITIES.len()];
    let away = CITIES[(usize::from(s[1]) + 3) % CITIES.len()];
    vec![
        Login {
            at: t - Duration::hours(3),
            ip: format!("203.0.113.{}", s[8] % 250),
            location: away.into(),
            device: "Chrome 142 on Windows".into(),
            result: "success".into(),
        },
        Login {
            at: t - Duration::hours(3) - Duration::minutes(2),
            ip: format!("203.0.113.{}", s[8] % 250),
            location: away.into(),
            device: "Chrome 142 on Windows".into(),
            result: "failed".into(),
        },
        Login {
            at: t - Duration::days(1),
            ip: format!("198.51.100.{}", s[9] % 250),
            location: home.into(),
            device: "xdesk Exchange app 5.2 on iPhone".into(),
            result: "success".into(),
        },
    ]
}

fn risk_of(uid: &str) -> Vec<RiskFlag> {
    let t = base_time();
    vec![
        RiskFlag {
            flag: "new_device".into(),
            severity: "medium".into(),
            since: t - Duration::hours(3),
            note: Some(format!("first login from this device for {uid}")),
        },
        RiskFlag {
            flag: "withdrawal_address_changed".into(),
            severity: "high".into(),
            since: t - Duration::hours(5),
            note: Some("new address whitelisted 10 minutes after the new-device login".into()),
        },
    ]
}

#[derive(Deserialize)]
struct Limit {
    limit: Option<usize>,
}

async fn account(State(d): State<Demo>, h: HeaderMap, Path(uid): Path<String>) -> Response {
    if let Some(r) = check(&d, &h, &uid, "account") {
        return r;
    }
    let status = d
        .memory
        .lock()
        .ok()
        .and_then(|m| m.status.get(&uid).cloned());
    Json(account_of(&uid, status.as_ref())).into_response()
}

async fn transfers(
    State(d): State<Demo>,
    h: HeaderMap,
    Path(uid): Path<String>,
    Query(q): Query<Limit>,
) -> Response {
    if let Some(r) = check(&d, &h, &uid, "transfers") {
        return r;
    }
    let mut t = transfers_of(&uid);
    t.truncate(q.limit.unwrap_or(20).min(100));
    Json(t).into_response()
}

async fn logins(
    State(d): State<Demo>,
    h: HeaderMap,
    Path(uid): Path<String>,
    Query(q): Query<Limit>,
) -> Response {
    if let Some(r) = check(&d, &h, &uid, "logins") {
        return r;
    }
    let mut l = logins_of(&uid);
    l.truncate(q.limit.unwrap_or(20).min(100));
    Json(l).into_response()
}

async fn risk(State(d): State<Demo>, h: HeaderMap, Path(uid): Path<String>) -> Response {
    if let Some(r) = check(&d, &h, &uid, "risk") {
        return r;
    }
    Json(risk_of(&uid)).into_response()
}

fn act(
    d: &Demo,
    h: &HeaderMap,
    uid: &str,
    action: &str,
    req: ActionRequest,
    new_status: Option<&str>,
) -> Response {
    if let Some(r) = check(d, h, uid, action) {
        return r;
    }
    if req.reason.trim().is_empty() {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason_required",
            "give a reason",
        );
    }
    let Ok(mut m) = d.memory.lock() else {
        return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal", "state lost");
    };
    if let Some(s) = new_status {
        m.status.insert(uid.to_owned(), s.to_owned());
    }
    m.actions.push((uid.to_owned(), action.to_owned(), req));
    let status = m
        .status
        .get(uid)
        .cloned()
        .unwrap_or_else(|| "active".into());
    Json(ActionResult {
        result: "done".into(),
        account_status: status,
        message: None,
    })
    .into_response()
}

async fn freeze(
    State(d): State<Demo>,
    h: HeaderMap,
    Path(uid): Path<String>,
    Json(req): Json<ActionRequest>,
) -> Response {
    act(&d, &h, &uid, "freeze", req, Some("frozen"))
}

async fn reset_2fa(
    State(d): State<Demo>,
    h: HeaderMap,
    Path(uid): Path<String>,
    Json(req): Json<ActionRequest>,
) -> Response {
    if req.approved_by.is_none() {
        return problem(
            StatusCode::UNPROCESSABLE_ENTITY,
            "approval_required",
            "a supervisor must approve a 2FA reset",
        );
    }
    act(&d, &h, &uid, "reset_2fa", req, None)
}

async fn resend_kyc(
    State(d): State<Demo>,
    h: HeaderMap,
    Path(uid): Path<String>,
    Json(req): Json<ActionRequest>,
) -> Response {
    act(&d, &h, &uid, "resend_kyc", req, None)
}

async fn deposit_addresses(
    State(d): State<Demo>,
    h: HeaderMap,
    Path(uid): Path<String>,
) -> Response {
    if let Some(r) = check(&d, &h, &uid, "deposit_addresses") {
        return r;
    }
    let set = d
        .memory
        .lock()
        .map(|m| m.deposit.clone())
        .unwrap_or_default();
    let pick = |network: &str, default: &str| {
        set.get(&(uid.clone(), network.to_owned()))
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
    Json(vec![
        DepositAddress {
            network: "ethereum".into(),
            asset: "ETH".into(),
            address: pick("ethereum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
            memo: None,
        },
        DepositAddress {
            network: "bitcoin".into(),
            asset: "BTC".into(),
            address: pick("bitcoin", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"),
            memo: None,
        },
    ])
    .into_response()
}
