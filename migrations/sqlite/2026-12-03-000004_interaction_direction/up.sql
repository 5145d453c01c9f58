-- A flow both ends start (OTM's and Threat Dragon's bidirectional flows).
ALTER TABLE interactions ADD COLUMN bidirectional BOOLEAN NOT NULL DEFAULT FALSE;
