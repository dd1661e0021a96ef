//! FlexFactor wire types: the JSON shapes of the FlexFactor REST API, exactly as
//! `shared/flexfactor-api.md` describes them, shared by the API client and the sandbox.
//!
//! What it does: serde models for requests and responses, the numeric order status
//! vocabulary, and the paging envelope of `GET /v1/orders`.
//!
//! What it deliberately does not do: no HTTP, no database, no business rules. The
//! sandbox and the client must agree only on these shapes, so contract bugs surface.
//!
//! Invariants: response models never use `deny_unknown_fields` (the API adds fields
//! without a version bump); money is integer minor units (`Cents`) everywhere except the
//! refund request's `amountToRefund`, which the API defines in decimal dollars.

pub mod auth;
pub mod envelope;
pub mod money;
pub mod orders;

pub use auth::{TokenRequest, TokenResponse};
pub use envelope::{ProblemDetails, ResponseEnvelope};
pub use money::Cents;
pub use orders::{Decision, OrderStatus, OrdersPage, OrdersQuery, WireAddress, WireOrder};
