DROP TABLE risk_rows;
