//! Two-factor enrolment from the console: the QR code drawn on the server decodes (with an
//! outside reader, zbar) to the `otpauth://` URI shown beside it; ten recovery codes, stored
//! hashed, each signs in once, counted and rate-limited like wrong codes; new codes need a
//! current code; a recovery code lets a lost authenticator be replaced.

use crate::admin_pages::between;
use crate::backend_test;
use crate::support::*;
use crate::web::{Page, Web};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What HTML escaping did to a text, undone: the named and numeric references it writes.
fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').unwrap() + at;
        let entity = &rest[at + 1..end];
        let c = match entity {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            _ => match entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
            {
                Some(hex) => char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap(),
                None => char::from_u32(entity.strip_prefix('#').unwrap().parse().unwrap()).unwrap(),
            },
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// The recovery codes a page shows, in order.
fn codes(page: &Page) -> Vec<String> {
    let list = between(&page.body, "<ol class=\"codes\">", "</ol>");
    list.split("<code class=\"hash\">")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect()
}

fn codes_left(page: &Page) -> u64 {
    between(&page.body, "id=\"codes-left\" data-left=\"", "\"")
        .parse()
        .unwrap()
}

/// Reads a QR code in an SVG with tools from outside xdesk: librsvg draws it, zbar reads it.
/// None (after [`skip_or_fail`]) when they are not installed.
fn decode_qr(svg: &str) -> Option<String> {
    let have = |tool: &str| {
        std::process::Command::new(tool)
            .arg("--version")
            .output()
            .is_ok()
    };
    if !have("rsvg-convert") || !have("zbarimg") {
        skip_or_fail("rsvg-convert and zbarimg (Debian's librsvg2-bin and zbar-tools)");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let (svg_path, png_path) = (dir.path().join("qr.svg"), dir.path().join("qr.png"));
    std::fs::write(&svg_path, svg).unwrap();
    let drawn = std::process::Command::new("rsvg-convert")
        .args(["--width", "440", "--background-color", "white", "-o"])
        .arg(&png_path)
        .arg(&svg_path)
        .status()
        .unwrap();
    assert!(drawn.success(), "rsvg-convert failed on {svg}");
    let read = std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(&png_path)
        .output()
        .unwrap();
    assert!(read.status.success(), "zbarimg found no code in {svg}");
    Some(
        String::from_utf8(read.stdout)
            .unwrap()
            .trim_end()
            .to_owned(),
    )
}

/// Posts a step of `/console/two-factor` with one code field.
async fn two_factor(web: &mut Web, step: &str, field: &str, code: &str) -> Page {
    let csrf = web.csrf();
    web.post(
        "/console/two-factor",
        &[("csrf", &csrf), ("step", step), (field, code)],
    )
    .await
}

async fn api_login(app: &TestApp, body: Value) -> reqwest::Response {
    app.http
        .post(app.url("/api/v1/auth/login"))
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Signs in at the console with a recovery code.
async fn sign_in_recovering(app: &TestApp, code: &str) -> (Web, Page) {
    let mut web = Web::new(app);
    web.get("/console/login").await;
    let csrf = web.csrf();
    let page = web
        .post(
            "/console/login",
            &[
                ("csrf", &csrf),
                ("email", "agent@x.test"),
                ("password", PASSWORD),
                ("recovery", code),
                ("next", "/console"),
            ],
        )
        .await;
    (web, page)
}

backend_test!(
    a_lost_authenticator_is_recovered_with_a_one_time_code,
    |app| {
        let mut web = Web::new(&app);
        assert_eq!(
            web.sign_in("agent@x.test", None).await.status,
            StatusCode::SEE_OTHER
        );
        let csrf = web.csrf();
        let r = web
            .post("/console/two-factor", &[("csrf", &csrf), ("step", "begin")])
            .await;
        assert_eq!(r.status, StatusCode::OK);
        // The QR code is drawn into the page, and what it holds is the URI shown beside it.
        let uri = unescape(between(&r.body, "id=\"totp-uri\">", "<"));
        assert!(
            uri.starts_with("otpauth://totp/xdesk:agent@x.test?secret="),
            "{uri}"
        );
        let svg = format!("<svg{}</svg>", between(&r.body, "<svg", "</svg>"));
        assert!(
            !r.body.contains("<img") && !r.body.contains("chart.googleapis"),
            "no image from elsewhere"
        );
        if let Some(decoded) = decode_qr(&svg) {
            assert_eq!(decoded, uri);
        }
        let secret = between(&r.body, "id=\"totp-secret\">", "<").to_owned();
        assert!(uri.contains(&format!("secret={secret}&")), "{uri}");

        // Turning it on shows ten codes, once; only their hashes are kept.
        let r = two_factor(&mut web, "confirm", "code", &totp_code(&secret)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let first = codes(&r);
        assert_eq!(first.len(), 10, "{first:?}");
        assert_eq!(
            first
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            10
        );
        for c in &first {
            assert!(!stored_bytes_contain(&app, c), "{c} stored as is");
            assert!(!stored_bytes_contain(&app, &c.replace('-', "")));
        }
        let r = web.get("/console/two-factor").await;
        assert_eq!(codes_left(&r), 10);
        assert!(!r.body.contains(&first[0]), "shown only once");

        // The phone is lost: the password alone asks for a code; a recovery code signs in.
        let mut lost = Web::new(&app);
        let r = lost.sign_in("agent@x.test", None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("name=\"recovery\""), "{}", r.body);
        let (mut lost, r) = sign_in_recovering(&app, &first[0].to_uppercase()).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location(), "/console/two-factor?recovered=1");
        let r = lost.get(r.location()).await;
        assert_eq!(codes_left(&r), 9);
        assert!(r.body.contains("id=\"recovered\""), "{}", r.body);

        // Used once, it opens nothing again, on the page or through the API.
        let (thief, r) = sign_in_recovering(&app, &first[0]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("wrong or was used already"), "{}", r.body);
        assert!(!thief.jar.contains_key("xdesk_session"));
        let r = api_login(
            &app,
            json!({"email": "agent@x.test", "password": PASSWORD, "recovery_code": first[1]}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap()["recovery_codes_left"], 8);
        let r = api_login(
            &app,
            json!({"email": "agent@x.test", "password": PASSWORD, "recovery_code": first[1]}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

        // Wrong codes count like wrong TOTP codes: after the account's limit even a good one waits.
        for _ in 1..5 {
            let (_, r) = sign_in_recovering(&app, "aaaa-bbbb-cccc-dddd").await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        }
        let (_, r) = sign_in_recovering(&app, &first[2]).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
        let admin = app.admin_token().await;
        let audited = |action: &'static str| {
            let (app, admin) = (&app, &admin);
            async move {
                app.get_json(admin, &format!("/api/v1/audit?action={action}"))
                    .await
                    .as_array()
                    .unwrap()
                    .len()
            }
        };
        assert_eq!(audited("login.recovery_code_used").await, 2);
        assert_eq!(audited("login.failed_recovery_code").await, 6);

        // New codes need a current code from the authenticator; the old ones then stop working.
        let r = two_factor(&mut lost, "regenerate", "code", "000000").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(codes_left(&r), 8, "nothing replaced");
        let r = two_factor(&mut lost, "regenerate", "code", &totp_code(&secret)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let second = codes(&r);
        assert_eq!(second.len(), 10);
        assert!(second.iter().all(|c| !first.contains(c)));
        assert_eq!(audited("agent.recovery_codes_regenerated").await, 1);

        // A recovery code also proves it is the agent when replacing the lost authenticator; an
        // old one does not.
        let r = two_factor(&mut lost, "begin", "current_code", &first[3]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let r = two_factor(&mut lost, "begin", "current_code", &second[0]).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let new_secret = between(&r.body, "id=\"totp-secret\">", "<").to_owned();
        assert_ne!(new_secret, secret);
        let r = two_factor(&mut lost, "confirm", "code", &totp_code(&new_secret)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(codes(&r).len(), 10);
        assert!(codes(&r).iter().all(|c| !second.contains(c)));
        assert_eq!(codes_left(&lost.get("/console/two-factor").await), 10);
    }
);

backend_test!(
    new_recovery_codes_through_the_api_need_a_current_code,
    |app| {
        let token = app.login("other@x.test").await;
        let regenerate = |code: String| {
            let (app, token) = (&app, &token);
            async move {
                app.post(token, "/api/v1/auth/recovery-codes", json!({"code": code}))
                    .await
            }
        };
        // No second factor yet: nothing to regenerate.
        let r = regenerate("000000".into()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let secret = app.enrol_totp(&token).await;
        let r = regenerate("000000".into()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        let r = regenerate(totp_code(&secret)).await;
        assert_eq!(r.status(), StatusCode::OK);
        let codes = r.json::<Value>().await.unwrap()["recovery_codes"]
            .as_array()
            .unwrap()
            .clone();
        assert_eq!(codes.len(), 10);
        let r = api_login(
            &app,
            json!({"email": "other@x.test", "password": PASSWORD, "recovery_code": codes[0]}),
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.json::<Value>().await.unwrap()["recovery_codes_left"], 9);
    }
);
