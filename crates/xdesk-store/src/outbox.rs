//! The email outbox: a row per outgoing mail, written in the transaction that adds the ticket
//! message it delivers, so a reply is never stored without being queued or queued without being
//! stored. Senders on any node claim due rows with a lease (`FOR UPDATE SKIP LOCKED` on
//! PostgreSQL; SQLite has one writer), and a lease that runs out is taken over, so a crashed
//! sender's mail still goes. The Message-ID is fixed when queued: a mail sent again after a
//! crash is the same message to the recipient's client.

use crate::email::record_ref;
use crate::entities::{email_ref, email_template, outbound_email};
use crate::{Store, StoreError, now};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseBackend, DatabaseTransaction, EntityTrait, QueryFilter,
    QueryOrder, Set, Statement, TransactionTrait,
};

pub type OutboundRow = outbound_email::Model;
pub type EmailTemplateRow = email_template::Model;

/// A rendered mail to queue with its message.
#[derive(Debug, Clone)]
pub struct OutboundMail {
    pub kind: String,
    pub to_address: String,
    pub subject: String,
    pub rfc_message_id: String,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub body_text: String,
    pub auto_submitted: bool,
    /// The code the mail shows, which the message it delivers keeps (see `/verify`).
    pub verify_code: Option<String>,
    /// For mail to a list (status page subscribers): the https address that unsubscribes with
    /// one POST, sent as `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058).
    pub list_unsubscribe: Option<String>,
}

/// How one send attempt ended.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    Sent {
        response: String,
    },
    /// Try again at `at` (a 4xx answer or a connection problem).
    Retry {
        error: String,
        at: DateTime<Utc>,
    },
    /// Given up: a 5xx answer, or too many attempts.
    Failed {
        error: String,
    },
}

pub(crate) async fn queue_outbound(
    tx: &DatabaseTransaction,
    ticket_id: i64,
    message_id: i64,
    o: &OutboundMail,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    insert_outbound(tx, Some((ticket_id, message_id)), o, at).await?;
    // The customer's answer to this mail threads back by its Message-ID.
    record_ref(tx, &o.rfc_message_id, ticket_id, message_id, "out").await?;
    Ok(())
}

/// Queues a mail; `delivers` is the ticket message it carries, if any.
pub(crate) async fn insert_outbound(
    tx: &DatabaseTransaction,
    delivers: Option<(i64, i64)>,
    o: &OutboundMail,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    outbound_email::ActiveModel {
        ticket_id: Set(delivers.map(|d| d.0)),
        message_id: Set(delivers.map(|d| d.1)),
        kind: Set(o.kind.clone()),
        to_address: Set(o.to_address.clone()),
        subject: Set(o.subject.clone()),
        rfc_message_id: Set(o.rfc_message_id.clone()),
        in_reply_to: Set(o.in_reply_to.clone()),
        reference_ids: Set(o.references.join(" ")),
        body_text: Set(o.body_text.clone()),
        auto_submitted: Set(o.auto_submitted),
        list_unsubscribe: Set(o.list_unsubscribe.clone()),
        state: Set("queued".into()),
        attempts: Set(0),
        next_attempt_at: Set(at),
        lease_until: Set(None),
        last_error: Set(None),
        smtp_response: Set(None),
        created_at: Set(at),
        sent_at: Set(None),
        ..Default::default()
    }
    .insert(tx)
    .await?;
    Ok(())
}

impl Store {
    /// Queues mails that carry no ticket message (alerts to staff), all or none.
    pub async fn queue_mails(&self, mails: &[OutboundMail]) -> Result<(), StoreError> {
        if mails.is_empty() {
            return Ok(());
        }
        let at = now();
        let tx = self.db.begin().await?;
        for m in mails {
            insert_outbound(&tx, None, m, at).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes up to `limit` due mails (queued and due, or held by a lease that ran out) for
    /// `lease`, counting the attempt. Two senders never hold the same row at once.
    pub async fn claim_outbound(
        &self,
        limit: u64,
        lease: std::time::Duration,
    ) -> Result<Vec<OutboundRow>, StoreError> {
        let at = now();
        let until = at + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::MAX);
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => {
                "UPDATE outbound_emails SET state = 'sending', attempts = attempts + 1, \
                 lease_until = $1 WHERE id IN (SELECT id FROM outbound_emails \
                 WHERE (state = 'queued' AND next_attempt_at <= $2) \
                 OR (state = 'sending' AND lease_until < $2) \
                 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING *"
            }
            _ => {
                "UPDATE outbound_emails SET state = 'sending', attempts = attempts + 1, \
                 lease_until = ?1 WHERE id IN (SELECT id FROM outbound_emails \
                 WHERE (state = 'queued' AND next_attempt_at <= ?2) \
                 OR (state = 'sending' AND lease_until < ?2) \
                 ORDER BY id LIMIT ?3) RETURNING *"
            }
        };
        let stmt = Statement::from_sql_and_values(
            backend,
            sql,
            [until.into(), at.into(), (limit.min(1000) as i64).into()],
        );
        let mut rows = outbound_email::Entity::find()
            .from_raw_sql(stmt)
            .all(&self.db)
            .await?;
        rows.sort_by_key(|r| r.id);
        Ok(rows)
    }

    /// Records how an attempt on a claimed mail ended. A row no longer `sending` (a bounce
    /// arrived meanwhile, say) is left as it is.
    /// Records claimed mails' outcomes, several in one transaction: a sender that finishes
    /// many mails a second does not wait for a commit after each.
    pub async fn finish_outbound_many(
        &self,
        done: Vec<(i64, SendOutcome)>,
    ) -> Result<(), StoreError> {
        use sea_orm::TransactionTrait;
        let at = now();
        let tx = self.db.begin().await?;
        for (id, outcome) in done {
            finishing(id, outcome, at).exec(&tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// A bounce for one of our mails: it failed, whatever the server said when it took it.
    /// Returns the bounced mail's ticket message, if it was ours.
    pub async fn mark_outbound_bounced(
        &self,
        rfc_message_id: &str,
        error: &str,
    ) -> Result<Option<i64>, StoreError> {
        let Some(row) = outbound_email::Entity::find()
            .filter(outbound_email::Column::RfcMessageId.eq(rfc_message_id))
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        outbound_email::Entity::update_many()
            .col_expr(outbound_email::Column::State, Expr::value("failed"))
            .col_expr(outbound_email::Column::LastError, Expr::value(error))
            .col_expr(
                outbound_email::Column::LeaseUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(outbound_email::Column::Id.eq(row.id))
            .exec(&self.db)
            .await?;
        Ok(row.message_id)
    }

    /// Mails not yet sent or given up (for benchmarks and health).
    pub async fn pending_outbound(&self) -> Result<u64, StoreError> {
        use sea_orm::PaginatorTrait;
        Ok(outbound_email::Entity::find()
            .filter(outbound_email::Column::State.is_in(["queued", "sending"]))
            .count(&self.read)
            .await?)
    }

    pub async fn ticket_outbound(&self, ticket_id: i64) -> Result<Vec<OutboundRow>, StoreError> {
        Ok(outbound_email::Entity::find()
            .filter(outbound_email::Column::TicketId.eq(ticket_id))
            .order_by_asc(outbound_email::Column::Id)
            .all(&self.read)
            .await?)
    }

    /// Every Message-ID of a ticket's mail, in and out, oldest first, with its direction.
    pub async fn ticket_mail_ids(
        &self,
        ticket_id: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(email_ref::Entity::find()
            .filter(email_ref::Column::TicketId.eq(ticket_id))
            .order_by_asc(email_ref::Column::MessageId)
            .all(&self.read)
            .await?
            .into_iter()
            .map(|r| (r.rfc_message_id, r.direction))
            .collect())
    }

    pub async fn email_templates(&self) -> Result<Vec<EmailTemplateRow>, StoreError> {
        Ok(email_template::Entity::find()
            .order_by_asc(email_template::Column::Name)
            .order_by_asc(email_template::Column::Language)
            .all(&self.read)
            .await?)
    }

    pub async fn email_template(
        &self,
        name: &str,
        language: &str,
    ) -> Result<Option<EmailTemplateRow>, StoreError> {
        Ok(
            email_template::Entity::find_by_id((name.to_owned(), language.to_owned()))
                .one(&self.read)
                .await?,
        )
    }

    pub async fn put_email_template(
        &self,
        name: &str,
        language: &str,
        subject: &str,
        body: &str,
    ) -> Result<EmailTemplateRow, StoreError> {
        let row = email_template::ActiveModel {
            name: Set(name.to_owned()),
            language: Set(language.to_owned()),
            subject: Set(subject.to_owned()),
            body: Set(body.to_owned()),
            updated_at: Set(now()),
        };
        email_template::Entity::insert(row)
            .on_conflict(
                OnConflict::columns([
                    email_template::Column::Name,
                    email_template::Column::Language,
                ])
                .update_columns([
                    email_template::Column::Subject,
                    email_template::Column::Body,
                    email_template::Column::UpdatedAt,
                ])
                .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        self.email_template(name, language)
            .await?
            .ok_or(StoreError::NotFound("email template"))
    }

    /// Back to the built-in text; `false` when nothing was customised.
    pub async fn delete_email_template(
        &self,
        name: &str,
        language: &str,
    ) -> Result<bool, StoreError> {
        let r = email_template::Entity::delete_by_id((name.to_owned(), language.to_owned()))
            .exec(&self.db)
            .await?;
        Ok(r.rows_affected > 0)
    }
}

/// The update that records a claimed mail's outcome (only while it is still ours: `sending`).
fn finishing(
    id: i64,
    outcome: SendOutcome,
    at: DateTime<Utc>,
) -> sea_orm::UpdateMany<outbound_email::Entity> {
    let q = outbound_email::Entity::update_many()
        .col_expr(
            outbound_email::Column::LeaseUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(outbound_email::Column::Id.eq(id))
        .filter(outbound_email::Column::State.eq("sending"));
    match outcome {
        SendOutcome::Sent { response } => q
            .col_expr(outbound_email::Column::State, Expr::value("sent"))
            .col_expr(outbound_email::Column::SentAt, Expr::value(Some(at)))
            .col_expr(outbound_email::Column::SmtpResponse, Expr::value(response))
            .col_expr(
                outbound_email::Column::LastError,
                Expr::value(Option::<String>::None),
            ),
        SendOutcome::Retry { error, at } => q
            .col_expr(outbound_email::Column::State, Expr::value("queued"))
            .col_expr(outbound_email::Column::NextAttemptAt, Expr::value(at))
            .col_expr(outbound_email::Column::LastError, Expr::value(error)),
        SendOutcome::Failed { error } => q
            .col_expr(outbound_email::Column::State, Expr::value("failed"))
            .col_expr(outbound_email::Column::LastError, Expr::value(error)),
    }
}
