//! The agent's HTTP/1.1 client for the services its owner commands talk to (the explorer's JSON
//! API, a maker's API): one connection per request over hyper, a timeout, a size limit, and
//! clear errors that name the service. Answers are JSON; a refusal's `error` field is shown in
//! words, without control characters (a hostile answer must not drive the owner's terminal).

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use serde::{Serialize, de::DeserializeOwned};

/// What went wrong asking a service.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{service} address {url:?}: only http://host:port is supported")]
    BadUrl { service: &'static str, url: String },
    #[error("connecting to {service} at {addr}: {source}")]
    Connect {
        service: &'static str,
        addr: String,
        source: std::io::Error,
    },
    #[error("{service} did not answer {path} in time")]
    Timeout { service: &'static str, path: String },
    #[error("asking {service} for {path}: {message}")]
    Http {
        service: &'static str,
        path: String,
        message: String,
    },
    #[error("{service} refused {path} ({status}): {message}")]
    Refused {
        service: &'static str,
        path: String,
        status: u16,
        message: String,
        /// The answer's body, for callers that read a typed refusal from it.
        body: Bytes,
    },
    #[error("{service}'s answer to {path} is larger than {MAX_BODY} bytes")]
    TooLarge { service: &'static str, path: String },
    #[error("{service}'s answer to {path} is not what this agent understands: {source}")]
    Decode {
        service: &'static str,
        path: String,
        source: serde_json::Error,
    },
}

const TIMEOUT: Duration = Duration::from_secs(30);
/// How long a POST waits: a maker sending a transaction waits for its confirmation (up to a
/// blockhash's life, 60–90 s) and gives up at 100 s; the agent waits longer, so that it never
/// signs again while the first is still on its way.
const POST_TIMEOUT: Duration = Duration::from_secs(120);
/// The largest answer read (a page of 1,000 reports is about 400 KB).
const MAX_BODY: usize = 8 << 20;
/// The explorer refuses a client's third concurrent database read (503): ask again.
const ATTEMPTS: u32 = 4;

/// A service at `http://host:port`.
#[derive(Debug, Clone)]
pub struct Service {
    name: &'static str,
    addr: String,
}

/// What a service said, without control characters or bidirectional overrides (which would
/// reorder what the owner reads).
pub fn clean(s: &str) -> String {
    s.chars()
        .map(|c| {
            let bidi = matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
            if c.is_control() || bidi { ' ' } else { c }
        })
        .collect()
}

impl Service {
    /// `name` is how errors call it ("the explorer", "the maker").
    pub fn new(name: &'static str, url: &str) -> Result<Service, HttpError> {
        let addr = url
            .strip_prefix("http://")
            .map(|a| a.trim_end_matches('/'))
            .filter(|a| !a.is_empty() && !a.contains('/'))
            .ok_or_else(|| HttpError::BadUrl {
                service: name,
                url: url.to_string(),
            })?;
        Ok(Service {
            name,
            addr: addr.to_string(),
        })
    }

    /// GETs `path`, asking again on 503 (a busy explorer sheds load that way).
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, HttpError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.call(hyper::Method::GET, path, None).await {
                Err(HttpError::Refused { status: 503, .. }) if attempt < ATTEMPTS => {
                    tokio::time::sleep(Duration::from_millis(300 * u64::from(attempt))).await;
                }
                other => return other,
            }
        }
    }

    /// POSTs `body` as JSON to `path`, once (the caller decides what is safe to repeat).
    pub async fn post<B: Serialize, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, HttpError> {
        let json = serde_json::to_vec(body).map_err(|source| HttpError::Decode {
            service: self.name,
            path: path.to_string(),
            source,
        })?;
        self.call(hyper::Method::POST, path, Some(json)).await
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, HttpError> {
        let wait = if method == hyper::Method::POST {
            POST_TIMEOUT
        } else {
            TIMEOUT
        };
        let (status, body) = tokio::time::timeout(wait, self.once(method, path, body))
            .await
            .map_err(|_| HttpError::Timeout {
                service: self.name,
                path: path.to_string(),
            })??;
        if status != 200 {
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .unwrap_or_else(|| {
                    String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned()
                });
            return Err(HttpError::Refused {
                service: self.name,
                path: path.to_string(),
                status,
                message: clean(&message),
                body,
            });
        }
        serde_json::from_slice(&body).map_err(|source| HttpError::Decode {
            service: self.name,
            path: path.to_string(),
            source,
        })
    }

    async fn once(
        &self,
        method: hyper::Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(u16, Bytes), HttpError> {
        let http = |e: &dyn std::fmt::Display| HttpError::Http {
            service: self.name,
            path: path.to_string(),
            message: e.to_string(),
        };
        let tcp = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|source| HttpError::Connect {
                service: self.name,
                addr: self.addr.clone(),
                source,
            })?;
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tcp))
                .await
                .map_err(|e| http(&e))?;
        let driver = tokio::spawn(connection);
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.addr)
            .header(hyper::header::ACCEPT, "application/json");
        if body.is_some() {
            request = request.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| http(&e))?;
        let response = sender.send_request(request).await.map_err(|e| http(&e))?;
        let status = response.status().as_u16();
        let body = http_body_util::Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    HttpError::TooLarge {
                        service: self.name,
                        path: path.to_string(),
                    }
                } else {
                    http(&e)
                }
            })?
            .to_bytes();
        drop(sender);
        driver.abort();
        Ok((status, body))
    }
}
