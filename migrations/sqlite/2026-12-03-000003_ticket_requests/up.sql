-- The ticket being opened for a treatment: one create_ticket job at a time,
-- so asking twice does not open two tickets.
CREATE TABLE ticket_requests (
    treatment_id TEXT PRIMARY KEY REFERENCES treatments (id) ON DELETE CASCADE,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    job_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
