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
//! - Reads are retried on transient failures (network, 408, 429, 5xx). Of the POSTs, only
//!   those that carry an idempotency key (evaluate, capture, cancel) are, always resending
//!   the same body and key; the key is returned in [`Idempotent`].
//! - A refund is never resent: an unclear outcome is [`ClientError::OutcomeUnknown`], and
//!   the caller re-reads the order before anything else.
//! - The AppSecret never reaches a log or a `Debug` string.

mod auth;
mod cancel;
mod capture;
mod error;
mod evaluate;
mod http;
mod orders;
mod outcome;
mod post;
mod refunds;
mod retry;
mod tokenize;
mod transmit;

pub use auth::REFRESH_MARGIN;
pub use error::{ApiErrorDetail, ClientError};
pub use http::{ClientConfig, FlexFactorClient};
pub use orders::OrderPages;
pub use post::{new_idempotency_key, Idempotent};
pub use retry::RetryPolicy;
