DROP INDEX treatments_ticket;
DROP TABLE inbound_deliveries;
DROP TABLE integration_secrets;
DROP TABLE integrations;
