DROP TABLE record_links;
DROP TABLE controls;
DROP TABLE threats;
