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
pub mod cancel;
pub mod capture;
pub mod envelope;
pub mod evaluate;
mod lenient;
pub mod money;
pub mod orders;
pub mod outcome;
pub mod refund;
pub mod tokenize;
pub mod transmit;
pub mod webhook;

pub use auth::{TokenRequest, TokenResponse};
pub use cancel::{CancelRequest, CancelResponse};
pub use capture::{CaptureRequest, CaptureResponse};
pub use envelope::{ProblemDetails, ResponseEnvelope};
pub use evaluate::{
    AdditionalField, Address, EvaluateRequest, EvaluateResponse, Merchant, OrderItem, Payer, PaymentMethod,
    Subscription, ThreeDSecure, Transaction, TransactionType,
};
pub use money::{minor_unit_digits, Cents};
pub use orders::{Decision, OrderStatus, OrdersPage, OrdersQuery, RawRecord, WireAddress, WireOrder};
pub use outcome::{OutcomeRequest, OutcomeResponse};
pub use refund::{DollarAmount, ErrorTuple, RefundRequest, RefundResponse};
pub use tokenize::{
    CreditCard, TokenizePaymentMethod, TokenizeQuery, TokenizeRequest, TokenizeResponse, TokenizeTransaction,
    VaultedCard,
};
pub use transmit::{TransmitRequest, TransmitResponse};
