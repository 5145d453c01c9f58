DROP TABLE idempotency_keys;
DROP TABLE audit_events;
DROP TABLE assets;
DROP TABLE trust_zones;
DROP TABLE models;
DROP TABLE api_keys;
DROP TABLE organizations;
