//! The live bus shared by several xdesk nodes through Redis pub/sub: every event goes to one
//! Redis channel and comes back to every node (this one included), which hands it to its own
//! subscribers, so all nodes see events in the order Redis relayed them. Events are for
//! immediacy only: if Redis is unreachable, messages are still stored and clients catch up by
//! sequence number. Who is online is not here: agents' status lives in the database.

use crate::ChannelError;
use futures_util::StreamExt;
use redis::AsyncCommands;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use tokio::sync::{broadcast, mpsc};
use xdesk_service::live::{CustomerPresence, EventBus, LiveEvent, LocalBus};

const CHANNEL: &str = "xdesk:live";

#[derive(Serialize, Deserialize)]
struct Envelope {
    node: String,
    event: LiveEvent,
}

pub struct RedisBus {
    local: Arc<LocalBus>,
    outbox: mpsc::UnboundedSender<String>,
    node: String,
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
        let (outbox, mut queued) = mpsc::unbounded_channel::<String>();

        let mut conn = publisher;
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
        Ok(Arc::new(Self {
            local,
            outbox,
            node,
            _tasks: vec![send, receive],
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

    /// Customer sockets are counted per node: a customer connected to another node counts as
    /// away, so an answer may also go by mail.
    fn customer_connected(&self, ticket_id: i64) -> CustomerPresence {
        self.local.customer_connected(ticket_id)
    }

    fn customer_online(&self, ticket_id: i64) -> bool {
        self.local.customer_online(ticket_id)
    }
}
