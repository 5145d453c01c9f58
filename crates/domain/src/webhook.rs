//! Palisade's own webhooks: the events a subscription can ask for, what a
//! subscription may point at (no loopback, private or metadata addresses
//! unless the operator allows them), and when a failed delivery is tried
//! again.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::validation::ValidationErrors;

string_enum!(
    /// What happened. Recorded in the transaction of the change itself.
    EventType {
        ModelUpdated => "model.updated",
        RiskChanged => "risk.changed",
        TreatmentCreated => "treatment.created",
        TreatmentStatusChanged => "treatment.status_changed",
        ReportReady => "report.ready",
        JobFailed => "job.failed",
        Ping => "webhook.test",
    }
);

/// The events a subscription may list (`webhook.test` is sent by
/// `POST …/test` to any subscription).
pub const SUBSCRIBABLE: &[EventType] = &[
    EventType::ModelUpdated,
    EventType::RiskChanged,
    EventType::TreatmentCreated,
    EventType::TreatmentStatusChanged,
    EventType::ReportReady,
    EventType::JobFailed,
];

/// The longest subscription URL.
pub const MAX_URL_LENGTH: usize = 2048;

/// What the operator allows outbound requests to reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboundPolicy {
    /// `http://` URLs and loopback, private and link-local addresses
    /// (development and tests only).
    pub allow_private: bool,
}

/// Why a URL or an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("is not an absolute URL: {0}")]
    NotUrl(String),
    #[error("must use https")]
    NotHttps,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error("has no host")]
    NoHost,
    #[error("resolves to {0}, which is not a public address")]
    NotPublic(IpAddr),
    #[error("cannot be resolved: {0}")]
    Unresolved(String),
}

/// A URL outbound requests may be sent to, checked for its form; its
/// addresses are checked after resolution, on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub url: url::Url,
    pub host: String,
    pub port: u16,
}

impl OutboundPolicy {
    /// Checks a URL's form: https (unless allowed otherwise), a host, no
    /// credentials; a literal IP address must be public.
    pub fn target(&self, raw: &str) -> Result<Target, TargetError> {
        let url = url::Url::parse(raw).map_err(|e| TargetError::NotUrl(e.to_string()))?;
        match url.scheme() {
            "https" => {}
            "http" if self.allow_private => {}
            _ => return Err(TargetError::NotHttps),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(TargetError::Credentials);
        }
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_string(),
            Some(url::Host::Ipv4(ip)) => {
                self.address(IpAddr::V4(ip))?;
                ip.to_string()
            }
            Some(url::Host::Ipv6(ip)) => {
                self.address(IpAddr::V6(ip))?;
                format!("[{ip}]")
            }
            None => return Err(TargetError::NoHost),
        };
        let port = url.port_or_known_default().ok_or(TargetError::NoHost)?;
        Ok(Target { url, host, port })
    }

    /// Resolves `host:port` with `lookup` (the caller's DNS) and keeps the
    /// addresses only if every one is allowed: a name with one private
    /// address among public ones is refused.
    pub fn resolve<A: Into<std::net::SocketAddr> + Copy>(
        &self,
        netloc: &str,
        lookup: impl FnOnce(&str) -> std::io::Result<Vec<A>>,
    ) -> Result<Vec<std::net::SocketAddr>, TargetError> {
        let addrs: Vec<std::net::SocketAddr> = lookup(netloc)
            .map_err(|e| TargetError::Unresolved(e.to_string()))?
            .into_iter()
            .map(Into::into)
            .collect();
        if addrs.is_empty() {
            return Err(TargetError::Unresolved("no address".into()));
        }
        for a in &addrs {
            self.address(a.ip())?;
        }
        Ok(addrs)
    }

    /// Checks one resolved address.
    pub fn address(&self, ip: IpAddr) -> Result<(), TargetError> {
        if self.allow_private || is_public(ip) {
            Ok(())
        } else {
            Err(TargetError::NotPublic(ip))
        }
    }
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local (cloud metadata at 169.254.169.254 among them), shared,
/// documentation, benchmarking, multicast, reserved or unspecified, in
/// either family, and not such an IPv4 address inside IPv6.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            let unique_local = (s[0] & 0xfe00) == 0xfc00;
            let link_local = (s[0] & 0xffc0) == 0xfe80;
            let site_local = (s[0] & 0xffc0) == 0xfec0;
            let documentation = s[0] == 0x2001 && s[1] == 0x0db8;
            let nat64 = s[0] == 0x0064 && s[1] == 0xff9b;
            let compatible = s[..6].iter().all(|x| *x == 0);
            let six_to_four = s[0] == 0x2002;
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || unique_local
                || link_local
                || site_local
                || documentation
                || compatible
                || (nat64
                    && !is_public_v4(Ipv4Addr::new(
                        (s[6] >> 8) as u8,
                        s[6] as u8,
                        (s[7] >> 8) as u8,
                        s[7] as u8,
                    )))
                || (six_to_four
                    && !is_public_v4(Ipv4Addr::new(
                        (s[1] >> 8) as u8,
                        s[1] as u8,
                        (s[2] >> 8) as u8,
                        s[2] as u8,
                    ))))
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let shared = a == 100 && (64..128).contains(&b);
    let ietf = a == 192 && b == 0 && c == 0;
    let benchmarking = a == 198 && (b == 18 || b == 19);
    let reserved = a >= 240;
    let this_network = a == 0;
    !(ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || shared
        || ietf
        || benchmarking
        || reserved
        || this_network)
}

/// A subscription's writable fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionFields {
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub enabled: bool,
}

impl SubscriptionFields {
    /// Checks everything but the URL's addresses (those need a resolver).
    pub fn validate(&self, policy: &OutboundPolicy) -> Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        if self.url.len() > MAX_URL_LENGTH {
            e.add("url", format!("is longer than {MAX_URL_LENGTH} characters"));
        } else if let Err(why) = policy.target(&self.url) {
            e.add("url", why.to_string());
        }
        if self.events.is_empty() {
            e.add("events", "lists no event; name at least one");
        }
        for (i, event) in self.events.iter().enumerate() {
            if !SUBSCRIBABLE.contains(event) {
                e.add(
                    format!("events[{i}]"),
                    format!("{event} cannot be subscribed to"),
                );
            } else if self.events[..i].contains(event) {
                e.add(format!("events[{i}]"), format!("{event} is listed twice"));
            }
        }
        e.check_optional_text("description", self.description.as_deref());
        e.finish()
    }
}

/// A webhook subscription: where the organisation's events go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subscription {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: crate::ids::SubscriptionId,
    pub url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    /// Off by hand, or by Palisade after a 410 or persistent failure
    /// (`disabled_reason` says which); turning it on again resumes the
    /// deliveries that wait.
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub version: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
}

string_enum!(
    /// Where a delivery stands.
    DeliveryStatus {
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
);

/// One try at delivering an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Attempt {
    /// 1 for the first try.
    pub attempt: i32,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// The receiver's status, when it answered.
    pub status_code: Option<i32>,
    pub latency_ms: i64,
    /// Why it failed (no answer, a refused address, a status other than 2xx).
    pub error: Option<String>,
    /// The start of the receiver's answer (at most 1 024 bytes).
    pub response_excerpt: Option<String>,
}

/// An event on its way to one subscription, with every attempt so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Delivery {
    #[cfg_attr(feature = "openapi", schema(value_type = uuid::Uuid))]
    pub id: crate::ids::DeliveryId,
    /// The `webhook-id` header: the event's id, the same on every retry.
    pub webhook_id: String,
    pub event_type: EventType,
    pub status: DeliveryStatus,
    pub next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
    pub attempts: Vec<Attempt>,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Deliveries of an event are tried at most this many times by default.
pub const MAX_DELIVERY_ATTEMPTS: u32 = 10;

/// The wait after the `attempt`-th failure (1-based) with `base` as the
/// first wait: base × 1, 6, 24, 120, 360, 720, 1440, 2880, 5760 — with a
/// five-second base, 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h —
/// spread by `jitter` (0–1, ±20 %), never less than a `Retry-After` the
/// receiver sent (capped at a day).
pub fn retry_delay(
    attempt: u32,
    base: Duration,
    jitter: f64,
    retry_after: Option<Duration>,
) -> Duration {
    const STEPS: [u32; 9] = [1, 6, 24, 120, 360, 720, 1440, 2880, 5760];
    let step = STEPS[(attempt.max(1) as usize - 1).min(STEPS.len() - 1)];
    let spread = 0.8 + 0.4 * jitter.clamp(0.0, 1.0);
    let delay = base.mul_f64(f64::from(step) * spread);
    match retry_after {
        Some(wait) => delay.max(wait.min(Duration::from_secs(24 * 3600))),
        None => delay,
    }
}

/// `Retry-After` as seconds (the HTTP-date form is read as no advice).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// What a delivery's response means for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// 410: the receiver is gone; the subscription is disabled.
    Gone,
    /// Try again later (or give up, past the attempts).
    Failed,
}

/// A response status's meaning: 2xx delivered, 410 gone, anything else
/// (and no response) a failure to retry. Redirects are failures: they are
/// never followed.
pub fn outcome(status: Option<u16>) -> Outcome {
    match status {
        Some(s) if (200..300).contains(&s) => Outcome::Delivered,
        Some(410) => Outcome::Gone,
        _ => Outcome::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "127.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.1.1.1",
            "2001:db8::1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "::127.0.0.1",
            "ff02::1",
        ] {
            assert!(!is_public(ip(private)), "{private}");
        }
        for public in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    #[test]
    fn urls_must_be_https_without_credentials_and_literal_addresses_public() {
        let strict = OutboundPolicy::default();
        assert!(strict.target("https://hooks.example.com/palisade").is_ok());
        assert_eq!(
            strict.target("http://hooks.example.com/"),
            Err(TargetError::NotHttps)
        );
        assert_eq!(
            strict.target("ftp://hooks.example.com/"),
            Err(TargetError::NotHttps)
        );
        assert_eq!(
            strict.target("https://u:p@hooks.example.com/"),
            Err(TargetError::Credentials)
        );
        assert_eq!(
            strict.target("https://127.0.0.1/"),
            Err(TargetError::NotPublic(ip("127.0.0.1")))
        );
        assert_eq!(
            strict.target("https://[::1]:8443/"),
            Err(TargetError::NotPublic(ip("::1")))
        );
        assert_eq!(
            strict.target("https://169.254.169.254/latest/meta-data"),
            Err(TargetError::NotPublic(ip("169.254.169.254")))
        );
        // Other spellings of loopback are parsed as the address they are.
        assert_eq!(
            strict.target("https://2130706433/"),
            Err(TargetError::NotPublic(ip("127.0.0.1")))
        );
        assert_eq!(
            strict.target("https://0x7f.1/"),
            Err(TargetError::NotPublic(ip("127.0.0.1")))
        );
        assert!(matches!(
            strict.target("not a url"),
            Err(TargetError::NotUrl(_))
        ));
        let open = OutboundPolicy {
            allow_private: true,
        };
        let t = open.target("http://127.0.0.1:9000/hook").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("127.0.0.1", 9000));
    }

    #[test]
    fn a_name_is_refused_when_any_of_its_addresses_is_not_public() {
        let strict = OutboundPolicy::default();
        let public: std::net::SocketAddr = "93.184.216.34:443".parse().unwrap();
        let loopback: std::net::SocketAddr = "127.0.0.1:443".parse().unwrap();
        assert_eq!(
            strict.resolve("x:443", |_| Ok(vec![public])),
            Ok(vec![public])
        );
        assert_eq!(
            strict.resolve("x:443", |_| Ok(vec![public, loopback])),
            Err(TargetError::NotPublic(loopback.ip()))
        );
        assert!(matches!(
            strict.resolve("x:443", |_| Ok(Vec::<std::net::SocketAddr>::new())),
            Err(TargetError::Unresolved(_))
        ));
        let open = OutboundPolicy {
            allow_private: true,
        };
        assert_eq!(
            open.resolve("x:443", |_| Ok(vec![loopback])),
            Ok(vec![loopback])
        );
    }

    #[test]
    fn retries_back_off_over_hours_and_honour_retry_after() {
        let base = Duration::from_secs(5);
        assert_eq!(retry_delay(1, base, 0.5, None), Duration::from_secs(5));
        assert_eq!(retry_delay(2, base, 0.5, None), Duration::from_secs(30));
        assert_eq!(
            retry_delay(9, base, 0.5, None),
            Duration::from_secs(8 * 3600)
        );
        assert_eq!(
            retry_delay(50, base, 0.5, None),
            Duration::from_secs(8 * 3600)
        );
        let total: Duration = (1..MAX_DELIVERY_ATTEMPTS)
            .map(|n| retry_delay(n, base, 0.5, None))
            .sum();
        assert!(total > Duration::from_secs(15 * 3600), "{total:?}");
        assert_eq!(retry_delay(1, base, 0.0, None), Duration::from_secs(4));
        assert_eq!(retry_delay(1, base, 1.0, None), Duration::from_secs(6));
        assert_eq!(
            retry_delay(1, base, 0.5, Some(Duration::from_secs(120))),
            Duration::from_secs(120)
        );
        assert_eq!(
            retry_delay(3, base, 0.5, Some(Duration::from_secs(1))),
            Duration::from_secs(120)
        );
        assert_eq!(
            retry_delay(1, base, 0.5, Some(Duration::from_secs(10 * 24 * 3600))),
            Duration::from_secs(24 * 3600)
        );
        assert_eq!(parse_retry_after(" 7 "), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }

    #[test]
    fn subscriptions_name_known_events_once() {
        let policy = OutboundPolicy::default();
        let mut f = SubscriptionFields {
            url: "https://hooks.example.com/x".into(),
            events: vec![
                EventType::RiskChanged,
                EventType::RiskChanged,
                EventType::Ping,
            ],
            description: None,
            enabled: true,
        };
        let e = f.validate(&policy).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["events[1]", "events[2]"]);
        f.events.clear();
        f.url = "http://x".into();
        let e = f.validate(&policy).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|x| x.field.as_str()).collect();
        assert_eq!(fields, ["url", "events"]);
    }

    #[test]
    fn statuses_mean_what_they_say() {
        assert_eq!(outcome(Some(200)), Outcome::Delivered);
        assert_eq!(outcome(Some(204)), Outcome::Delivered);
        assert_eq!(outcome(Some(410)), Outcome::Gone);
        assert_eq!(outcome(Some(301)), Outcome::Failed);
        assert_eq!(outcome(Some(500)), Outcome::Failed);
        assert_eq!(outcome(None), Outcome::Failed);
    }
}
