ALTER TABLE risk_rows DROP COLUMN treatment_status;
ALTER TABLE risk_rows DROP COLUMN treatment_strategy;
DROP TABLE treatments;
