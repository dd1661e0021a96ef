//! The FlexFactor API client: typed calls over `reqwest` (rustls), a cached bearer token,
//! retries for transient failures, and one error type for every error body the API sends.
//!
//! What it does not do: no database, no UI, no business rules about what to call when.
//! Callers (the sync engine, the app core) decide that.
//!
//! Invariants:
//! - The token is cached and renewed [`REFRESH_MARGIN`] before `expires`; concurrent
//!   callers share one refresh (the cache lock is held while refreshing).
//! - A 401 from any endpoint re-authenticates once and retries that request once.
//! - Bad credentials (HTTP 400 from `/oauth2/token`) are [`ClientError::CredentialsRejected`],
//!   distinct from every other failure.
//! - Only idempotent reads are retried automatically here; money-moving calls are not.
//! - The AppSecret never reaches a log or a `Debug` string.

mod auth;
mod error;
mod http;
mod orders;
mod retry;

pub use auth::REFRESH_MARGIN;
pub use error::{ApiErrorDetail, ClientError};
pub use http::{ClientConfig, FlexFactorClient};
pub use retry::RetryPolicy;
