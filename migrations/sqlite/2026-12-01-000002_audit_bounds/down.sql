DROP INDEX audit_events_network_idx;
ALTER TABLE audit_events DROP COLUMN last_occurred_at;
ALTER TABLE audit_events DROP COLUMN repeat_count;
ALTER TABLE audit_events DROP COLUMN client_network;
