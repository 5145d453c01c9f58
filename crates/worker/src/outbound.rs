//! Outbound HTTP: every request Palisade makes to a URL someone gave it
//! (webhook receivers, ticketing systems). The name is resolved here and
//! every address checked against the operator's policy before connecting,
//! and the connection goes to exactly the addresses checked, so a name
//! cannot be rebound to 127.0.0.1 between the check and the request.
//! Redirects are never followed.

use std::io::Read;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use palisade_domain::webhook::{OutboundPolicy, TargetError};

/// How long a request may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How much of an answer is kept.
pub const EXCERPT_BYTES: usize = 1024;

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `None` when nothing answered (refused address, DNS, timeout, TLS).
    pub status: Option<u16>,
    pub latency: Duration,
    pub error: Option<String>,
    pub excerpt: Option<String>,
    pub retry_after: Option<Duration>,
    /// The whole body, for callers that read it (ticket creation), up to 1 MiB.
    pub body: Option<String>,
}

/// Resolves `host:port` by the system's DNS and checks every address.
pub fn resolve(policy: OutboundPolicy, netloc: &str) -> Result<Vec<SocketAddr>, TargetError> {
    policy.resolve(netloc, |n| {
        n.to_socket_addrs().map(Iterator::collect::<Vec<_>>)
    })
}

/// Checks a URL as a request to it would: its form, then its addresses.
pub fn check(policy: OutboundPolicy, url: &str) -> Result<(), TargetError> {
    let target = policy.target(url)?;
    resolve(policy, &format!("{}:{}", target.host, target.port)).map(|_| ())
}

/// The client for a policy, made once: loading the system's certificates
/// for TLS takes tens of milliseconds, and a kept-alive connection (to an
/// address already checked) saves the handshake on the next request.
fn agent(policy: OutboundPolicy) -> Result<&'static ureq::Agent, String> {
    static STRICT: OnceLock<Result<ureq::Agent, String>> = OnceLock::new();
    static OPEN: OnceLock<Result<ureq::Agent, String>> = OnceLock::new();
    let cell = if policy.allow_private { &OPEN } else { &STRICT };
    cell.get_or_init(|| {
        let tls =
            native_tls::TlsConnector::new().map_err(|e| format!("TLS is not available: {e}"))?;
        Ok(ureq::AgentBuilder::new()
            .redirects(0)
            .timeout(TIMEOUT)
            .timeout_connect(Duration::from_secs(5))
            .user_agent(concat!("Palisade/", env!("CARGO_PKG_VERSION")))
            .tls_connector(Arc::new(tls))
            .resolver(move |netloc: &str| {
                resolve(policy, netloc).map_err(|e| {
                    std::io::Error::new(std::io::ErrorKind::PermissionDenied, e.to_string())
                })
            })
            .build())
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// Sends one request; never panics, never follows a redirect.
pub fn send(
    policy: OutboundPolicy,
    method: &str,
    url: &str,
    headers: &[(&str, String)],
    body: Option<&[u8]>,
) -> Answer {
    let started = Instant::now();
    let failed = |error: String| Answer {
        status: None,
        latency: started.elapsed(),
        error: Some(error),
        excerpt: None,
        retry_after: None,
        body: None,
    };
    if let Err(e) = policy.target(url) {
        return failed(format!("the URL {e}"));
    }
    let agent = match agent(policy) {
        Ok(a) => a,
        Err(e) => return failed(e),
    };
    let mut request = agent.request(method, url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let result = match body {
        Some(b) => request.send_bytes(b),
        None => request.call(),
    };
    let response = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(ureq::Error::Transport(t)) => return failed(t.to_string()),
    };
    let status = response.status();
    let retry_after = response
        .header("retry-after")
        .and_then(palisade_domain::webhook::parse_retry_after);
    let mut text = String::new();
    let read = response
        .into_reader()
        .take(1 << 20)
        .read_to_string(&mut text);
    let excerpt: String = text.chars().take(EXCERPT_BYTES).collect();
    let excerpt = {
        let mut e = excerpt;
        while e.len() > EXCERPT_BYTES {
            e.pop();
        }
        e
    };
    Answer {
        status: Some(status),
        latency: started.elapsed(),
        error: match (read, palisade_domain::webhook::outcome(Some(status))) {
            (Err(e), _) => Some(format!("the answer could not be read: {e}")),
            (_, palisade_domain::webhook::Outcome::Delivered) => None,
            _ => Some(format!("the receiver answered {status}")),
        },
        excerpt: (!excerpt.is_empty()).then_some(excerpt),
        retry_after,
        body: Some(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_refused_after_resolution() {
        let strict = OutboundPolicy::default();
        assert!(matches!(
            resolve(strict, "localhost:443"),
            Err(TargetError::NotPublic(_))
        ));
        assert!(matches!(
            check(strict, "https://localhost/hook"),
            Err(TargetError::NotPublic(_))
        ));
        let open = OutboundPolicy {
            allow_private: true,
        };
        assert!(resolve(open, "localhost:443").is_ok());
        // Refused before any connection: nothing listens there.
        let a = send(strict, "POST", "https://127.0.0.1:9/", &[], Some(b"{}"));
        assert_eq!(a.status, None);
        assert!(a.error.unwrap().contains("not a public address"));
    }
}
