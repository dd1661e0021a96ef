//! A local, deterministic stand-in of the FlexFactor REST API, for tests, demos and
//! development without credentials (`shared/flexfactor-api.md`, §15).
//!
//! What it does: serves every documented endpoint (`oauth2/token`, `tokenize`,
//! `evaluate` CIT/Managed MIT/Sync MIT, `transmit`, `orders`, `orders/{id}`, `refund`,
//! `cancel`, `external-cancel`, `capture`, `outcome`) over an in-memory, seeded order
//! history plus the orders `/evaluate` creates, with the JSON shapes of `flexfactor-wire`;
//! delivers signed webhooks; injects faults; runs a virtual clock, an optional live
//! traffic generator and a demo checkout page. Tests start it on port 0
//! ([`Sandbox::start`]) or drive [`router`] directly.
//!
//! SFTP: [`Sandbox::start_sftp`] adds an inbound/outbound folder pair that processes
//! uploaded batch files through `/evaluate` and writes response files (see `sftp`).
//!
//! What it deliberately does not do: payouts (`payout.*` events), a refresh-token
//! endpoint, HTTPS webhook targets (plain `http://` only). No persistence: every start
//! re-seeds. It never depends on the client or the store crates, and has no HMAC code of
//! its own (signing is `flexfactor_wire::webhook::sign`).
//!
//! # Invariants
//! * [`seed_history`] is a pure function of `(seed, order_count, history_days, anchor)`:
//!   a ChaCha8 stream seeded from `seed` gives each order the seed of its own SplitMix64
//!   stream (fast even in unoptimised test builds); no wall clock, no thread RNG.
//!   Timestamps are whole milliseconds, all in `[anchor - history_days, anchor]` except
//!   `orderPlacedDate` (up to 6 h before `createdOn`) and `expiryDate`.
//! * Listing is a total order: the sort key, then `id`; `sort=desc` reverses both, so the
//!   descending listing is exactly the ascending one reversed. Paging never repeats or
//!   skips an order while the data is unchanged.
//! * Secrets never reach a log; `SandboxCredentials`' `Debug` redacts the secret.
//!
//! # HTTP behaviour (INFERRED where the docs are silent)
//! * Token: body must be declared JSON (`Content-Type` containing `json`), else 415.
//!   Property names bind case-insensitively (`AppKey`, `appKey`, `APPKEY`). 200 body:
//!   `accessToken` (opaque 64 hex chars, not a JWT), `refreshToken` (random, not
//!   redeemable), `expires` = now + ttl in epoch ms, `id` (API-client GUID, stable per
//!   AppKey), `success:true` and the null/empty envelope fields the live service sends.
//!   Wrong credentials: 400 ProblemDetails, title "Invalid AppKey or AppSecret.",
//!   `errors.AppKey = ["Invalid credentials"]`. Malformed JSON: 400 with `errors["$"]`;
//!   missing field: 400 with `errors.AppKey`/`errors.AppSecret`.
//! * 401 (no, unknown, expired or revoked token): **empty body** plus
//!   `WWW-Authenticate: Bearer` (`error="invalid_token"` for a bad token), as ASP.NET's
//!   JWT handler does. The token endpoint itself needs no token.
//! * Errors are `application/problem+json` `{status,title,traceId:"00-<32hex>-<16hex>-01",
//!   errors:{field:[msg]}}`. Unknown paths: 404 with an empty body.
//! * `GET /orders`: keys case-insensitive; `status` repeatable (ints only); `from`
//!   inclusive / `to` exclusive on `createdOn` (RFC 3339, offset-less = UTC, or a bare
//!   date); `mid` other than the sandbox's matches nothing; `orderBy` one of createdOn
//!   (default), amount, orderPlacedDate, modifiedOn; `sort` asc (default) / desc;
//!   `pageSize` default 10, clamped to `[1, max_page_size]`; `pageNumber` 1-based, values
//!   below 1 count as 1, past the end give an empty page. Non-numeric numbers, bad dates,
//!   unknown `orderBy`/`sort`: 400 naming each field. Paging fields follow X.PagedList
//!   exactly (`pageCount` 0 and `lastItemOnPage` 0 for an empty result).
//!   `additionalAttributes.statuses` maps "0".."7" to the docs' names.
//! * `POST /sandbox/faults` (bearer token; sandbox only, not FlexFactor's API): sets the
//!   fault switches from outside, e.g. for end-to-end tests of the Demo account.
//! * `GET /orders/{id}`: case-insensitive id; unknown → 404 ProblemDetails (`errors.id`).
//!
//! # Decisions and lifecycle (INFERRED where the docs are silent; all configurable)
//! * Rules ([`DecisionRule`], first match wins, fallback Approve): CIT 4111… → CHALLENGE;
//!   4000002760003184 → APPROVED; 4000300011112220 → DECLINED; a Decline beats
//!   `transactionType: AUTHORIZATION` (any case), which otherwise gives CAPTUREREQUIRED.
//! * CIT APPROVED → 7 Completed (`order.completed`); DECLINED → 2 Cancelled (no event);
//!   CHALLENGE → 4 Processing + `challenge.presented`, then `challenge.attempted` after
//!   `challenge_step` (5 min) and `challenge.passed` + Completed (or `challenge.failed` +
//!   Cancelled/DECLINED) after two steps, or at once via [`Sandbox::resolve_challenge`].
//! * Managed MIT (`isMIT` + `expiryDateUtc`): SUBMITTED, 0 Draft → 4 Processing after 1 h
//!   → Completed after 3 days when rescuable and before expiry, else 2 Cancelled with
//!   decision EXPIRED at `expiryDateUtc` (`order.expired`). Retries with the same merchant
//!   `orderId` return the same order and SUBMITTED while open.
//! * Sync MIT (no `expiryDateUtc`): APPROVED/DECLINED at once, or PROCESSING (card 4111…)
//!   → Completed after 3 days; its end is now + 14 days. Every retry with the same
//!   `orderId` answers the current word (PROCESSING, APPROVED, EXPIRED…).
//! * CAPTUREREQUIRED → 5 (`order.capturerequired`); auto-void to 2 Cancelled/CANCELLED
//!   after `capture_window` (7 days) with `order.cancelled`.
//! * Virtual clock: `clock_start: Some(t)` freezes time at `t` (tests; moves only on
//!   [`Sandbox::advance_clock`]); `None` runs with wall time + advanced offset, applying
//!   due steps every second. Seeded orders never move on their own.
//! * `/evaluate`: required set configurable ([`default_evaluate_required`], or
//!   [`strict_2024_evaluate_required`]); keys bind case-insensitively; missing fields and
//!   type errors are 400 with dotted PascalCase paths (`Transaction.Amount`); amount must
//!   be > 10 and < 20000 cents; a `mid` other than the sandbox's is 400 `Mid`; a token
//!   (`paymentMethod.token: true`) must come from `/tokenize`, else 400
//!   `PaymentMethod.CardNumber`. Response: envelope + `orderSessionKey` = `orderId`.
//! * `/tokenize`: bearer optional (ignored); `mid` must be the sandbox's and
//!   `environment` its tokenization key ([`Sandbox::tokenization_key`]), else 400; card
//!   number must pass Luhn; `first_six_digits` holds 8 digits, as recorded.
//! * Refund: HTTP 200 with `success:false, status:"FAILED"` for business failures —
//!   `2001` when the amount exceeds captured − refunded, `2002` when the order is not
//!   Completed/Returned; 400 for a bad `amountToRefund` (> 2 decimals, a string, ≤ 0); 404
//!   unknown order. A partial refund keeps 7 Completed and grows `refundedAmount`; the
//!   refund reaching `capturedAmount` makes 6 Returned. Several partial refunds are
//!   allowed (no per-order dedupe). Each emits `order.refunded` (EventData: TransactionId,
//!   Amount and TotalRefunded in cents, Currency) and lands in [`Sandbox::refunds`].
//! * Cancel / external-cancel: MIT Draft/Processing/CAPTUREREQUIRED and CIT
//!   CAPTUREREQUIRED → 2 Cancelled/CANCELLED, 200 empty body, `order.cancelled`; an order
//!   already cancelled by the merchant → 200 again; anything else → **400**
//!   ProblemDetails `errors.Status` (not 409, which means idempotency conflict); unknown
//!   → 404. External-cancel matches the newest order with that merchant `orderId`.
//! * Capture: CAPTUREREQUIRED only, amount ≤ order amount, same currency; 200 with
//!   `status` = `captureStatus` = SUCCESS/FAILED; success → Completed, `capturedAmount` =
//!   the captured amount, `order.completed`. `/outcome`: Completed/Returned → APPROVED,
//!   Cancelled → its decision, Draft → SUBMITTED, open → PROCESSING, unknown → 200
//!   NOTFOUND; `confirmationId` = 6 hex derived from the id. `/transmit`: requires
//!   `OrderId` and `Transaction`; `status: 0`, `transmitId`.
//! * Idempotency (evaluate, capture, cancel with a key): keyed by (mid, endpoint, key);
//!   same payload within 24 h virtual → stored answer replayed (`x-idempotent-replay`);
//!   different payload or still in flight → 409 ProblemDetails `errors.IdempotencyKey`.
//!   Only answers < 400 are stored. Cancel and external-cancel share one scope.
//!   Replays are not evaluations ([`Sandbox::evaluations`]).
//! * Webhooks: PascalCase payload as `text/plain`, x-fc-* headers from
//!   `flexfactor_wire::webhook::sign`, host = target URL authority, `x-fc-date` wall
//!   time, `TimeStamp` virtual time, `ConfirmationId` 8 hex per event (kept on retries
//!   and duplicates). Retries: exponential backoff from `retry_base`, `IsResent: true`.
//! * Faults ([`Faults`]) apply to `/v1/*` only, drawn from a seeded stream: 500/503
//!   ProblemDetails, latency, 429 + `Retry-After`, dropped connection (socket closed, no
//!   bytes), commit-then-drop. `processing_delay` widens the in-flight window; `max_hits`
//!   faults only the next N requests.
//! * Demo checkout: `GET /checkout`, `GET /widget.js`, `POST /checkout/session` (sandbox
//!   only: a bearer token for the first configured credentials + MID + tokenization key).
//!
//! # Seeded history (all INFERRED)
//! * ~60 % CIT, ~40 % MIT; `createdOn` linearly busier towards the anchor (newest day
//!   1.6× the oldest), CIT by North American shopping hours, MIT by morning rebill runs.
//! * CIT: `orderPlacedDate` 1–8 s before `createdOn`, `externalOrderId`
//!   `WEB-<yyyymmdd>-<6 digits>`, free amounts 11–19,999 cents, 70 % with a shipping
//!   address. MIT: `orderPlacedDate` 5 min–6 h before `createdOn`, `expiryDate` =
//!   `orderPlacedDate` + 14–28 days, `externalOrderId` `SUB-<5 base32>-<cycle>`,
//!   subscription price points, no shipping address. `externalOrderId` is unique.
//! * Lifecycle → (status, decision):
//!   rescued → 7 Completed APPROVED (≈45 % overall; a few % with a partial
//!   `refundedAmount`); refunded → 6 Returned APPROVED (`refundedAmount = capturedAmount`);
//!   not rescuable → 2 Cancelled DECLINED; MIT whose window lapsed → 2 Cancelled EXPIRED
//!   (`modifiedOn = expiryDate`); MIT cancelled by the merchant → 2 Cancelled CANCELLED;
//!   MIT not yet picked up (created < 2 days ago) → 0 Draft SUBMITTED; MIT being worked
//!   (only while `expiryDate` > anchor) → 4 Processing SUBMITTED; CIT challenge still open
//!   (created < 2 days ago) → 4 Processing CHALLENGE; auth+capture awaiting `/capture`
//!   (created < 7 days ago) → 5 CaptureRequired CAPTUREREQUIRED; rare 1 Onhold and
//!   3 Problem (decision SUBMITTED for MIT, APPROVED for CIT). `statusName` is the docs'
//!   mapping-table name ("Onhold", "Capturerequired").
//! * `capturedAmount` = `amount` for Completed/Returned, else 0; `refundedAmount` 0 unless
//!   refunded. `modifiedOn` is the last event (decision, rescue, refund, expiry), in
//!   `[createdOn, anchor]`.
//! * The first ten orders are one of each story (forced), so any history of ≥ 10 orders
//!   has every status code 0–7 and both CIT and MIT.
//! * ~4 % Canadian shoppers (`CAD`, symbol `CA$`, Canadian address); others `USD`/`$`.
//!   Names from built-in lists, e-mail on `example.com/.net/.org`, phones in the
//!   fictional `+1 <area> 555-01xx` range. 2–3 site GUIDs and the MID derive from the seed.

mod admin;
mod auth;
mod cancel;
mod capture;
mod checkout;
mod clock;
mod config;
mod engine;
mod error;
mod evaluate;
mod faults;
mod idempotency;
mod ledger;
mod lifecycle;
mod operator;
mod order_book;
mod orders;
mod outcome;
mod people;
mod problem;
mod refund;
mod rules;
mod seed;
mod server;
mod sftp;
mod state;
mod tokenize;
mod traffic;
mod validation;
mod webhooks;

pub use clock::{Clock, SystemClock, VirtualClock};
pub use config::{derive_mid, derive_tokenization_key, SandboxConfig, SandboxCredentials};
pub use engine::VaultedCard;
pub use error::SandboxError;
pub use faults::Faults;
pub use idempotency::REPLAY_HEADER;
pub use ledger::{EvaluationRecord, RefundRecord, SandboxEvent, TransmitRecord};
pub use orders::DEFAULT_PAGE_SIZE;
pub use refund::{CODE_EXCEEDS_REFUNDABLE, CODE_NOT_REFUNDABLE};
pub use rules::{default_evaluate_required, strict_2024_evaluate_required, DecisionRule, RuleOutcome, Timing};
pub use seed::{seed_history, site_ids};
pub use server::{router, Sandbox};
pub use sftp::{SftpConfig, SftpEndpoint};
pub use state::SandboxState;
pub use webhooks::{DeliveryRecord, WebhookSettings, WebhookTarget};
