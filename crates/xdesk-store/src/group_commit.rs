//! Group commit for ticket writes: tickets created and changes (replies, chat messages, field
//! updates) made at the same moment share one transaction. A burst of N writes costs one
//! commit instead of N, and SQLite's single writer never sits idle waiting for the next
//! request's round trip. Each caller still gets its answer only after its write is committed.
//!
//! If a shared transaction fails, every write of it is retried alone, so one bad write (say, a
//! change made against an old version) never takes the others down with it and each caller
//! gets its own error.

use crate::StoreError;
use crate::tickets::{
    AppliedChange, ChangeSet, CreatedTicket, NewTicket, apply_change_in, insert_tickets,
};
use sea_orm::{DatabaseConnection, TransactionTrait};
use std::sync::Arc;
use tokio::sync::{Mutex, mpsc, oneshot};

/// Tickets waiting beyond this make callers wait before they are queued (backpressure).
const QUEUE: usize = 1024;
/// Attempts at a ticket written alone, when it conflicts with a concurrent writer.
const RETRIES: u32 = 3;

enum Work {
    Create(NewTicket),
    Change(ChangeSet),
}

enum Done {
    Created(CreatedTicket),
    Applied(AppliedChange),
}

struct Job {
    work: Work,
    reply: oneshot::Sender<Result<Done, StoreError>>,
}

/// Queues ticket creations for a fixed set of writer tasks.
#[derive(Debug, Clone)]
pub(crate) struct TicketWriter {
    queue: mpsc::Sender<Job>,
}

impl TicketWriter {
    /// Starts `writers` tasks that each take up to `max_batch` queued tickets per transaction.
    /// They stop when the last [`TicketWriter`] clone is dropped.
    pub(crate) fn spawn(db: DatabaseConnection, writers: usize, max_batch: usize) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            tokio::spawn(run(db.clone(), rx.clone(), max_batch.max(1)));
        }
        Self { queue }
    }

    pub(crate) async fn submit(&self, ticket: NewTicket) -> Result<CreatedTicket, StoreError> {
        match self.queued(Work::Create(ticket)).await? {
            Done::Created(c) => Ok(c),
            Done::Applied(_) => Err(StoreError::Unavailable(
                "the ticket writer mixed up answers",
            )),
        }
    }

    pub(crate) async fn submit_change(&self, cs: ChangeSet) -> Result<AppliedChange, StoreError> {
        match self.queued(Work::Change(cs)).await? {
            Done::Applied(a) => Ok(a),
            Done::Created(_) => Err(StoreError::Unavailable(
                "the ticket writer mixed up answers",
            )),
        }
    }

    async fn queued(&self, work: Work) -> Result<Done, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { work, reply })
            .await
            .map_err(|_| StoreError::Unavailable("the ticket writer has stopped"))?;
        answer
            .await
            .map_err(|_| StoreError::Unavailable("the ticket writer stopped mid-write"))?
    }
}

async fn run(db: DatabaseConnection, rx: Arc<Mutex<mpsc::Receiver<Job>>>, max_batch: usize) {
    loop {
        let mut jobs = Vec::new();
        {
            let mut rx = rx.lock().await;
            match rx.recv().await {
                Some(job) => jobs.push(job),
                None => return,
            }
            while jobs.len() < max_batch {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
        }
        write(&db, jobs).await;
    }
}

async fn write(db: &DatabaseConnection, jobs: Vec<Job>) {
    if jobs.len() > 1 {
        let works: Vec<&Work> = jobs.iter().map(|j| &j.work).collect();
        match write_together(db, &works).await {
            Ok(created) => {
                for (job, c) in jobs.into_iter().zip(created) {
                    // A caller that went away still had its ticket written; nobody to tell.
                    let _ = job.reply.send(Ok(c));
                }
                return;
            }
            Err(e) => {
                tracing::debug!(error = %e, writes = jobs.len(), "group commit failed; retrying one by one");
            }
        }
    }
    for job in jobs {
        let _ = job.reply.send(write_alone(db, &job.work).await);
    }
}

/// Another writer may have created the same new customer a moment ago (PostgreSQL runs
/// several): the unique identity index then fails this write, and a retry finds that customer.
async fn write_alone(db: &DatabaseConnection, w: &Work) -> Result<Done, StoreError> {
    let mut attempt = 1;
    loop {
        let result = write_together(db, &[w])
            .await
            .and_then(|mut v| v.pop().ok_or(StoreError::NotFound("ticket")));
        match result {
            Err(e)
                if attempt < RETRIES
                    && (matches!(e, StoreError::Duplicate(_)) || e.is_transient()) =>
            {
                tracing::debug!(error = %e, attempt, "ticket write conflicted; retrying");
                attempt += 1;
            }
            other => return other,
        }
    }
}

async fn write_together(db: &DatabaseConnection, works: &[&Work]) -> Result<Vec<Done>, StoreError> {
    let tx = db.begin().await?;
    // The new tickets first, all at once; then the changes, one by one.
    let new: Vec<&NewTicket> = works
        .iter()
        .filter_map(|w| match w {
            Work::Create(t) => Some(t),
            Work::Change(_) => None,
        })
        .collect();
    let mut created = insert_tickets(&tx, &new).await?.into_iter();
    let mut done = Vec::with_capacity(works.len());
    for w in works {
        done.push(match w {
            Work::Create(_) => Done::Created(
                created
                    .next()
                    .ok_or(StoreError::Unavailable("a new ticket went missing"))?,
            ),
            Work::Change(cs) => Done::Applied(apply_change_in(&tx, cs).await?),
        });
    }
    tx.commit().await?;
    Ok(done)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::testing::{store, ticket};
    use crate::{NewMessage, Store, TicketFilter};
    use xdesk_domain::event::{Actor, verify_chain};

    async fn assert_chain_ok(s: &Store, c: &CreatedTicket) {
        let events = s.events(c.ticket.id).await.unwrap();
        let v = verify_chain(
            &events,
            Some(&c.ticket.head_hash),
            Some(c.ticket.event_count),
        );
        assert!(v.valid, "{v:?}");
        assert_eq!(events.len(), 2);
    }

    #[tokio::test]
    async fn a_failing_ticket_does_not_take_its_batch_down() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        let inputs = [
            ticket("first", "a@example.com", &["x"]),
            // The same tag twice breaks the (ticket, tag) primary key: a database-level failure.
            ticket("broken", "b@example.com", &["dup", "dup"]),
            ticket("third", "a@example.com", &[]),
        ];
        let mut answers = Vec::new();
        let mut jobs = Vec::new();
        for t in inputs {
            let (reply, answer) = oneshot::channel();
            jobs.push(Job {
                work: Work::Create(t),
                reply,
            });
            answers.push(answer);
        }
        write(&s.db, jobs).await;
        let mut results = Vec::new();
        for a in answers {
            results.push(a.await.unwrap().and_then(|d| match d {
                Done::Created(c) => Ok(c),
                Done::Applied(_) => Err(StoreError::NotFound("a creation")),
            }));
        }
        let first = results[0].as_ref().unwrap();
        assert!(matches!(results[1], Err(StoreError::Duplicate(_))));
        let third = results[2].as_ref().unwrap();
        assert_eq!(first.ticket.subject, "first");
        assert_eq!(third.ticket.subject, "third");
        // Both land on the one customer, and the message is attributed to that customer.
        assert_eq!(first.ticket.customer_id, third.ticket.customer_id);
        assert_eq!(first.message.author_id, Some(first.ticket.customer_id));
        assert_chain_ok(&s, first).await;
        assert_chain_ok(&s, third).await;
        let all = s
            .list_tickets(&TicketFilter {
                limit: 10,
                ..TicketFilter::new(crate::Visibility::All)
            })
            .await
            .unwrap();
        assert_eq!(all.len(), 2, "nothing of the broken ticket remains");
        assert!(
            s.list_customers(Some("b@example.com"), None, 10)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn concurrent_creations_commit_together_and_share_customers() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        let mut handles = Vec::new();
        for i in 0..40 {
            let s = s.clone();
            handles.push(tokio::spawn(async move {
                let email = format!("c{}@example.com", i % 4);
                s.create_ticket(ticket(&format!("ticket {i}"), &email, &["withdrawal"]))
                    .await
            }));
        }
        let mut created = Vec::new();
        for h in handles {
            created.push(h.await.unwrap().unwrap());
        }
        let mut ids: Vec<i64> = created.iter().map(|c| c.ticket.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 40);
        let mut customers: Vec<i64> = created.iter().map(|c| c.ticket.customer_id).collect();
        customers.sort_unstable();
        customers.dedup();
        assert_eq!(customers.len(), 4, "one customer per address");
        for c in &created {
            assert_chain_ok(&s, c).await;
        }
    }

    /// One batch of new tickets, written table by table, stores exactly what it answers: the
    /// rows, ids taken before the writes, the customer created once for two tickets, and a
    /// change queued between them.
    #[tokio::test]
    async fn a_batch_stores_what_it_answers() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        let known = s
            .create_ticket(ticket("earlier", "known@example.com", &[]))
            .await
            .unwrap()
            .ticket;
        let mut warned = ticket("with a notice", "new@example.com", &["x", "y"]);
        let mut notice = ticket_message();
        notice.author_kind = "system".into();
        notice.body_text = "Never share your seed phrase.".into();
        warned.notices.push(notice);
        let works = [
            Work::Create(warned),
            Work::Change(reply(&known, "a reply in the same batch")),
            Work::Create(ticket("same new customer", "new@example.com", &["x"])),
            Work::Create(ticket("known customer", "known@example.com", &[])),
        ];
        let mut answers = Vec::new();
        let mut jobs = Vec::new();
        for work in works {
            let (reply, answer) = oneshot::channel();
            jobs.push(Job { work, reply });
            answers.push(answer);
        }
        write(&s.db, jobs).await;
        let mut created = Vec::new();
        for a in answers {
            match a.await.unwrap().unwrap() {
                Done::Created(c) => created.push(c),
                Done::Applied(a) => assert_eq!(a.ticket.version, known.version + 1),
            }
        }
        assert_eq!(created.len(), 3);
        assert_eq!(created[0].ticket.customer_id, created[1].ticket.customer_id);
        assert_eq!(created[2].ticket.customer_id, known.customer_id);
        assert_ne!(created[0].ticket.customer_id, known.customer_id);
        let mut message_ids = Vec::new();
        for c in &created {
            assert_eq!(
                s.ticket(c.ticket.id).await.unwrap().as_ref(),
                Some(&c.ticket)
            );
            let mut answered = vec![c.message.clone()];
            answered.extend(c.notices.iter().cloned());
            assert_eq!(s.messages(c.ticket.id, true).await.unwrap(), answered);
            message_ids.extend(answered.iter().map(|m| m.id));
            let events = s.events(c.ticket.id).await.unwrap();
            let v = verify_chain(
                &events,
                Some(&c.ticket.head_hash),
                Some(c.ticket.event_count),
            );
            assert!(v.valid, "{v:?}");
        }
        assert_eq!(created[0].notices.len(), 1);
        assert_eq!(created[0].notices[0].seq, 2);
        message_ids.sort_unstable();
        message_ids.dedup();
        assert_eq!(message_ids.len(), 4, "every message its own id");
        let tagged = |tag: &str| {
            let s = s.clone();
            let tag = tag.to_owned();
            async move {
                s.list_tickets(&TicketFilter {
                    tag: Some(tag),
                    limit: 10,
                    ..TicketFilter::new(crate::Visibility::All)
                })
                .await
                .unwrap()
                .len()
            }
        };
        assert_eq!(tagged("x").await, 2);
        assert_eq!(tagged("y").await, 1);
    }

    fn reply(ticket: &crate::TicketRow, body: &str) -> ChangeSet {
        let mut m = ticket_message();
        m.body_text = body.into();
        ChangeSet {
            ticket_id: ticket.id,
            expected_version: ticket.version,
            actor: Actor::System,
            patch: Default::default(),
            events: Vec::new(),
            message: Some(m),
            notices: Vec::new(),
            delivery: None,
        }
    }

    fn ticket_message() -> NewMessage {
        ticket("x", "x@example.com", &[]).first_message
    }

    #[tokio::test]
    async fn a_stale_change_fails_alone_and_the_others_land() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path()).await;
        let a = s
            .create_ticket(ticket("a", "a@example.com", &[]))
            .await
            .unwrap()
            .ticket;
        let b = s
            .create_ticket(ticket("b", "b@example.com", &[]))
            .await
            .unwrap()
            .ticket;
        // Two replies written against the same version of `a`, and one to `b`, in one batch.
        let mut answers = Vec::new();
        let mut jobs = Vec::new();
        for cs in [reply(&a, "one"), reply(&a, "two"), reply(&b, "three")] {
            let (tx, rx) = oneshot::channel();
            jobs.push(Job {
                work: Work::Change(cs),
                reply: tx,
            });
            answers.push(rx);
        }
        write(&s.db, jobs).await;
        let mut results = Vec::new();
        for a in answers {
            results.push(a.await.unwrap());
        }
        assert!(matches!(results[0], Ok(Done::Applied(_))));
        assert!(matches!(results[1], Err(StoreError::StaleVersion(_))));
        assert!(matches!(results[2], Ok(Done::Applied(_))));
        let seqs: Vec<i64> = s
            .messages(a.id, true)
            .await
            .unwrap()
            .iter()
            .map(|m| m.seq)
            .collect();
        assert_eq!(seqs, vec![1, 2], "the stale reply left nothing behind");
        assert_eq!(s.messages(b.id, true).await.unwrap().len(), 2);
        for t in [a.id, b.id] {
            let row = s.ticket(t).await.unwrap().unwrap();
            let events = s.events(t).await.unwrap();
            assert!(verify_chain(&events, Some(&row.head_hash), Some(row.event_count)).valid);
        }
    }
}
