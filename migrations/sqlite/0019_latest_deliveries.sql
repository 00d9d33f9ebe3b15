-- Each schedule's latest occurrence (status, the console's overview and GET /status) read from
-- an index instead of the whole table: at 100,000 deliveries the grouping scanned every row.
CREATE INDEX deliveries_latest ON deliveries (schedule_id, due_at) WHERE parent_id IS NULL;
