-- Asynchronous orders (RFC 7240 `Prefer: respond-async`): the order row is its own job. POST /orders answers 202
-- at once; a worker in some target claims the order with FOR UPDATE SKIP LOCKED, charges it with the order's own
-- idempotency key and marks it paid. A claim whose worker died (no heartbeat) is taken again by another, and the
-- provider answers the repeated key with the first charge: the order is charged once, whichever worker finishes it.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
-- failed: the provider declined the payment; the stock went back on sale.
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (status IN ('pending', 'processing', 'failed', 'cancelled'));
ALTER TABLE orders
  ADD COLUMN async         boolean NOT NULL DEFAULT false,
  -- Kept only until the charge is made (the worker needs it); cleared once the order is paid or failed.
  ADD COLUMN payment_token text,
  ADD COLUMN claimed_by    text,
  ADD COLUMN heartbeat_at  timestamptz,
  ADD COLUMN attempts      integer NOT NULL DEFAULT 0,
  -- After the provider was away: not tried again before this time (backoff).
  ADD COLUMN not_before    timestamptz,
  ADD COLUMN failure       text;
CREATE INDEX orders_async_pending_idx ON orders (id) WHERE async AND status = 'pending';

-- Each target's payment circuit breaker, as it last changed: what the control plane shows beside the faults.
CREATE TABLE payment_breakers (
  target_id    text PRIMARY KEY,
  state        text NOT NULL CHECK (state IN ('closed', 'open', 'half-open')),
  half_open_at timestamptz,
  changed_at   timestamptz NOT NULL DEFAULT now()
);
