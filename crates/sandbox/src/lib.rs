//! A local, deterministic stand-in of the FlexFactor REST API, for tests, demos and
//! development without credentials (`shared/flexfactor-api.md`, §15).
//!
//! What it does: serves `POST /v1/oauth2/token`, `GET /v1/orders` and
//! `GET /v1/orders/{id}` over an in-memory, seeded order history, with the JSON shapes of
//! `flexfactor-wire`. Tests start it on port 0 ([`Sandbox::start`]) or drive
//! [`router`] directly.
//!
//! What it deliberately does not do (yet): `/evaluate`, `/refund`, `/cancel`, `/capture`,
//! webhooks, SFTP, rate limiting, a refresh-token endpoint. No persistence: every start
//! re-seeds. It never depends on the client or the store crates.
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
//! * `GET /orders/{id}`: case-insensitive id; unknown → 404 ProblemDetails (`errors.id`).
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

mod auth;
mod config;
mod error;
mod lifecycle;
mod order_book;
mod orders;
mod people;
mod problem;
mod seed;
mod server;
mod state;

pub use config::{derive_mid, SandboxConfig, SandboxCredentials};
pub use error::SandboxError;
pub use orders::DEFAULT_PAGE_SIZE;
pub use seed::{seed_history, site_ids};
pub use server::{router, Sandbox};
pub use state::SandboxState;
