//! The exchange connector over HTTP: the contract in `docs/exchange-connector.openapi.yaml`,
//! with the exchange's bearer token, JSON both ways, and a timeout so a slow exchange cannot
//! hold an agent's page.

use std::time::Duration;
use xdesk_service::exchange::{BoxFuture, ConnectorError, ExchangeConnector};

/// Where the exchange's connector lives and how to authenticate to it.
#[derive(Debug, Clone)]
pub struct ExchangeSettings {
    /// Base URL, e.g. `https://support-api.exchange.example`; paths are `v1/accounts/…`.
    pub url: String,
    pub token: String,
    pub timeout: Duration,
}

pub struct HttpConnector {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl HttpConnector {
    pub fn new(s: &ExchangeSettings) -> Result<Self, reqwest::Error> {
        Ok(Self {
            base: s.url.trim_end_matches('/').to_owned(),
            token: s.token.clone(),
            http: reqwest::Client::builder()
                .timeout(s.timeout)
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
        })
    }

    async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<serde_json::Value, ConnectorError> {
        let r = req
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| ConnectorError::Unavailable(e.without_url().to_string()))?;
        let status = r.status();
        let body: serde_json::Value = r
            .json()
            .await
            .map_err(|e| ConnectorError::Unavailable(format!("not JSON: {}", e.without_url())))?;
        if status.is_success() {
            return Ok(body);
        }
        if status == reqwest::StatusCode::NOT_FOUND {
            return Err(ConnectorError::NotFound);
        }
        let text = |k: &str| body["error"][k].as_str().unwrap_or_default().to_owned();
        if status.is_client_error() {
            Err(ConnectorError::Refused {
                code: text("code"),
                message: text("message"),
            })
        } else {
            Err(ConnectorError::Unavailable(format!("HTTP {status}")))
        }
    }
}

/// A path xdesk built for the contract: relative, with no fragment, no dot-segment and no
/// backslash. Every value in it was percent-encoded by the service; this refuses what slipped
/// through, before it reaches the exchange.
fn checked(path: &str) -> Result<&str, ConnectorError> {
    let (segments, _query) = path.split_once('?').unwrap_or((path, ""));
    let bad = path.starts_with('/')
        || path.contains(['#', '\\'])
        || path.chars().any(|c| c.is_control() || c.is_whitespace())
        || segments
            .split('/')
            .any(|s| s == "." || s == ".." || s.is_empty());
    if bad {
        Err(ConnectorError::Unavailable(format!(
            "refused to call the exchange with an unsafe path `{path}`"
        )))
    } else {
        Ok(path)
    }
}

impl ExchangeConnector for HttpConnector {
    fn get<'a>(
        &'a self,
        path: &'a str,
    ) -> BoxFuture<'a, Result<serde_json::Value, ConnectorError>> {
        Box::pin(async move {
            let path = checked(path)?;
            self.send(self.http.get(format!("{}/{path}", self.base)))
                .await
        })
    }

    fn post<'a>(
        &'a self,
        path: &'a str,
        body: serde_json::Value,
    ) -> BoxFuture<'a, Result<serde_json::Value, ConnectorError>> {
        Box::pin(async move {
            let path = checked(path)?;
            self.send(self.http.post(format!("{}/{path}", self.base)).json(&body))
                .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::checked;

    #[test]
    fn unsafe_paths_never_reach_the_exchange() {
        assert!(checked("v1/accounts/U1/transfers?limit=20").is_ok());
        assert!(checked("v1/accounts/a%2F..%2Fb").is_ok());
        for bad in [
            "v1/accounts/../admin",
            "v1/accounts/a/./b",
            "/v1/accounts/a",
            "v1/accounts/a#x",
            "v1/accounts//a",
            "v1/accounts/a\\b",
            "v1/accounts/a b",
            "v1/accounts/a\nb",
        ] {
            assert!(checked(bad).is_err(), "{bad}");
        }
    }
}
