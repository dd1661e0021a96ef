-- The state a `missing_webhook` flag waits to hear about (as `OrderState` text): only a
-- webhook announcing that state clears it (another webhook for the order, e.g. a refund,
-- does not). NULL for flags raised before this version: any webhook for the order clears
-- those, as it did then.
ALTER TABLE drift ADD COLUMN hint TEXT;
