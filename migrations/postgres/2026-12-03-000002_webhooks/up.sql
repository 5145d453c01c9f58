-- Palisade's own webhooks: subscriptions (their secret sealed with the
-- operator's key), the domain events recorded in the transaction of the
-- change that causes them, one delivery per event and subscription, and
-- every attempt at it.
CREATE TABLE webhook_subscriptions (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    enabled BOOLEAN NOT NULL,
    disabled_reason TEXT,
    secret TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_subscriptions_org_id ON webhook_subscriptions (org_id, id);

CREATE TABLE domain_events (
    id TEXT COLLATE "C" PRIMARY KEY,
    org_id TEXT NOT NULL,
    model_id TEXT,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX domain_events_created_at ON domain_events (created_at);

-- `lane` is the event's model ('' for none): a subscription's deliveries of
-- one lane go out in the order their events were recorded, one at a time.
-- `body` is fixed when the event is recorded, so every retry sends the
-- same bytes.
CREATE TABLE webhook_deliveries (
    id TEXT COLLATE "C" PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    lane TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    claimed_until TIMESTAMP,
    job_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (subscription_id, lane, status, created_at, id);

CREATE TABLE webhook_attempts (
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    response_excerpt TEXT,
    PRIMARY KEY (delivery_id, attempt)
);
