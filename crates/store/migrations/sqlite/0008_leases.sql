-- 0008: sync leases. One row per source being (or last) synced: who holds it and until when
-- (same timestamp convention as 0001). A holder renews it while it runs; a killed holder's row
-- stays, visibly, until it expires and another process takes it over.

CREATE TABLE leases (
    source      TEXT NOT NULL PRIMARY KEY,
    holder      TEXT NOT NULL,
    acquired_at      NOT NULL,
    expires_at       NOT NULL
) WITHOUT ROWID;
