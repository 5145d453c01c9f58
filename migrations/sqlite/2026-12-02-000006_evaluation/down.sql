DROP TABLE report_files;
DROP TABLE reports;
DROP TABLE model_versions;
DROP TABLE evaluation_entries;
