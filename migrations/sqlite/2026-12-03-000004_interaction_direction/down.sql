ALTER TABLE interactions DROP COLUMN bidirectional;
