DROP TABLE risk_registers;
DROP TABLE outbox;
DROP TABLE jobs;
