-- Deliveries that commands ended (the instance that claimed them has an id starting 'cli-'), by when they ended: the
-- daemon adds them to its delivery counters at each scrape of /metrics.
CREATE INDEX deliveries_by_commands ON deliveries (finished_at) WHERE claimed_by LIKE 'cli-%';
