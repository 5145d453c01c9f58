DROP TABLE ticket_requests;
