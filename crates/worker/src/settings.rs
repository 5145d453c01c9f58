//! What outbound work (webhook deliveries, tickets) needs from the
//! operator's configuration: the key that opens stored secrets, where
//! requests may go, and how failed deliveries are retried.

use std::time::Duration;

use palisade_domain::webhook::OutboundPolicy;
use palisade_store::sealed::Sealer;
use palisade_store::webhooks::RetryPolicy;

#[derive(Debug, Clone)]
pub struct Settings {
    pub sealer: Sealer,
    pub policy: OutboundPolicy,
    pub retry: RetryPolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sealer: Sealer::missing(),
            policy: OutboundPolicy::default(),
            retry: RetryPolicy {
                base: Duration::from_secs(5),
                max_attempts: palisade_domain::webhook::MAX_DELIVERY_ATTEMPTS,
            },
        }
    }
}
