//! A browser without a browser for page tests: keeps cookies, follows no redirects, and fails
//! on any page that shows a text missing from a catalog.

use crate::support::*;
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;
use xdesk_ui::i18n::MISSING;

/// A browser without a browser: keeps cookies, follows no redirects.
pub struct Web {
    pub base: String,
    pub http: reqwest::Client,
    pub jar: BTreeMap<String, String>,
}

pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> &str {
        self.headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }
}

impl Web {
    pub fn new(app: &TestApp) -> Self {
        Web {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            jar: BTreeMap::new(),
        }
    }

    pub fn cookies(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let r = req.header("cookie", self.cookies()).send().await.unwrap();
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            assert!(attrs.contains("HttpOnly"), "{c}");
            if attrs.contains("Max-Age=0") {
                self.jar.remove(k);
            } else {
                self.jar.insert(k.to_owned(), v.to_owned());
            }
        }
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.text().await.unwrap();
        assert!(!body.contains(MISSING), "a text is missing:\n{body}");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let req = self.http.get(format!("{}{path}", self.base));
        self.send(req).await
    }

    pub async fn get_lang(&mut self, path: &str, accept_language: &str) -> Page {
        let req = self
            .http
            .get(format!("{}{path}", self.base))
            .header("accept-language", accept_language);
        self.send(req).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(req).await
    }

    pub async fn post_multipart(&mut self, path: &str, form: reqwest::multipart::Form) -> Page {
        let req = self
            .http
            .post(format!("{}{path}", self.base))
            .multipart(form);
        self.send(req).await
    }

    pub fn csrf(&self) -> String {
        self.jar.get("xdesk_csrf").cloned().unwrap_or_default()
    }

    pub async fn sign_in(&mut self, email: &str, totp: Option<String>) -> Page {
        self.get("/console/login").await;
        let csrf = self.csrf();
        let mut form = vec![
            ("csrf", csrf.as_str()),
            ("email", email),
            ("password", PASSWORD),
            ("next", "/console"),
        ];
        if let Some(code) = &totp {
            form.push(("totp", code));
        }
        self.post("/console/login", &form).await
    }
}
