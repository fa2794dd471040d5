//! `query_range` over a long span: split into requests of at most [`MAX_POINTS`] points per
//! series (Prometheus refuses more than 11,000), on the step grid `start + k·step`, each chunk
//! starting one step after the previous one ended — so no sample is fetched twice or skipped at a
//! seam — and the chunks' series joined by label set (the loader's own Prometheus JSON reader).
//!
//! Credentials never come from the command line: a bearer token from a file or
//! `ALERTLAB_PROMETHEUS_TOKEN`, a basic-auth password from `ALERTLAB_PROMETHEUS_PASSWORD`. Requests
//! time out and are retried a bounded number of times (connection failures, 429, 5xx); a server's
//! own error (a bad query) is reported as it said it, never retried.

use std::sync::Arc;
use std::time::Duration;

use crate::series::{self, Series};

/// Points per series Prometheus returns from one `query_range` (its limit is 11,000).
pub const MAX_POINTS: i64 = 11_000;

/// Attempts per request (the first and two retries).
const ATTEMPTS: u32 = 3;

/// How to reach the server.
#[derive(Debug, Clone, Default)]
pub struct Server {
    /// Base URL, e.g. `http://prometheus:9090` (a path prefix is kept).
    pub url: String,
    pub bearer_token: Option<String>,
    /// User and password.
    pub basic_auth: Option<(String, String)>,
    /// PEM file of CA certificates to trust (instead of the public roots).
    pub ca_file: Option<std::path::PathBuf>,
    pub timeout: Duration,
}

/// One range query.
#[derive(Debug, Clone)]
pub struct RangeQuery {
    pub query: String,
    /// Epoch milliseconds, inclusive.
    pub start_ms: i64,
    pub end_ms: i64,
    pub step_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Runtime(String),
}

impl RangeQuery {
    /// The chunks `[start, end]` of at most [`MAX_POINTS`] grid points each.
    pub fn chunks(&self) -> Vec<(i64, i64)> {
        let span = (MAX_POINTS - 1) * self.step_ms;
        let mut out = Vec::new();
        let mut start = self.start_ms;
        while start <= self.end_ms {
            let end = (start + span).min(self.end_ms);
            out.push((start, end));
            start = end + self.step_ms;
        }
        out
    }
}

/// Seconds as Prometheus reads them (`1767225600` or `1767225600.5`).
fn seconds(ms: i64) -> String {
    if ms % 1000 == 0 {
        (ms / 1000).to_string()
    } else {
        format!("{}.{:03}", ms.div_euclid(1000), ms.rem_euclid(1000))
    }
}

/// The agent: timeouts, and TLS with the given CA or the public roots.
fn agent(server: &Server) -> Result<ureq::Agent, FetchError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    match &server.ca_file {
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let certs = rustls::pki_types::CertificateDer::pem_file_iter(path)
                .map_err(|e| FetchError::Usage(format!("`--ca-file {}`: {e}", path.display())))?;
            for cert in certs {
                let cert = cert.map_err(|e| {
                    FetchError::Usage(format!("`--ca-file {}`: {e}", path.display()))
                })?;
                roots.add(cert).map_err(|e| {
                    FetchError::Usage(format!("`--ca-file {}`: {e}", path.display()))
                })?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError::Runtime(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(ureq::AgentBuilder::new()
        .timeout_connect(server.timeout.min(Duration::from_secs(10)))
        .timeout(server.timeout)
        .tls_config(Arc::new(tls))
        .build())
}

/// The URL without credentials (`user:password@` in its authority), for messages and the sidecar.
pub fn display_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// GET one chunk; the body on success.
fn get(
    agent: &ureq::Agent,
    server: &Server,
    q: &RangeQuery,
    chunk: (i64, i64),
) -> Result<String, FetchError> {
    let endpoint = format!("{}/api/v1/query_range", server.url.trim_end_matches('/'));
    let shown = display_url(&server.url);
    let mut last = String::new();
    for attempt in 0..ATTEMPTS {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(300 << attempt));
        }
        let mut req = agent
            .get(&endpoint)
            .query("query", &q.query)
            .query("start", &seconds(chunk.0))
            .query("end", &seconds(chunk.1))
            .query("step", &seconds(q.step_ms));
        if let Some(token) = &server.bearer_token {
            req = req.set("Authorization", &format!("Bearer {token}"));
        }
        if let Some((user, password)) = &server.basic_auth {
            use base64_like::encode;
            req = req.set(
                "Authorization",
                &format!("Basic {}", encode(format!("{user}:{password}").as_bytes())),
            );
        }
        match req.call() {
            Ok(resp) => {
                return resp.into_string().map_err(|e| {
                    FetchError::Runtime(format!("{shown}: reading the response: {e}"))
                })
            }
            Err(ureq::Error::Status(code, resp)) => {
                let body = resp.into_string().unwrap_or_default();
                let said = serde_json::from_str::<serde_json::Value>(&body)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_string))
                    .unwrap_or_else(|| body.chars().take(300).collect());
                match code {
                    401 | 403 => {
                        return Err(FetchError::Runtime(format!(
                            "{shown}: HTTP {code} (credentials refused): {said}\nhint: `--bearer-token-file`, or `--basic-auth-user` with ALERTLAB_PROMETHEUS_PASSWORD"
                        )))
                    }
                    429 | 500..=599 => last = format!("{shown}: HTTP {code}: {said}"),
                    // 400 is Prometheus's answer to a query or parameter it cannot read: the
                    // user's input (exit 2). Its own parser decides, so PromQL of any server
                    // version is judged by that version.
                    400 => {
                        return Err(FetchError::Usage(format!(
                            "{shown} rejected the query `{}`: {said}",
                            q.query
                        )))
                    }
                    _ => {
                        return Err(FetchError::Runtime(format!(
                            "{shown} rejected the query `{}` (HTTP {code}): {said}",
                            q.query
                        )))
                    }
                }
            }
            Err(ureq::Error::Transport(t)) => {
                // A certificate the client does not trust, or a URL it cannot use, will not
                // change on retry.
                let text = t.to_string();
                if text.contains("certificate")
                    || matches!(
                        t.kind(),
                        ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme
                    )
                {
                    return Err(FetchError::Runtime(format!("{shown}: {text}")));
                }
                last = format!("{shown}: {text}");
            }
        }
    }
    Err(FetchError::Runtime(format!(
        "{last} (after {ATTEMPTS} attempts)"
    )))
}

/// Every series `q` returns over its whole span, chunked and joined.
pub fn fetch(server: &Server, q: &RangeQuery) -> Result<Vec<Series>, FetchError> {
    if q.step_ms <= 0 || q.end_ms < q.start_ms {
        return Err(FetchError::Usage(
            "the range is empty: `--end` before `--start`, or a step of zero".into(),
        ));
    }
    let agent = agent(server)?;
    let mut body = String::new();
    for chunk in q.chunks() {
        body.push_str(&get(&agent, server, q, chunk)?);
        body.push('\n');
    }
    let source = std::path::PathBuf::from(display_url(&server.url));
    series::from_prometheus_json(&source, &body).map_err(|e| {
        FetchError::Runtime(format!(
            "the server's answer is not what Prometheus returns: {e}"
        ))
    })
}

/// Standard base64 (for a basic-auth header), kept here rather than a dependency for 20 lines.
mod base64_like {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..4 {
                if i <= chunk.len() {
                    out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_grid_once_within_the_limit() {
        let q = RangeQuery {
            query: "up".into(),
            start_ms: 0,
            end_ms: 25_000 * 60_000,
            step_ms: 60_000,
        };
        let chunks = q.chunks();
        assert_eq!(chunks.len(), 3);
        let mut expected = 0;
        for (a, b) in &chunks {
            assert_eq!(*a, expected, "each chunk starts one step after the last");
            assert!((b - a) / q.step_ms < MAX_POINTS, "within the limit");
            expected = b + q.step_ms;
        }
        assert_eq!(chunks.last().unwrap().1, q.end_ms);
    }

    #[test]
    fn basic_auth_is_base64_and_urls_lose_their_credentials() {
        assert_eq!(
            base64_like::encode(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
        assert_eq!(base64_like::encode(b"ab"), "YWI=");
        assert_eq!(
            display_url("https://u:p@prom.example/x"),
            "https://prom.example/x"
        );
        assert_eq!(display_url("http://prom:9090"), "http://prom:9090");
        assert_eq!(seconds(1_500), "1.500");
    }
}
