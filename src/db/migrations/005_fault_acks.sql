-- Which fault document each process follows: the document gets a generation, and every process that LISTENs
-- records the generation it applied, keyed by the backend pid of its LISTEN connection. A process that dies loses
-- that connection, so joining pg_stat_activity counts only the living: the control plane answers a PUT /faults
-- once every living process follows the new document.
ALTER TABLE faults ADD COLUMN generation bigint NOT NULL DEFAULT 0;
CREATE TABLE fault_acks (
  listener_pid integer PRIMARY KEY,
  process      text NOT NULL,
  generation   bigint NOT NULL,
  at           timestamptz NOT NULL DEFAULT now()
);
