-- Which process owns a pending delivery (an instance id; see src/instance.rs). A starting
-- daemon resumes only rows whose owner is gone, so two daemons sharing this file never both
-- carry on the same delivery.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
