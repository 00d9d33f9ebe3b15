-- Audiences resolved from Workspace (ListDesktops).
-- schedules/maintenance_windows.selectors: the entry's tags, enterprise_project, users,
--   all_desktops, audience and max_audience as a JSON object; NULL: none (static targets).
-- deliveries.selector: the resolved query as text (e.g. `tags=dept=finance;audience=connected`),
--   NULL for a delivery to static targets alone; audience_matched: desktops the selectors
--   matched for the occurrence; audience_targeted: desktops this delivery was sent to.
-- The resolved desktops are `recipients` rows from the claim on (status `targeted`, replaced by
-- the job's word when it is followed), and the ones left out carry their reason
-- (`not_connected`, `in_pool`).
ALTER TABLE schedules ADD COLUMN selectors TEXT;
ALTER TABLE maintenance_windows ADD COLUMN selectors TEXT;
ALTER TABLE deliveries ADD COLUMN selector TEXT;
ALTER TABLE deliveries ADD COLUMN audience_matched INTEGER;
ALTER TABLE deliveries ADD COLUMN audience_targeted INTEGER;
