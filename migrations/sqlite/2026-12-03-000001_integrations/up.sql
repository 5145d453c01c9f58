-- Integrations: ticketing systems that post webhooks (inbound), Palisade's
-- own webhook subscriptions (outbound), the domain events that feed them
-- and each delivery with its attempts. Secrets are sealed (encrypted with
-- the operator's key) before they reach a row.
CREATE TABLE integrations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations (id),
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    status_mapping TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    -- Ticket creation: the non-secret settings as JSON, and the sealed token.
    outbound TEXT,
    outbound_token TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX integrations_org_id ON integrations (org_id, id);

-- At most two per integration: the newest and the one it is replacing.
CREATE TABLE integration_secrets (
    id TEXT PRIMARY KEY,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    sealed TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX integration_secrets_integration_id ON integration_secrets (integration_id, created_at);

-- The senders' delivery ids, kept at least 24 hours, so a retried webhook
-- is answered as a duplicate.
CREATE TABLE inbound_deliveries (
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    delivery_id TEXT NOT NULL,
    job_id TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    PRIMARY KEY (integration_id, delivery_id)
);
CREATE INDEX inbound_deliveries_received_at ON inbound_deliveries (received_at);

CREATE INDEX treatments_ticket ON treatments (ticket_system, ticket_key);

-- A create_ticket job per treatment at a time.
CREATE TABLE ticket_requests (
    treatment_id TEXT PRIMARY KEY REFERENCES treatments (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE webhook_subscriptions (
    id TEXT PRIMARY KEY,
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
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    model_id TEXT,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX domain_events_created_at ON domain_events (created_at);

-- One row per event and subscription. `lane` is the event's model (or ''):
-- a lane's deliveries go out in order, one at a time.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
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
    last_status INTEGER,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (subscription_id, lane, created_at, id);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    subscription_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    started_at TIMESTAMP NOT NULL,
    status_code INTEGER,
    latency_ms BIGINT NOT NULL,
    error TEXT,
    response_excerpt TEXT
);
CREATE INDEX webhook_attempts_subscription ON webhook_attempts (subscription_id, id);
