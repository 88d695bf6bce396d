-- One fault document for the whole system; every process follows it through LISTEN receipt_faults.
CREATE TABLE faults (
  id  integer PRIMARY KEY CHECK (id = 1),
  doc jsonb NOT NULL DEFAULT '{}'
);
INSERT INTO faults (id, doc) VALUES (1, '{}');
