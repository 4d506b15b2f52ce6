//! The live bus shared by several xdesk nodes through Redis pub/sub: every event goes to one
//! Redis channel and comes back to every node (this one included), which hands it to its own
//! subscribers, so all nodes see events in the order Redis relayed them. Events are for
//! immediacy only: what they announce is stored first, so nothing is lost when Redis is away.
//!
//! The bus heals: a dropped subscription or publishing connection is re-made with backoff;
//! while Redis is away this node's events still reach this node's listeners; and whenever
//! events may have been lost (this node could not relay, its queue was full, or its
//! subscription was down) listeners get a [`LiveEvent::Resync`] and reload from storage:
//! this node's at once, every node's through Redis once it is back. The outgoing queue is
//! bounded: a node never grows without limit while Redis is slow. Who is online is not here:
//! agents' status lives in the database.

use crate::ChannelError;
use futures_util::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use tokio::time::{Instant, timeout};
use xdesk_service::live::{CustomerPresence, EventBus, LiveEvent, LocalBus};

const CHANNEL: &str = "xdesk:live";

/// Events waiting to be relayed; beyond this they are dropped and a resync follows.
pub const QUEUE_CAPACITY: usize = 4096;

/// How long one connect or publish may take before Redis counts as away.
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// Reconnection backoff: from the first value, doubled after each failure, up to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// What travels through Redis: an event, or (no event) a call to every node to resync.
#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    event: Option<LiveEvent>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    resync: bool,
}

struct Outgoing {
    event: LiveEvent,
    payload: String,
}

/// What the bus has been through, for `/metrics` and tests.
#[derive(Debug, Default)]
pub struct BusStats {
    /// Events that could not be relayed through Redis (delivered here only, or dropped from a
    /// full queue): other nodes resync.
    pub not_relayed: AtomicU64,
    /// Connections (subscription or publishing) made again after a loss.
    pub reconnects: AtomicU64,
    /// Resyncs this node's listeners were given.
    pub resyncs: AtomicU64,
}

pub struct RedisBus {
    local: Arc<LocalBus>,
    outbox: mpsc::Sender<Outgoing>,
    /// An event was dropped because the queue was full.
    dropped: Arc<AtomicBool>,
    node: String,
    stats: Arc<BusStats>,
    _tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for RedisBus {
    fn drop(&mut self) {
        for t in &self._tasks {
            t.abort();
        }
    }
}

fn redis_err(e: redis::RedisError) -> ChannelError {
    ChannelError::Config(format!("redis: {e}"))
}

/// Doubles up to the ceiling.
fn next_backoff(d: Duration) -> Duration {
    (d * 2).min(BACKOFF.1)
}

async fn subscribe(client: &redis::Client) -> Result<redis::aio::PubSub, String> {
    let attempt = async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(CHANNEL).await?;
        Ok::<_, redis::RedisError>(pubsub)
    };
    match timeout(IO_TIMEOUT, attempt).await {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timed out".into()),
    }
}

async fn publisher(client: &redis::Client) -> Option<redis::aio::MultiplexedConnection> {
    match timeout(IO_TIMEOUT, client.get_multiplexed_async_connection()).await {
        Ok(Ok(c)) => Some(c),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "redis publisher not connected");
            None
        }
        Err(_) => None,
    }
}

async fn publish_to(conn: &mut redis::aio::MultiplexedConnection, payload: &str) -> bool {
    matches!(
        timeout(IO_TIMEOUT, conn.publish::<_, _, i64>(CHANNEL, payload)).await,
        Ok(Ok(_))
    )
}

impl RedisBus {
    /// Connects (publisher and subscriber) and starts relaying. Fails when Redis cannot be
    /// reached at start, so a wrong URL is found at once; later losses are healed.
    pub async fn connect(url: &str) -> Result<Arc<Self>, ChannelError> {
        let client = redis::Client::open(url).map_err(redis_err)?;
        let mut pubsub = client.get_async_pubsub().await.map_err(redis_err)?;
        pubsub.subscribe(CHANNEL).await.map_err(redis_err)?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(redis_err)?;
        let local = Arc::new(LocalBus::default());
        let node = uuid::Uuid::new_v4().simple().to_string();
        let stats = Arc::new(BusStats::default());
        let dropped = Arc::new(AtomicBool::new(false));
        let (outbox, queued) = mpsc::channel::<Outgoing>(QUEUE_CAPACITY);
        let send = tokio::spawn(relay_out(
            client.clone(),
            conn,
            queued,
            local.clone(),
            dropped.clone(),
            node.clone(),
            stats.clone(),
        ));
        let receive = tokio::spawn(relay_in(client, pubsub, local.clone(), stats.clone()));
        Ok(Arc::new(Self {
            local,
            outbox,
            dropped,
            node,
            stats,
            _tasks: vec![send, receive],
        }))
    }

    pub fn stats(&self) -> &BusStats {
        &self.stats
    }

    /// Events waiting to be relayed (at most [`QUEUE_CAPACITY`]).
    pub fn queued(&self) -> usize {
        QUEUE_CAPACITY - self.outbox.capacity()
    }
}

/// Relays this node's events to Redis in order. When an event cannot go (Redis away) it is
/// delivered here at once and every node is told to resync when Redis is back, before any
/// later event, so a listener elsewhere reloads before it hears what came after.
async fn relay_out(
    client: redis::Client,
    conn: redis::aio::MultiplexedConnection,
    mut queued: mpsc::Receiver<Outgoing>,
    local: Arc<LocalBus>,
    dropped: Arc<AtomicBool>,
    node: String,
    stats: Arc<BusStats>,
) {
    let mut conn = Some(conn);
    let mut owe_resync = false;
    let mut backoff = BACKOFF.0;
    let mut retry_at = Instant::now();
    let resync = serde_json::to_string(&Envelope {
        node,
        event: None,
        resync: true,
    })
    .unwrap_or_default();
    loop {
        // While a resync is owed, wake up to retry even when nothing is published.
        let next = if owe_resync {
            match tokio::time::timeout_at(retry_at, queued.recv()).await {
                Ok(next) => next.map(Some),
                Err(_) => Some(None),
            }
        } else {
            queued.recv().await.map(Some)
        };
        let Some(next) = next else { return };
        if dropped.swap(false, Ordering::AcqRel) {
            // What was dropped never reached anyone, here included.
            stats.resyncs.fetch_add(1, Ordering::Relaxed);
            local.resync();
            owe_resync = true;
        }
        if conn.is_none() && Instant::now() >= retry_at {
            conn = publisher(&client).await;
            if conn.is_some() {
                stats.reconnects.fetch_add(1, Ordering::Relaxed);
                tracing::info!("redis publisher connected again");
                backoff = BACKOFF.0;
            } else {
                retry_at = Instant::now() + backoff;
                backoff = next_backoff(backoff);
            }
        }
        if owe_resync && let Some(c) = &mut conn {
            if publish_to(c, &resync).await {
                owe_resync = false;
            } else {
                conn = None;
                retry_at = Instant::now() + backoff;
            }
        }
        let Some(out) = next else { continue };
        let relayed = match &mut conn {
            Some(c) if !owe_resync => publish_to(c, &out.payload).await,
            _ => false,
        };
        if !relayed {
            if conn.take().is_some() {
                tracing::warn!("redis unreachable: live events stay on this node until it is back");
                retry_at = Instant::now() + backoff;
            }
            stats.not_relayed.fetch_add(1, Ordering::Relaxed);
            local.deliver(out.event);
            owe_resync = true;
        }
    }
}

/// Hands what Redis relays to this node's listeners; subscribes again after a loss, and then
/// has them resync, since whatever was published meanwhile never arrived.
async fn relay_in(
    client: redis::Client,
    pubsub: redis::aio::PubSub,
    local: Arc<LocalBus>,
    stats: Arc<BusStats>,
) {
    let mut pubsub = Some(pubsub);
    let mut backoff = BACKOFF.0;
    loop {
        let current = match pubsub.take() {
            Some(p) => Some(p),
            None => match subscribe(&client).await {
                Ok(p) => {
                    tracing::info!("redis subscription made again");
                    stats.reconnects.fetch_add(1, Ordering::Relaxed);
                    stats.resyncs.fetch_add(1, Ordering::Relaxed);
                    local.resync();
                    backoff = BACKOFF.0;
                    Some(p)
                }
                Err(e) => {
                    tracing::debug!(error = %e, "redis subscription not made");
                    None
                }
            },
        };
        if let Some(p) = current {
            let mut stream = p.into_on_message();
            while let Some(msg) = stream.next().await {
                match serde_json::from_slice::<Envelope>(msg.get_payload_bytes()) {
                    Ok(Envelope {
                        event: Some(event), ..
                    }) => local.deliver(event),
                    Ok(Envelope { resync: true, .. }) => {
                        stats.resyncs.fetch_add(1, Ordering::Relaxed);
                        local.resync();
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "unreadable live event from redis"),
                }
            }
            tracing::warn!("redis subscription lost; live events from other nodes wait for it");
        }
        tokio::time::sleep(backoff).await;
        backoff = next_backoff(backoff);
    }
}

impl EventBus for RedisBus {
    fn publish(&self, event: LiveEvent) {
        let env = Envelope {
            node: self.node.clone(),
            event: Some(event),
            resync: false,
        };
        let payload = match serde_json::to_string(&env) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "live event not serialisable");
                return;
            }
        };
        let Some(event) = env.event else { return };
        match self.outbox.try_send(Outgoing { event, payload }) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.stats.not_relayed.fetch_add(1, Ordering::Relaxed);
                if !self.dropped.swap(true, Ordering::AcqRel) {
                    tracing::warn!("live event queue full: events dropped, listeners will resync");
                }
            }
            Err(mpsc::error::TrySendError::Closed(out)) => self.local.deliver(out.event),
        }
    }

    fn subscribe(&self, ticket_id: i64) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe(ticket_id)
    }

    fn subscribe_changes(&self) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe_changes()
    }

    /// Customer sockets are counted per node: a customer connected to another node counts as
    /// away, so an answer may also go by mail.
    fn customer_connected(&self, ticket_id: i64) -> CustomerPresence {
        self.local.customer_connected(ticket_id)
    }

    fn customer_online(&self, ticket_id: i64) -> bool {
        self.local.customer_online(ticket_id)
    }
}
