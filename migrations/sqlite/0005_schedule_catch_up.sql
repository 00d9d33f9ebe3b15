-- What a database schedule sends of occurrences that come due late: 'latest' (NULL means
-- the default, latest), 'all' or 'none'. Validated by the program like the config key.
ALTER TABLE schedules ADD COLUMN catch_up TEXT;
