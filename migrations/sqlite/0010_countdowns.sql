-- A maintenance warning whose text counts down ({time_left}, {minutes_left}) is rendered when
-- each request is made, not when it was planned: `countdown_to` is what it counts to (the
-- window's start), `countdown_text` the text with the countdown still to render. Both NULL
-- for a text that is final. `message` holds the text as last sent (or as planned).
ALTER TABLE deliveries ADD COLUMN countdown_to TEXT;
ALTER TABLE deliveries ADD COLUMN countdown_text TEXT;
