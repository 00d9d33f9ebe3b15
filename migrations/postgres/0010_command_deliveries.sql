-- Deliveries that commands ended (see the SQLite migration 0016).
CREATE INDEX deliveries_by_commands ON deliveries (finished_at) WHERE claimed_by LIKE 'cli-%';
