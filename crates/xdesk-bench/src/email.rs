//! `xdesk-bench email`: mails per second through `POST /api/v1/channels/email/inbound`, each
//! parsed and stored with its attachments (a new ticket per mail, as a busy support address
//! sees), beside the rate at which one core only parses the same mail (the parser's ceiling).

use crate::load::{self, Outcome};
use crate::{Db, DbChoice, each_fresh_database, mb, print_machine, proc_status_kib};
use anyhow::anyhow;
use clap::Args;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct EmailArgs {
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    #[arg(long, default_value_t = 16)]
    clients: usize,
    #[arg(long, value_enum, default_value_t = DbChoice::Sqlite)]
    db: DbChoice,
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Size of the attached screenshot, in KiB (base64 in the mail).
    #[arg(long, default_value_t = 100)]
    attachment_kib: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

/// A Chinese customer's mail: UTF-8 text with RFC 2047 headers, an HTML part, and a
/// PNG-typed attachment whose bytes differ per mail, so neither the dedupe nor the file store
/// can short-cut it. The bulk of the attachment is encoded once (`bulk`); only its first line,
/// which carries `n`, is encoded per mail, so the load generator stays cheap.
pub(crate) fn mail(n: u64, bulk: &str) -> Vec<u8> {
    let mut head = [0u8; 57];
    for (i, b) in head.iter_mut().enumerate() {
        *b = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(i as u32) & 0xff) as u8;
    }
    let first = base64_lines(&head);
    format!(
        "From: =?UTF-8?B?5p2O6Zu3?= <user{m}@example.com>\r\nTo: support@exchange.test\r\n\
         Subject: =?UTF-8?B?5o+Q5biB5pyq5Yiw6LSm?= {n}\r\nMessage-ID: <bench{n}@example.com>\r\n\
         Date: Sat, 21 Nov 2026 10:00:00 +0800\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"MIX\"\r\n\r\n\
         --MIX\r\nContent-Type: multipart/alternative; boundary=\"ALT\"\r\n\r\n\
         --ALT\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
         您好，我在 {n} 号订单提币 USDT 到 TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t，已经 6 小时没有到账，截图见附件。\r\n\
         --ALT\r\nContent-Type: text/html; charset=utf-8\r\n\r\n\
         <p>您好，我在 <b>{n}</b> 号订单提币 USDT，已经 6 小时没有到账。</p><script>x()</script>\r\n\
         --ALT--\r\n\
         --MIX\r\nContent-Type: image/png\r\nContent-Disposition: attachment; filename=\"screenshot-{n}.png\"\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{first}\r\n{bulk}\r\n--MIX--\r\n",
        m = n % 500
    )
    .into_bytes()
}

/// The shared part of every attachment: `kib` KiB of pseudo-random bytes, base64 in lines.
pub(crate) fn bulk(kib: usize) -> String {
    let mut bytes = Vec::with_capacity(kib * 1024);
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    while bytes.len() < kib * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    // Whole 57-byte lines, so the base64 lines join without padding in between.
    bytes.truncate(bytes.len() / 57 * 57);
    base64_lines(&bytes)
}

/// Base64 in 76-character lines, as mailers write it.
fn base64_lines(bytes: &[u8]) -> String {
    use base64::Engine;
    let flat = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(flat.len() + flat.len() / 38);
    for (i, line) in flat.as_bytes().chunks(76).enumerate() {
        if i > 0 {
            out.push_str("\r\n");
        }
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
    }
    out
}

struct Report {
    db: Db,
    http: Outcome,
    peak_rss_kib: Option<u64>,
    parse_only: f64,
    mail_bytes: usize,
}

pub async fn run(args: EmailArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.seconds > 0 && args.clients > 0,
        "need --seconds and --clients > 0"
    );
    let dbs = args.db.dbs();
    let parse_only = parse_rate(args.attachment_kib);
    println!("parse only, one core: {parse_only:.0} mails/s");
    let reports = each_fresh_database(dbs, &args.pg_url, async |db, url, dir| {
        one_db(db, url, dir, &args, parse_only).await
    })
    .await?;
    summary(&args, &reports);
    Ok(())
}

/// Mails per second one core parses (no storage): what the parser allows.
fn parse_rate(attachment_kib: usize) -> f64 {
    let bulk = bulk(attachment_kib);
    let mails: Vec<Vec<u8>> = (0..64).map(|n| mail(n, &bulk)).collect();
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(2) {
        for m in &mails {
            if xdesk_mail::parse(m).is_ok() {
                n += 1;
            }
        }
    }
    n as f64 / start.elapsed().as_secs_f64()
}

async fn one_db(
    db: Db,
    url: &str,
    dir: &std::path::Path,
    args: &EmailArgs,
    parse_only: f64,
) -> anyhow::Result<Report> {
    crate::reset_peak_rss();
    let running = xdesk::start(&crate::bench_config(url, dir)).await?;
    let (_, key) = running
        .services
        .create_api_key("bench", &[])
        .await
        .map_err(|e| anyhow!("creating the API key: {e}"))?;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60))
        .build()?;
    let endpoint: Arc<str> =
        format!("http://{}/api/v1/channels/email/inbound", running.addr).into();
    let auth: Arc<str> = format!("Bearer {key}").into();
    let bulk: Arc<str> = bulk(args.attachment_kib).into();
    let mail_bytes = mail(0, &bulk).len();
    println!(
        "HTTP: {} clients, {}-byte mails, {}s warm-up + {}s measured ...",
        args.clients, mail_bytes, args.warmup, args.seconds
    );
    let http = load::drive(
        args.clients,
        Duration::from_secs(args.warmup),
        Duration::from_secs(args.seconds),
        move |n| {
            let (client, endpoint, auth) = (client.clone(), endpoint.clone(), auth.clone());
            let body = mail(n, &bulk);
            async move {
                let r = client
                    .post(&*endpoint)
                    .header("authorization", &*auth)
                    .header("content-type", "message/rfc822")
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if r.status().as_u16() == 201 {
                    Ok(())
                } else {
                    Err(format!(
                        "{}: {}",
                        r.status(),
                        r.text().await.unwrap_or_default()
                    ))
                }
            }
        },
    )
    .await;
    let peak_rss_kib = proc_status_kib("VmHWM");
    println!(
        "  {} mails in {:.1}s = {:.0}/s; p50 {:.2} ms, p99 {:.2} ms; errors {}; peak RSS {} MB",
        http.ok,
        http.window.as_secs_f64(),
        http.per_second(),
        http.quantile_ms(0.5),
        http.quantile_ms(0.99),
        http.errors,
        mb(peak_rss_kib)
    );
    for e in &http.error_samples {
        println!("    error: {e}");
    }
    let _ = running.shutdown.send(());
    running.task.await??;
    let _ = running.services.store.close().await;
    Ok(Report {
        db,
        http,
        peak_rss_kib,
        parse_only,
        mail_bytes,
    })
}

fn summary(args: &EmailArgs, reports: &[Report]) {
    println!();
    println!("## Email: POST /api/v1/channels/email/inbound");
    println!();
    println!(
        "{} clients, {} s measured after {} s warm-up; every mail a new ticket with a {} KiB attachment (multipart/mixed + alternative, RFC 2047 headers, HTML sanitised).",
        args.clients, args.seconds, args.warmup, args.attachment_kib
    );
    println!();
    println!(
        "| database | mail bytes | mails/s | p50 ms | p99 ms | errors | peak RSS MB | parse-only mails/s (one core) |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in reports {
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {} | {} | {:.0} |",
            r.db.name(),
            r.mail_bytes,
            r.http.per_second(),
            r.http.quantile_ms(0.5),
            r.http.quantile_ms(0.99),
            r.http.errors,
            mb(r.peak_rss_kib),
            r.parse_only
        );
    }
    println!();
    print_machine();
}
