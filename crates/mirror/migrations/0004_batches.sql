-- SFTP batches: the ledger that makes a batch upload exactly once, each file's bytes (so a
-- retry resends the very same file), each row's origin (input line) and outcome, and the
-- CSV column mapping saved per account.
CREATE TABLE batches (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('evaluate', 'transmit')),
    source_name  TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_error   TEXT
);
CREATE INDEX batches_by_account ON batches (account_id, created_at DESC);

CREATE TABLE batch_files (
    batch_id     TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    name         TEXT NOT NULL UNIQUE,
    sha256       TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('built', 'uploading', 'uploaded', 'answered')),
    sent_bytes   INTEGER NOT NULL DEFAULT 0,
    uploaded_at  TEXT,
    answered_at  TEXT,
    PRIMARY KEY (batch_id, name)
);

CREATE TABLE batch_rows (
    batch_id           TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
    file_name          TEXT NOT NULL,
    sequence_number    INTEGER NOT NULL,
    line               INTEGER NOT NULL,
    order_id           TEXT NOT NULL,
    order_session_key  TEXT,
    status             TEXT,
    errors             TEXT,
    PRIMARY KEY (file_name, sequence_number)
);
CREATE INDEX batch_rows_by_batch ON batch_rows (batch_id, file_name, sequence_number);
CREATE INDEX batch_rows_by_order ON batch_rows (order_id);

CREATE TABLE column_mappings (
    account_id   TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    mapping      TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (account_id, kind)
);
