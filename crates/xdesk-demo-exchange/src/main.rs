//! `xdesk-demo-exchange [ADDR]`: serves the exchange connector contract with demo data
//! (default `127.0.0.1:8090`, token from `XDESK_DEMO_EXCHANGE_TOKEN` or `demo-exchange-token`).

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    let token = std::env::var("XDESK_DEMO_EXCHANGE_TOKEN")
        .unwrap_or_else(|_| xdesk_demo_exchange::DEFAULT_TOKEN.into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("demo exchange on http://{}", listener.local_addr()?);
    xdesk_demo_exchange::serve(listener, token).await
}
