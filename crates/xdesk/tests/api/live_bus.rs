//! The live bus heals: Redis restarted in the middle of a two-node chat loses no message, and
//! a Redis that stops answering neither grows a node's queue without bound nor leaves its
//! listeners behind. Each test runs its own `redis-server` (from Debian's packages) on a free
//! port, so stopping it disturbs no other test.

use crate::chat::{Socket, chat_agent_online, chat_cluster, connect_to, expect, send, start_node};
use crate::support::*;
use serde_json::{Value, json};
use std::time::Duration;
use xdesk_service::live::{EventBus, LiveEvent, Party};

/// A `redis-server` of this test's own, started again on the same port after a kill.
struct PrivateRedis {
    port: u16,
    child: Option<tokio::process::Child>,
}

impl PrivateRedis {
    async fn start() -> Option<Self> {
        if std::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            skip_or_fail("redis-server");
            return None;
        }
        let port = free_port();
        let mut r = Self { port, child: None };
        r.run().await;
        Some(r)
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn run(&mut self) {
        let child = tokio::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--port", &self.port.to_string()])
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        self.child = Some(child);
        for _ in 0..100 {
            if tokio::net::TcpStream::connect(("127.0.0.1", self.port))
                .await
                .is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server did not come up on {}", self.port);
    }

    async fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().await.unwrap();
        }
    }

    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().unwrap().id().unwrap();
        let ok = std::process::Command::new("kill")
            .args([sig, &pid.to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
    }
}

/// The next `message` frame's body, skipping other frames.
async fn next_body(s: &mut Socket) -> String {
    expect(s, "message").await["message"]["body"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Reads message frames until every body in `want` has come (in any order), failing on one
/// of them that comes twice.
async fn receive_all(s: &mut Socket, want: &[&str]) {
    let mut got: Vec<String> = Vec::new();
    while !want.iter().all(|w| got.iter().any(|g| g == w)) {
        let body = next_body(s).await;
        assert!(
            !(want.contains(&body.as_str()) && got.contains(&body)),
            "`{body}` came twice"
        );
        got.push(body);
    }
}

/// Redis dies in the middle of a chat between a customer on node A and an agent on node B,
/// and comes back: what was sent before, during and after arrives on both sides, each message
/// once; while Redis is away, node A's own listeners still hear node A's events at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_survives_a_redis_restart() {
    let Some(pg) = postgres_url() else { return };
    let Some(mut redis) = PrivateRedis::start().await else {
        return;
    };
    let (dir, env) = chat_cluster(&pg, redis.url()).await;
    let a = start_node(dir.path(), &env).await;
    let b = start_node(dir.path(), &env).await;
    let token = chat_agent_online(&b.base).await;
    let mut agent = connect_to(&b.base, "/api/v1/chat/agent", Some(&token)).await;
    expect(&mut agent, "welcome").await;
    // The same agent also watches from node A, the customer's node.
    let mut watcher = connect_to(&a.base, "/api/v1/chat/agent", Some(&token)).await;
    expect(&mut watcher, "welcome").await;

    let mut customer = connect_to(&a.base, "/api/v1/chat/customer", None).await;
    expect(&mut customer, "welcome").await;
    send(
        &mut customer,
        json!({"type": "message", "body": "before 1"}),
    )
    .await;
    let ticket_id = expect(&mut customer, "ticket").await["ticket"]["id"]
        .as_i64()
        .unwrap();
    for s in [&mut agent, &mut watcher] {
        send(s, json!({"type": "join", "ticket_id": ticket_id})).await;
        expect(s, "joined").await;
    }
    let say = |body: &str| json!({"type": "message", "ticket_id": ticket_id, "body": body});
    send(&mut agent, say("before 2")).await;
    receive_all(&mut customer, &["before 1", "before 2"]).await;
    send(
        &mut customer,
        json!({"type": "message", "body": "before 3"}),
    )
    .await;
    receive_all(&mut agent, &["before 3"]).await;
    receive_all(&mut watcher, &["before 2", "before 3"]).await;

    redis.kill().await;
    send(
        &mut customer,
        json!({"type": "message", "body": "during 1"}),
    )
    .await;
    // Node A's own listeners do not wait for Redis.
    receive_all(&mut watcher, &["during 1"]).await;
    send(&mut agent, say("during 2")).await;
    receive_all(&mut agent, &["during 2"]).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    redis.run().await;
    // Once Redis is back each side reloads what it missed.
    receive_all(&mut agent, &["during 1"]).await;
    receive_all(&mut customer, &["during 1", "during 2"]).await;
    receive_all(&mut watcher, &["during 2"]).await;

    send(&mut customer, json!({"type": "message", "body": "after 1"})).await;
    receive_all(&mut agent, &["after 1"]).await;
    send(&mut agent, say("after 2")).await;
    receive_all(&mut customer, &["after 2"]).await;
    receive_all(&mut watcher, &["after 1", "after 2"]).await;
    receive_all(&mut agent, &["after 2"]).await;
    // Nothing was sent twice in the meantime either.
    for s in [&mut agent, &mut customer, &mut watcher] {
        if let Ok(Some(Ok(f))) =
            tokio::time::timeout(Duration::from_millis(300), futures_util::StreamExt::next(s)).await
        {
            let v: Value = serde_json::from_str(f.to_text().unwrap()).unwrap();
            assert_ne!(v["type"], "message", "{v}");
        }
    }
}

/// A Redis that stops answering (SIGSTOP) while a node publishes fast: the node's queue stays
/// within its bound, and once Redis answers again the listeners are told to resync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_redis_bounds_the_queue_and_listeners_resync() {
    let Some(redis) = PrivateRedis::start().await else {
        return;
    };
    let bus = xdesk_channels::redis_bus::RedisBus::connect(&redis.url())
        .await
        .unwrap();
    let mut listener = bus.subscribe(7);
    let typing = || LiveEvent::Typing {
        ticket_id: 7,
        who: Party::Customer,
    };
    bus.publish(typing());
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), listener.recv())
            .await
            .unwrap()
            .unwrap(),
        typing()
    );

    redis.signal("-STOP");
    let cap = xdesk_channels::redis_bus::QUEUE_CAPACITY;
    let mut most = 0;
    for _ in 0..3 * cap {
        bus.publish(typing());
        most = most.max(bus.queued());
    }
    assert!(most <= cap, "queue grew to {most}");
    assert!(
        bus.stats()
            .not_relayed
            .load(std::sync::atomic::Ordering::Relaxed)
            >= cap as u64,
        "events beyond the bound were not relayed"
    );
    redis.signal("-CONT");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        match tokio::time::timeout_at(deadline, listener.recv()).await {
            Ok(Ok(LiveEvent::Resync { ticket_id: 7 })) => break,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("no resync: {other:?}"),
        }
    }
    // And the bus relays again.
    let done = LiveEvent::Read {
        ticket_id: 7,
        who: Party::Customer,
        seq: 99,
    };
    bus.publish(done.clone());
    loop {
        match tokio::time::timeout_at(deadline, listener.recv()).await {
            Ok(Ok(e)) if e == done => break,
            Ok(Ok(_)) | Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {}
            other => panic!("relaying did not resume: {other:?}"),
        }
    }
}
