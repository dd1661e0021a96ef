//! The deterministic order history a sandbox starts with.
//!
//! A pure function of `(seed, order_count, history_days, anchor)`: no wall clock, no thread
//! RNG. A ChaCha8 stream seeded from `seed` hands each order a 64-bit seed for its own
//! SplitMix64 stream (ChaCha8 compiled without optimisation, as in test builds, was half
//! the seeding time). So order `i` depends only on `(seed, i)` and the window, except for
//! the rare re-draw of a colliding `externalOrderId`. All timestamps are whole milliseconds.

use std::collections::HashSet;

use chrono::{DateTime, Datelike, Timelike, Utc};
use flexfactor_wire::{Cents, WireOrder};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::lifecycle::{between, weighted, Fate, Situation};
use crate::people::{pick, Country, Shopper};
use crate::SandboxConfig;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

/// Salt for the site ids, so they do not depend on `order_count`.
const SITE_SALT: u64 = 0x5349_5445_5f53_414c;
/// How much busier the newest day is than the oldest (linear ramp).
const RAMP: f64 = 0.6;
/// Relative activity per UTC hour: CIT follows North American shoppers...
const CIT_HOURS: [u32; 24] = [8, 7, 5, 3, 2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 7, 8, 9, 9, 9, 9, 9];
/// ...MIT follows the merchants' early-morning rebill runs.
const MIT_HOURS: [u32; 24] = [2, 2, 2, 2, 3, 6, 10, 10, 9, 7, 4, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2];

const CIT_DECLINE_CODES: &[(&str, u32)] =
    &[("05", 30), ("51", 20), ("14", 6), ("54", 8), ("61", 5), ("65", 4), ("91", 5), ("203", 7), ("NSF", 3)];
const MIT_DECLINE_CODES: &[(&str, u32)] =
    &[("51", 35), ("NSF", 15), ("05", 20), ("54", 10), ("61", 6), ("65", 4), ("91", 5), ("14", 2), ("203", 3)];
const CARD_BINS: &[(&str, u32)] = &[
    ("411111", 20),
    ("424242", 15),
    ("400000", 8),
    ("431940", 6),
    ("451015", 6),
    ("510510", 10),
    ("555555", 8),
    ("545454", 6),
    ("222300", 6),
    ("378282", 8),
    ("601100", 7),
];
/// Subscription price points, in cents.
const MIT_PRICES: &[(i64, u32)] = &[
    (499, 5),
    (999, 20),
    (1499, 15),
    (1999, 20),
    (2499, 8),
    (2999, 12),
    (3999, 6),
    (4999, 6),
    (7999, 3),
    (9999, 3),
    (14999, 1),
    (19999, 1),
];
/// Crockford base32: no I, L, O, U, so ids read unambiguously.
const BASE32: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Orders seeded first, one per story, so every status (and both CIT and MIT) appears in any
/// history of at least this many orders: (is MIT, fate, must be recent).
const SHOWCASE: &[(bool, Fate, bool)] = &[
    (false, Fate::Approved, false),
    (false, Fate::Declined, false),
    (true, Fate::InProgress, true),
    (true, Fate::Submitted, true),
    (false, Fate::AwaitingCapture, true),
    (false, Fate::Returned, false),
    (false, Fate::OnHold, false),
    (true, Fate::Problem, false),
    (false, Fate::ChallengePending, true),
    (false, Fate::PartiallyRefunded, false),
];

/// The seeded history for `config`: exactly `order_count` orders, pure and deterministic.
pub fn seed_history(config: &SandboxConfig) -> Vec<WireOrder> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let anchor = config.anchor.timestamp_millis();
    let span = i64::from(config.history_days.max(1)) * DAY;
    let mut gen = Generator {
        anchor,
        start: anchor - span,
        sites: site_ids(config.seed),
        external_ids: HashSet::with_capacity(config.order_count),
    };
    (0..config.order_count)
        .map(|i| {
            let mut order_rng = SplitMix64(rng.next_u64());
            gen.order(&mut order_rng, i, SHOWCASE.get(i).copied())
        })
        .collect()
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast even unoptimised, and good enough for
/// made-up data. Not for anything secret.
struct SplitMix64(u64);

impl RngCore for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// The 2 or 3 site GUIDs of the merchant, derived from the seed alone.
pub fn site_ids(seed: u64) -> Vec<String> {
    let mut rng = SplitMix64(ChaCha8Rng::seed_from_u64(seed ^ SITE_SALT).next_u64());
    let count = rng.gen_range(2..=3);
    (0..count).map(|_| guid(&mut rng)).collect()
}

struct Generator {
    anchor: i64,
    start: i64,
    sites: Vec<String>,
    external_ids: HashSet<String>,
}

impl Generator {
    fn order(&mut self, rng: &mut SplitMix64, index: usize, forced: Option<(bool, Fate, bool)>) -> WireOrder {
        let is_mit = forced.map_or_else(|| rng.gen_bool(0.4), |(mit, _, _)| mit);
        let recent = forced.is_some_and(|(_, _, recent)| recent);
        let created = if recent {
            between(rng, (self.anchor - 36 * HOUR).max(self.start), self.anchor)
        } else {
            self.created_on(rng, is_mit)
        };
        let placed =
            if is_mit { created - rng.gen_range(5 * MINUTE..6 * HOUR) } else { created - rng.gen_range(1_000..8_000) };
        let expiry = is_mit.then(|| placed + rng.gen_range(14..=28) * DAY);
        let situation =
            Situation { is_mit, age_ms: self.anchor - created, open: expiry.is_some_and(|e| e > self.anchor) };
        let fate = forced.map_or_else(|| Fate::draw(rng, situation), |(_, fate, _)| fate);
        let modified = fate.modified_on(rng, is_mit, created, expiry, self.anchor);

        let country = if rng.gen_bool(0.04) { Country::Canada } else { Country::UnitedStates };
        let (currency, symbol) = match country {
            Country::Canada => ("CAD", "CA$"),
            Country::UnitedStates => ("USD", "$"),
        };
        let amount = if is_mit { Cents(weighted(rng, MIT_PRICES).unwrap_or(1999)) } else { Cents(cit_amount(rng)) };
        let (captured, refunded) = fate.money(rng, amount);
        let shopper = Shopper::generate(rng, country);
        let shipping = (!is_mit && rng.gen_bool(0.7)).then(|| shopper.address.clone());
        let codes = if is_mit { MIT_DECLINE_CODES } else { CIT_DECLINE_CODES };
        let site = match self.sites.len() {
            3 => weighted(rng, &[(0usize, 60), (1, 30), (2, 10)]),
            _ => weighted(rng, &[(0usize, 70), (1, 30)]),
        }
        .and_then(|i| self.sites.get(i).cloned());
        let external_id = self.external_id(rng, index, is_mit, placed);

        WireOrder {
            id: guid(rng),
            external_order_id: Some(external_id),
            correlation_id: Some(guid(rng)),
            reference_number: Some(code(rng, 10)),
            status: Some(fate.status().code()),
            status_name: Some(fate.status().name().to_string()),
            decision: Some(fate.decision(is_mit).as_str().to_string()),
            is_mit: Some(is_mit),
            order_placed_date: Some(at(placed)),
            created_on: Some(at(created)),
            modified_on: Some(at(modified)),
            expiry_date: expiry.map(at),
            amount: Some(amount),
            captured_amount: Some(captured),
            refunded_amount: Some(refunded),
            currency_code: Some(currency.to_string()),
            currency_symbol: Some(symbol.to_string()),
            first_name: Some(shopper.first_name),
            last_name: Some(shopper.last_name),
            email: Some(shopper.email),
            secondary_email: Some(shopper.secondary_email),
            phone: Some(shopper.phone),
            billing_address: Some(shopper.address),
            shipping_address: shipping,
            site_id: site,
            decline_code: weighted(rng, codes).map(str::to_string),
            card_bin: weighted(rng, CARD_BINS).map(str::to_string),
            card_last4: Some(format!("{:04}", rng.gen_range(0..10_000))),
            raw: Default::default(),
        }
    }

    /// A `createdOn` in `[start, anchor]`: linearly busier towards the anchor, shaped by the
    /// hour of day (rejection sampling, bounded; the last candidate wins).
    fn created_on(&self, rng: &mut SplitMix64, is_mit: bool) -> i64 {
        let hours = if is_mit { &MIT_HOURS } else { &CIT_HOURS };
        let span = (self.anchor - self.start) as f64;
        let mut t = self.anchor;
        for _ in 0..8 {
            let u: f64 = rng.gen();
            let x = ((1.0 + RAMP * (2.0 + RAMP) * u).sqrt() - 1.0) / RAMP;
            t = self.start + (x * span) as i64;
            let hour = at(t).hour() as usize;
            let weight = hours.get(hour).copied().unwrap_or(10);
            if rng.gen_range(0..10) < weight {
                break;
            }
        }
        t.clamp(self.start, self.anchor)
    }

    /// `WEB-20261015-004213` (CIT, date of the order) or `SUB-8F3K2-0007` (MIT: subscription
    /// and rebill cycle). Unique across the history.
    fn external_id(&mut self, rng: &mut SplitMix64, index: usize, is_mit: bool, placed: i64) -> String {
        let date = at(placed);
        for _ in 0..16 {
            let candidate = if is_mit {
                format!("SUB-{}-{:04}", code(rng, 5), rng.gen_range(1..=36))
            } else {
                format!("WEB-{:04}{:02}{:02}-{:06}", date.year(), date.month(), date.day(), rng.gen_range(0..1_000_000))
            };
            if self.external_ids.insert(candidate.clone()) {
                return candidate;
            }
        }
        // Practically unreachable; the index makes it unique by construction.
        let fallback = format!("{}-X{index}", if is_mit { "SUB" } else { "WEB" });
        self.external_ids.insert(fallback.clone());
        fallback
    }
}

/// A checkout total: mostly $15–$120, some small, a few near the sandbox ceiling.
fn cit_amount(rng: &mut SplitMix64) -> i64 {
    match rng.gen_range(0..10) {
        0 | 1 => rng.gen_range(11..1_500),
        2 => rng.gen_range(12_000..=19_999),
        _ => rng.gen_range(1_500..12_000),
    }
}

/// A GUID from the stream (RFC 4122 v4 layout), lowercase.
fn guid(rng: &mut SplitMix64) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    uuid::Builder::from_random_bytes(bytes).into_uuid().to_string()
}

/// `len` Crockford base32 characters.
fn code(rng: &mut SplitMix64, len: usize) -> String {
    (0..len).map(|_| char::from(pick(rng, BASE32.as_slice()))).collect()
}

fn at(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}
