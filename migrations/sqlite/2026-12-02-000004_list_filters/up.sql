-- SQLite has instr(haystack, needle) built in; PostgreSQL gets one here.
SELECT 1;
