-- What a job of a kind needs beyond its model (JSON), e.g. a report's formats.
ALTER TABLE jobs ADD COLUMN payload TEXT;
