-- SQLite's instr(haystack, needle), so list filters (tags) are one
-- expression on both backends: case-sensitive, no wildcards.
CREATE FUNCTION instr(haystack TEXT, needle TEXT) RETURNS INTEGER
    AS $$ SELECT strpos(haystack, needle) $$
    LANGUAGE SQL IMMUTABLE STRICT PARALLEL SAFE;

-- Text that lists sort by orders by code point, as on SQLite and whatever
-- the database's collation: `in_progress` and `info`, `Zeta` and `alpha`
-- come in the same order on both backends.
ALTER TABLE models ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE assets ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE assets ALTER COLUMN kind TYPE TEXT COLLATE "C";
ALTER TABLE threat_actors ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE threat_actors ALTER COLUMN origin TYPE TEXT COLLATE "C";
ALTER TABLE threat_actors ALTER COLUMN category TYPE TEXT COLLATE "C";
ALTER TABLE threat_actors ALTER COLUMN intent TYPE TEXT COLLATE "C";
ALTER TABLE attack_trees ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE attack_tree_nodes ALTER COLUMN label TYPE TEXT COLLATE "C";
ALTER TABLE attack_tree_nodes ALTER COLUMN kind TYPE TEXT COLLATE "C";
ALTER TABLE trust_zones ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE parties ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE parties ALTER COLUMN kind TYPE TEXT COLLATE "C";
ALTER TABLE parties ALTER COLUMN trust_level TYPE TEXT COLLATE "C";
ALTER TABLE threats ALTER COLUMN title TYPE TEXT COLLATE "C";
ALTER TABLE threats ALTER COLUMN stride TYPE TEXT COLLATE "C";
ALTER TABLE threats ALTER COLUMN method TYPE TEXT COLLATE "C";
ALTER TABLE controls ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE controls ALTER COLUMN control_type TYPE TEXT COLLATE "C";
ALTER TABLE controls ALTER COLUMN category TYPE TEXT COLLATE "C";
ALTER TABLE controls ALTER COLUMN status TYPE TEXT COLLATE "C";
ALTER TABLE api_keys ALTER COLUMN name TYPE TEXT COLLATE "C";
ALTER TABLE api_keys ALTER COLUMN role TYPE TEXT COLLATE "C";
ALTER TABLE audit_events ALTER COLUMN action TYPE TEXT COLLATE "C";
ALTER TABLE audit_events ALTER COLUMN entity_type TYPE TEXT COLLATE "C";
