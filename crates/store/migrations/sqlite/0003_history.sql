-- 0003: finding history — every change of a finding's state after it was first stored.
--
-- A finding's first appearance is its row in `findings` (`first_found`, `first_run_id`, and
-- the state it had then: the `from_state` of its first history row, or its current state when
-- it has none), so a first full sync writes no history at all. Each later change of state adds
-- a row here, in the same transaction as the finding; an asset the source deletes adds a
-- `gone` row for each of its findings (fixed ones too: the asset and all it had are gone).
--   change: fixed | reopened | changed (open <-> reopened) | gone
--   at:     when it happened by the source's clock (last_fixed for fixed, last_found for a
--           reopen, the deletion time for gone), else the time it was written; same
--           timestamp convention as 0001.

CREATE TABLE finding_history (
    source     TEXT    NOT NULL,
    finding_id TEXT    NOT NULL,
    run_id     INTEGER NOT NULL,
    at                 NOT NULL,
    change     TEXT    NOT NULL,
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL
);
CREATE INDEX finding_history_key ON finding_history (source, finding_id);
