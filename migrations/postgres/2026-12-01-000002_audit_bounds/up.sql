-- The audit log's bounds (issue 9).
-- client_network: the client address as per-address limits count it (an IPv4 address, or an IPv6
-- /64 as `2001:db8:1:2::/64`), so failed sign-ins can be counted per address on every instance.
ALTER TABLE audit_events ADD COLUMN client_network TEXT;
-- Repeated refusals (`access.denied` by one actor for one permission within an hour) are one row:
-- occurred_at is the first, last_occurred_at the latest, repeat_count how many.
ALTER TABLE audit_events ADD COLUMN repeat_count INTEGER NOT NULL DEFAULT 1;
ALTER TABLE audit_events ADD COLUMN last_occurred_at TIMESTAMP;
UPDATE audit_events SET client_network = ip_address WHERE ip_address IS NOT NULL AND ip_address NOT LIKE '%:%';
CREATE INDEX audit_events_network_idx ON audit_events (client_network, action, occurred_at);
