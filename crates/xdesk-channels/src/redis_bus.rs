//! The live bus shared by several xdesk nodes through Redis pub/sub: every event goes to one
//! Redis channel and comes back to every node (this one included), which hands it to its own
//! subscribers, so all nodes see events in the order Redis relayed them. How many agents are
//! connected is summed over the nodes' recent reports. Events are for immediacy only: if Redis
//! is unreachable, messages are still stored and clients catch up by sequence number.

use crate::ChannelError;
use futures_util::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc};
use xdesk_service::live::{AgentPresence, CustomerPresence, EventBus, LiveEvent, LocalBus};

const CHANNEL: &str = "xdesk:live";
const AGENTS_KEY: &str = "xdesk:agents";
/// A node's agent count older than this is ignored (the node is gone).
const PRESENCE_TTL_SECS: i64 = 15;

#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    event: LiveEvent,
}

pub struct RedisBus {
    local: Arc<LocalBus>,
    outbox: mpsc::UnboundedSender<String>,
    node: String,
    /// Agents connected anywhere, as last summed.
    everywhere: Arc<AtomicUsize>,
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

impl RedisBus {
    /// Connects (publisher and subscriber) and starts relaying.
    pub async fn connect(url: &str) -> Result<Arc<Self>, ChannelError> {
        let client = redis::Client::open(url).map_err(redis_err)?;
        let mut pubsub = client.get_async_pubsub().await.map_err(redis_err)?;
        pubsub.subscribe(CHANNEL).await.map_err(redis_err)?;
        let publisher = client
            .get_multiplexed_async_connection()
            .await
            .map_err(redis_err)?;
        let local = Arc::new(LocalBus::default());
        let node = uuid::Uuid::new_v4().simple().to_string();
        let everywhere = Arc::new(AtomicUsize::new(0));
        let (outbox, mut queued) = mpsc::unbounded_channel::<String>();

        let mut conn = publisher.clone();
        let send = tokio::spawn(async move {
            while let Some(payload) = queued.recv().await {
                if let Err(e) = conn.publish::<_, _, i64>(CHANNEL, payload).await {
                    tracing::warn!(error = %e, "live event not relayed through redis");
                }
            }
        });
        let relay_local = local.clone();
        let receive = tokio::spawn(async move {
            let mut stream = pubsub.into_on_message();
            while let Some(msg) = stream.next().await {
                match serde_json::from_slice::<Envelope>(msg.get_payload_bytes()) {
                    Ok(env) => relay_local.deliver(env.event),
                    Err(e) => tracing::warn!(error = %e, "unreadable live event from redis"),
                }
            }
            tracing::error!("redis subscription ended; live events from other nodes stop");
        });
        let (presence_local, presence_all, presence_node) =
            (local.clone(), everywhere.clone(), node.clone());
        let mut conn = publisher;
        let presence = tokio::spawn(async move {
            loop {
                let now = chrono::Utc::now().timestamp();
                let mine = format!("{}:{now}", presence_local.agents_online());
                let report: redis::RedisResult<()> =
                    conn.hset(AGENTS_KEY, &presence_node, mine).await;
                let all: redis::RedisResult<std::collections::HashMap<String, String>> =
                    conn.hgetall(AGENTS_KEY).await;
                if let (Ok(()), Ok(all)) = (report, all) {
                    let sum = all
                        .values()
                        .filter_map(|v| v.split_once(':'))
                        .filter_map(|(n, at)| {
                            Some((n.parse::<usize>().ok()?, at.parse::<i64>().ok()?))
                        })
                        .filter(|(_, at)| now - at <= PRESENCE_TTL_SECS)
                        .map(|(n, _)| n)
                        .sum();
                    presence_all.store(sum, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
        Ok(Arc::new(Self {
            local,
            outbox,
            node,
            everywhere,
            _tasks: vec![send, receive, presence],
        }))
    }
}

impl EventBus for RedisBus {
    fn publish(&self, event: LiveEvent) {
        let env = Envelope {
            node: self.node.clone(),
            event,
        };
        match serde_json::to_string(&env) {
            Ok(payload) => {
                let _ = self.outbox.send(payload);
            }
            Err(e) => tracing::warn!(error = %e, "live event not serialisable"),
        }
    }

    fn subscribe(&self, ticket_id: i64) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe(ticket_id)
    }

    fn subscribe_changes(&self) -> broadcast::Receiver<LiveEvent> {
        self.local.subscribe_changes()
    }

    fn agent_connected(&self) -> AgentPresence {
        self.local.agent_connected()
    }

    /// Customer sockets are counted per node: a customer connected to another node counts as
    /// away, so an answer may also go by mail.
    fn customer_connected(&self, ticket_id: i64) -> CustomerPresence {
        self.local.customer_connected(ticket_id)
    }

    fn customer_online(&self, ticket_id: i64) -> bool {
        self.local.customer_online(ticket_id)
    }

    /// The larger of the last sum over all nodes and this node's own count (which is exact).
    fn agents_online(&self) -> usize {
        self.everywhere
            .load(Ordering::Relaxed)
            .max(self.local.agents_online())
    }
}
