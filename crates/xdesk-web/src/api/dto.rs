//! Request and response bodies of the JSON API. Responses are built from storage rows here so
//! that handlers stay thin and the wire format is defined in one place.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use xdesk_domain::ticket::{RawCryptoFields, TicketNumber};
use xdesk_service::tickets::{CustomerRef, Upload};
use xdesk_store::{AttachmentRow, MessageRow, OutboundRow, TicketRow};

use crate::error::AppError;

/// Distinguishes an absent field (leave as is) from `null` (clear it).
pub fn double_option<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CryptoFieldsDto {
    /// e.g. `bitcoin`, `ethereum`, `tron`, `solana`, `xrp`, `ton`.
    pub network: Option<String>,
    pub asset: Option<String>,
    pub tx_hash: Option<String>,
    pub from_address: Option<String>,
    pub to_address: Option<String>,
    /// Exact decimal as a string, e.g. `"1250.000001"` (also `"1,250.000001"`: `,` or a space
    /// only between groups of three digits; returned without them). Never a float.
    pub amount: Option<String>,
    /// Memo or destination tag.
    pub memo: Option<String>,
    pub occurred_at: Option<DateTime<Utc>>,
}

impl From<CryptoFieldsDto> for RawCryptoFields {
    fn from(c: CryptoFieldsDto) -> Self {
        RawCryptoFields {
            network: c.network,
            asset: c.asset,
            tx_hash: c.tx_hash,
            from_address: c.from_address,
            to_address: c.to_address,
            amount: c.amount,
            memo: c.memo,
            occurred_at: c.occurred_at,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerRefDto {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub exchange_uid: Option<String>,
    /// `network:address`
    pub wallet: Option<String>,
    pub telegram_id: Option<String>,
    /// The exchange's tier for the customer (`vip`, …): stored, and tested by routing rules.
    pub tier: Option<String>,
}

impl From<CustomerRefDto> for CustomerRef {
    fn from(c: CustomerRefDto) -> Self {
        CustomerRef {
            id: c.id,
            name: c.name,
            email: c.email,
            exchange_uid: c.exchange_uid,
            wallet: c.wallet,
            telegram_id: c.telegram_id,
            tier: c.tier,
        }
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentIn {
    pub filename: String,
    #[serde(default)]
    pub content_type: String,
    pub content_base64: String,
}

pub fn decode_uploads(a: Vec<AttachmentIn>) -> Result<Vec<Upload>, AppError> {
    a.into_iter()
        .map(|a| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(a.content_base64.as_bytes())
                .map_err(|e| {
                    let mut err = AppError::new(
                        axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                        "invalid_attachment",
                        format!(
                            "attachment `{}`: content_base64 is not base64: {e}",
                            a.filename
                        ),
                    );
                    err.field = Some("attachments".into());
                    err
                })?;
            Ok(Upload {
                filename: a.filename,
                content_type: a.content_type,
                bytes,
            })
        })
        .collect()
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicketReq {
    pub subject: String,
    pub body: String,
    pub body_html: Option<String>,
    pub customer: CustomerRefDto,
    pub priority: Option<String>,
    pub channel: Option<String>,
    pub language: Option<String>,
    pub category: Option<String>,
    pub group_id: Option<i64>,
    pub assignee_id: Option<i64>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub crypto: CryptoFieldsDto,
    #[serde(default)]
    pub attachments: Vec<AttachmentIn>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateTicketReq {
    /// The `version` you read; a stale one gets 409 `stale_version`.
    pub version: i64,
    pub subject: Option<String>,
    pub state: Option<String>,
    pub priority: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub category: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub group_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    pub assignee_id: Option<Option<i64>>,
    pub tags: Option<Vec<String>>,
    pub crypto: Option<CryptoFieldsDto>,
    /// Corrects what triage decided the customer wants (agents only); kept to retrain it.
    pub intent: Option<String>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageReq {
    pub body: String,
    pub body_html: Option<String>,
    #[serde(default)]
    pub attachments: Vec<AttachmentIn>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketDto {
    pub id: i64,
    /// Human-readable reference, e.g. `XD-10042`.
    pub number: String,
    pub subject: String,
    pub state: String,
    pub priority: String,
    pub channel: String,
    pub language: String,
    pub category: Option<String>,
    /// What the customer wants, as triage or an agent decided: `deposit_missing`,
    /// `withdrawal_delayed`, `account_access`, `two_factor_reset`, `kyc`,
    /// `account_compromised`, `card_fiat_payment`, `trading_order`, `fees`, `api`,
    /// `p2p_dispute`, `scam_report`, `feedback` or `other`.
    pub intent: Option<String>,
    pub customer_id: i64,
    pub group_id: Option<i64>,
    pub assignee_id: Option<i64>,
    pub tags: Vec<String>,
    pub crypto: CryptoFieldsDto,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Set when this ticket was merged into another: the conversation continues there.
    pub merged_into: Option<i64>,
}

/// Ticket ids map onto numbers so a reference never needs a second lookup.
pub fn ticket_number(id: i64) -> String {
    TicketNumber::for_ticket(id).to_string()
}

impl From<TicketRow> for TicketDto {
    fn from(t: TicketRow) -> Self {
        TicketDto {
            number: ticket_number(t.id),
            id: t.id,
            tags: serde_json::from_str(&t.tags).unwrap_or_default(),
            crypto: CryptoFieldsDto {
                network: t.network,
                asset: t.asset,
                tx_hash: t.tx_hash,
                from_address: t.from_address,
                to_address: t.to_address,
                amount: t.amount,
                memo: t.memo,
                occurred_at: t.occurred_at,
            },
            subject: t.subject,
            state: t.state,
            priority: t.priority,
            channel: t.channel,
            language: t.language,
            category: t.category,
            intent: t.intent,
            customer_id: t.customer_id,
            group_id: t.group_id,
            assignee_id: t.assignee_id,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
            merged_into: t.merged_into,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttachmentDto {
    pub id: i64,
    pub message_id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    /// Where to download it.
    pub url: String,
}

impl From<AttachmentRow> for AttachmentDto {
    fn from(a: AttachmentRow) -> Self {
        AttachmentDto {
            url: format!("/api/v1/attachments/{}", a.id),
            id: a.id,
            message_id: a.message_id,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
            sha256: a.sha256,
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MessageDto {
    pub id: i64,
    /// Position in the ticket's conversation (1, 2, 3, ...).
    pub seq: i64,
    pub author_kind: String,
    pub author_id: Option<i64>,
    pub body: String,
    pub body_html: Option<String>,
    pub internal: bool,
    pub channel: String,
    pub created_at: DateTime<Utc>,
    pub attachments: Vec<AttachmentDto>,
    /// Kinds of secret (`seed_phrase`, `private_key`, `one_time_code`) xdesk cut from this
    /// message before storing it; markers stand where they were.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
    /// For a message mailed to the customer: where its mail stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivery: Option<DeliveryDto>,
    /// The language a customer's message is written in, as detected when it arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// Where a message moved here from: `{"ticket": id, "seq": n, "at": time}` for one merged
    /// in from a duplicate (`merged_from`) or split out of another ticket (`split_from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<serde_json::Value>,
    /// The authenticity code support's messages carry: the customer checks it at `/verify`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DeliveryDto {
    /// `queued`, `sending`, `sent` or `failed`.
    pub state: String,
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub attempts: i32,
    /// The last failure: the SMTP server's answer, or the bounce report.
    pub error: Option<String>,
    /// What the SMTP server said when it took the mail.
    pub smtp_response: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
}

impl From<&OutboundRow> for DeliveryDto {
    fn from(o: &OutboundRow) -> Self {
        Self {
            state: o.state.clone(),
            to: o.to_address.clone(),
            subject: o.subject.clone(),
            message_id: o.rfc_message_id.clone(),
            attempts: o.attempts,
            error: o.last_error.clone(),
            smtp_response: o.smtp_response.clone(),
            next_attempt_at: (o.state == "queued").then_some(o.next_attempt_at),
            sent_at: o.sent_at,
        }
    }
}

pub fn message_dto(
    m: MessageRow,
    attachments: &[AttachmentRow],
    deliveries: &[OutboundRow],
) -> MessageDto {
    let delivery = deliveries
        .iter()
        .find(|o| o.message_id == Some(m.id))
        .map(DeliveryDto::from);
    let meta: serde_json::Value = serde_json::from_str(&m.metadata).unwrap_or_default();
    let redacted = meta["redacted"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|k| k.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    MessageDto {
        redacted,
        delivery,
        language: meta["language"].as_str().map(str::to_owned),
        moved_from: meta
            .get("merged_from")
            .or_else(|| meta.get("split_from"))
            .map(|t| {
                serde_json::json!({"ticket": t, "seq": meta["original_seq"], "at": meta["original_at"]})
            }),
        attachments: attachments
            .iter()
            .filter(|a| a.message_id == m.id)
            .cloned()
            .map(Into::into)
            .collect(),
        id: m.id,
        seq: m.seq,
        author_kind: m.author_kind,
        author_id: m.author_id,
        body: m.body_text,
        body_html: m.body_html,
        internal: m.internal,
        channel: m.channel,
        created_at: m.created_at,
        verify_code: m.verify_code,
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketDetailDto {
    #[serde(flatten)]
    pub ticket: TicketDto,
    pub messages: Vec<MessageDto>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TicketPage {
    pub tickets: Vec<TicketDto>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EventDto {
    pub seq: i64,
    pub kind: String,
    pub actor: String,
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VerificationDto {
    pub valid: bool,
    pub events: usize,
    pub head: Option<String>,
    pub broken_at_seq: Option<i64>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryDto {
    pub events: Vec<EventDto>,
    pub verification: VerificationDto,
}
