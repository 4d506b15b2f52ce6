//! Triage of new tickets from every channel: the model (trained from the shipped examples and
//! agents' corrections) decides the intent and language; money at risk makes a ticket urgent.
//! Agents correct the intent; each correction is kept to retrain the model.

use crate::{Principal, ServiceError, Services};
use std::sync::{Arc, LazyLock, RwLock};
use xdesk_domain::FieldError;
use xdesk_domain::ticket::{Priority, RawCryptoFields};
use xdesk_domain::triage::{Classifier, Example, Intent, Triage, UrgentAmounts};
use xdesk_store::TriageRecord;

/// The tag an urgent (money at risk) ticket carries, for views and routing.
pub const URGENT_TAG: &str = "money-at-risk";

/// The model trained on the shipped examples only, once per process.
static BUILTIN: LazyLock<Arc<Classifier>> = LazyLock::new(|| {
    let examples = xdesk_domain::triage::builtin_examples().unwrap_or_else(|e| {
        tracing::error!(error = %e, "the shipped triage examples do not parse");
        Vec::new()
    });
    Arc::new(Classifier::train(&examples))
});

/// The node's triage model and settings.
pub struct TriageSettings {
    pub model: RwLock<Arc<Classifier>>,
    /// Funds missing at or above these amounts (per asset) make a ticket urgent.
    pub urgent_amounts: UrgentAmounts,
}

impl Default for TriageSettings {
    fn default() -> Self {
        Self {
            model: RwLock::new(BUILTIN.clone()),
            urgent_amounts: UrgentAmounts::default(),
        }
    }
}

impl TriageSettings {
    pub fn with_urgent_amounts(urgent_amounts: UrgentAmounts) -> Self {
        Self {
            urgent_amounts,
            ..Self::default()
        }
    }
}

/// What triage decided, ready for the new ticket.
pub(crate) struct Triaged {
    pub triage: Triage,
    pub record: TriageRecord,
}

impl Triaged {
    /// Raises an urgent ticket's priority and tags it.
    pub(crate) fn raise(&self, tags: &mut Vec<String>, priority: &mut Priority) {
        if self.triage.urgent {
            *priority = Priority::Urgent;
            if !tags.iter().any(|t| t == URGENT_TAG) {
                tags.push(URGENT_TAG.to_owned());
            }
        }
    }
}

/// The text triage reads: subject and first message.
fn text_of(subject: &str, body: &str) -> String {
    format!("{subject}\n{body}")
}

impl Services {
    /// Triage of a new ticket's subject, first message and case fields.
    pub(crate) fn triage_new(
        &self,
        subject: &str,
        body: &str,
        crypto: &RawCryptoFields,
    ) -> Triaged {
        let model = self
            .triage
            .model
            .read()
            .map(|m| m.clone())
            .unwrap_or_else(|e| e.into_inner().clone());
        let amount = crypto
            .amount
            .as_deref()
            .and_then(|a| a.parse::<rust_decimal::Decimal>().ok());
        let triage = xdesk_domain::triage::triage(
            &model,
            &text_of(subject, body),
            crypto.asset.as_deref(),
            amount,
            &self.triage.urgent_amounts,
        );
        let record = TriageRecord {
            language: triage.language.clone(),
            intent: triage.intent.as_str().to_owned(),
            confidence_pct: (triage.confidence * 100.0).round().clamp(0.0, 100.0) as u8,
            urgent_reason: triage.urgent_reason.map(str::to_owned),
        };
        Triaged { triage, record }
    }

    /// Retrains the model from the shipped examples and every stored correction; a node does
    /// this at start. Returns how many corrections it learned from.
    pub async fn retrain_triage(&self) -> Result<usize, ServiceError> {
        let corrections = self.store.triage_corrections().await?;
        let n = corrections.len();
        if n == 0 {
            return Ok(0);
        }
        let model = tokio::task::spawn_blocking(move || {
            let mut examples = xdesk_domain::triage::builtin_examples().unwrap_or_default();
            examples.extend(
                corrections
                    .into_iter()
                    .filter_map(|(language, text, intent)| {
                        Some(Example {
                            intent: Intent::parse(&intent)?,
                            language,
                            text,
                        })
                    }),
            );
            Classifier::train(&examples)
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        if let Ok(mut m) = self.triage.model.write() {
            *m = Arc::new(model);
        }
        Ok(n)
    }

    /// An agent set a ticket's intent by hand: kept, with what the model read, for retraining.
    pub(crate) async fn record_intent_correction(
        &self,
        p: &Principal,
        ticket: &xdesk_store::TicketRow,
        intent: &str,
    ) -> Result<(), ServiceError> {
        let first = self
            .store
            .messages_after(ticket.id, 0, false)
            .await?
            .into_iter()
            .next()
            .map(|m| m.body_text)
            .unwrap_or_default();
        let agent = match p {
            Principal::Agent { id, .. } => Some(*id),
            _ => None,
        };
        self.store
            .add_triage_correction(
                ticket.id,
                &ticket.language,
                &text_of(&ticket.subject, &first),
                intent,
                agent,
            )
            .await?;
        Ok(())
    }
}

/// An intent an agent chose, checked.
pub(crate) fn parse_intent(s: &str) -> Result<Intent, FieldError> {
    Intent::parse(s).ok_or_else(|| {
        FieldError::new(
            "intent",
            "invalid_intent",
            format!(
                "unknown intent {s:?}; one of: {}",
                Intent::ALL.map(Intent::as_str).join(", ")
            ),
        )
    })
}
