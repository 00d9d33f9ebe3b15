-- Every stored timestamp gets exactly three fractional digits (`2026-12-01T01:00:00.000Z`):
-- until now they had 0, 3, 6 or 9, so text order was not time order and every comparison went
-- through julianday(). With one width, text order is time order and queries compare the text.
-- Finer digits are cut (the program cuts new values the same way). A value that is not in the
-- program's own format is left as it is; reading it names its row.

UPDATE deliveries SET due_at = CASE WHEN length(due_at) = 20 THEN substr(due_at, 1, 19) || '.000Z'
    ELSE substr(due_at, 1, 19) || '.' || substr(substr(due_at, 21, length(due_at) - 21) || '000', 1, 3) || 'Z' END
WHERE due_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR due_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE deliveries SET deadline_at = CASE WHEN length(deadline_at) = 20 THEN substr(deadline_at, 1, 19) || '.000Z'
    ELSE substr(deadline_at, 1, 19) || '.' || substr(substr(deadline_at, 21, length(deadline_at) - 21) || '000', 1, 3) || 'Z' END
WHERE deadline_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR deadline_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE deliveries SET created_at = CASE WHEN length(created_at) = 20 THEN substr(created_at, 1, 19) || '.000Z'
    ELSE substr(created_at, 1, 19) || '.' || substr(substr(created_at, 21, length(created_at) - 21) || '000', 1, 3) || 'Z' END
WHERE created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE deliveries SET finished_at = CASE WHEN length(finished_at) = 20 THEN substr(finished_at, 1, 19) || '.000Z'
    ELSE substr(finished_at, 1, 19) || '.' || substr(substr(finished_at, 21, length(finished_at) - 21) || '000', 1, 3) || 'Z' END
WHERE finished_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR finished_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE deliveries SET job_finished_at = CASE WHEN length(job_finished_at) = 20 THEN substr(job_finished_at, 1, 19) || '.000Z'
    ELSE substr(job_finished_at, 1, 19) || '.' || substr(substr(job_finished_at, 21, length(job_finished_at) - 21) || '000', 1, 3) || 'Z' END
WHERE job_finished_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR job_finished_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE deliveries SET job_next_poll_at = CASE WHEN length(job_next_poll_at) = 20 THEN substr(job_next_poll_at, 1, 19) || '.000Z'
    ELSE substr(job_next_poll_at, 1, 19) || '.' || substr(substr(job_next_poll_at, 21, length(job_next_poll_at) - 21) || '000', 1, 3) || 'Z' END
WHERE job_next_poll_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR job_next_poll_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE attempts SET started_at = CASE WHEN length(started_at) = 20 THEN substr(started_at, 1, 19) || '.000Z'
    ELSE substr(started_at, 1, 19) || '.' || substr(substr(started_at, 21, length(started_at) - 21) || '000', 1, 3) || 'Z' END
WHERE started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR started_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE attempts SET finished_at = CASE WHEN length(finished_at) = 20 THEN substr(finished_at, 1, 19) || '.000Z'
    ELSE substr(finished_at, 1, 19) || '.' || substr(substr(finished_at, 21, length(finished_at) - 21) || '000', 1, 3) || 'Z' END
WHERE finished_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR finished_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE recipients SET updated_at = CASE WHEN length(updated_at) = 20 THEN substr(updated_at, 1, 19) || '.000Z'
    ELSE substr(updated_at, 1, 19) || '.' || substr(substr(updated_at, 21, length(updated_at) - 21) || '000', 1, 3) || 'Z' END
WHERE updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE schedule_state SET anchor_at = CASE WHEN length(anchor_at) = 20 THEN substr(anchor_at, 1, 19) || '.000Z'
    ELSE substr(anchor_at, 1, 19) || '.' || substr(substr(anchor_at, 21, length(anchor_at) - 21) || '000', 1, 3) || 'Z' END
WHERE anchor_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR anchor_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE schedule_state SET last_due_at = CASE WHEN length(last_due_at) = 20 THEN substr(last_due_at, 1, 19) || '.000Z'
    ELSE substr(last_due_at, 1, 19) || '.' || substr(substr(last_due_at, 21, length(last_due_at) - 21) || '000', 1, 3) || 'Z' END
WHERE last_due_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR last_due_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE schedules SET created_at = CASE WHEN length(created_at) = 20 THEN substr(created_at, 1, 19) || '.000Z'
    ELSE substr(created_at, 1, 19) || '.' || substr(substr(created_at, 21, length(created_at) - 21) || '000', 1, 3) || 'Z' END
WHERE created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE schedules SET updated_at = CASE WHEN length(updated_at) = 20 THEN substr(updated_at, 1, 19) || '.000Z'
    ELSE substr(updated_at, 1, 19) || '.' || substr(substr(updated_at, 21, length(updated_at) - 21) || '000', 1, 3) || 'Z' END
WHERE updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR updated_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE maintenance_windows SET created_at = CASE WHEN length(created_at) = 20 THEN substr(created_at, 1, 19) || '.000Z'
    ELSE substr(created_at, 1, 19) || '.' || substr(substr(created_at, 21, length(created_at) - 21) || '000', 1, 3) || 'Z' END
WHERE created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE window_cancellations SET occurrence_start = CASE WHEN length(occurrence_start) = 20 THEN substr(occurrence_start, 1, 19) || '.000Z'
    ELSE substr(occurrence_start, 1, 19) || '.' || substr(substr(occurrence_start, 21, length(occurrence_start) - 21) || '000', 1, 3) || 'Z' END
WHERE occurrence_start GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR occurrence_start GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
UPDATE window_cancellations SET created_at = CASE WHEN length(created_at) = 20 THEN substr(created_at, 1, 19) || '.000Z'
    ELSE substr(created_at, 1, 19) || '.' || substr(substr(created_at, 21, length(created_at) - 21) || '000', 1, 3) || 'Z' END
WHERE created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z'
   OR created_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9].[0-9]*Z';
