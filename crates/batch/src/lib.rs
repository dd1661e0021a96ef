//! FlexFactor SFTP batches (flexfactor-api.md §11; DESIGN.md §5), without Tauri.
//!
//! What it does: reads a billing system's CSV (or a ready JSON batch) into a
//! [`SourceTable`], maps its columns to batch fields ([`ColumnMapping`]), validates every
//! row ([`Draft::validate`]: required fields, amount bounds, token present, `expiryDateUtc`
//! at least 14 days out, duplicates in the file, orders already submitted), writes the
//! batch files ([`plan_files`]: evaluate JSON, `transmit_` JSON/CSV, split at 2000 rows),
//! uploads them over SFTP by a temp-name-then-rename protocol that resumes after a cut
//! ([`SftpClient::upload`]), tests a connection and shows the server's host key for
//! pinning ([`probe`]), and parses response files ([`ResponseFile`]).
//!
//! What it deliberately does not do: no database (the caller keeps the batch ledger), no
//! keychain (the caller passes the key passphrase), no HTTP.
//!
//! Invariants: nothing is written for a draft that has an invalid row
//! ([`ValidationReport::is_clean`] gates [`plan_files`] in the callers); a file never
//! appears under its final name on the server until all of it is there and verified;
//! nothing is uploaded to a server whose host key is not pinned or does not match.

mod error;
mod files;
mod input;
mod mapping;
mod probe;
mod sftp;
mod validate;

pub use error::BatchError;
pub use files::{
    plan_files, response_name, sha256_hex, temp_name, with_fresh_token, BatchHeader, FileFormat, PlannedFile,
    PlannedRow, ResponseFile, ResponseRow, MAX_ROWS_PER_FILE,
};
pub use input::{decode_export, read_any, read_csv, read_json, write_csv, SourceRow, SourceTable};
pub use mapping::{
    field, field_type, major_units_to_cents, major_units_to_minor, ColumnMapping, FieldSpec, FieldType, FIELDS,
};
pub use probe::{probe, ProbeOutcome, ProbeReport};
pub use sftp::{fingerprint, pinned_fingerprint, SftpClient, SftpSettings, UploadOutcome};
pub use validate::{
    BatchKind, Draft, Issue, IssueKind, RowResult, ValidationContext, ValidationReport, MAX_AMOUNT_EXCLUSIVE,
    MIN_AMOUNT_EXCLUSIVE, MIN_EXPIRY_DAYS,
};

/// Re-exported so callers can generate and parse keys without depending on russh.
pub use russh::keys as ssh_keys;
