-- Integrations: ticketing systems that post webhooks to move treatments.
-- Secrets are sealed (encrypted with the operator's key) before they reach
-- a row.
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
