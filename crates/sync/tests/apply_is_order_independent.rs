#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

//! Property: applying any permutation, with any duplication, of a set of inputs (webhooks
//! and API snapshots) gives the same mirror.

use chrono::{TimeZone, Utc};
use flexdesk_mirror::{Account, Environment, Mirror, OrderFilter};
use flexdesk_sync::apply_webhook;
use flexfactor_wire::{Cents, WireOrder};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Input {
    Webhook { order: usize, event: &'static str, confirmation: u8 },
    Snapshot { order: usize, status: i32, decision: &'static str, refunded: i64, version: u32 },
}

const EVENTS: [&str; 8] = [
    "order.completed",
    "order.cancelled",
    "order.expired",
    "order.refunded",
    "order.capturerequired",
    "payment.chargeback.received",
    "challenge.presented",
    "challenge.passed",
];
const STATUSES: [(i32, &str); 6] =
    [(0, "SUBMITTED"), (4, "SUBMITTED"), (7, "APPROVED"), (6, "APPROVED"), (2, "DECLINED"), (5, "CAPTUREREQUIRED")];

fn order_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (0..4usize, 0..EVENTS.len(), 0..3u8).prop_map(|(order, e, confirmation)| Input::Webhook {
            order,
            event: EVENTS[e],
            confirmation
        }),
        (0..4usize, 0..STATUSES.len(), 0..2000i64, 0..1000u32).prop_map(|(order, s, refunded, version)| {
            Input::Snapshot { order, status: STATUSES[s].0, decision: STATUSES[s].1, refunded, version }
        }),
    ]
}

fn apply(m: &mut Mirror, input: &Input) {
    match input {
        Input::Webhook { order, event, confirmation } => {
            let body = format!(
                r#"{{"Event":"{event}","TimeStamp":"2026-11-01T10:00:0{confirmation}.000000Z","OrderId":"{}","ConfirmationId":"C{confirmation}","IsTestMode":true,"IsResent":false}}"#,
                order_id(*order)
            );
            apply_webhook(m, "acct", &body, Utc::now(), None).unwrap();
        }
        Input::Snapshot { order, status, decision, refunded, version } => {
            let base = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
            let wire = WireOrder {
                id: order_id(*order),
                status: Some(*status),
                decision: Some((*decision).into()),
                amount: Some(Cents(2000)),
                captured_amount: Some(Cents(2000)),
                refunded_amount: Some(Cents(*refunded)),
                created_on: Some(base),
                // The version orders snapshots; equal versions carry equal data (see dedup below).
                modified_on: Some(base + chrono::Duration::seconds(i64::from(*version))),
                ..Default::default()
            };
            m.apply_orders("acct", &[wire], None).unwrap();
        }
    }
}

/// Everything observable except `changed_state`, which annotates history (which event
/// happened to move the state) and so depends on order by design, `poll` timeline entries for
/// the same reason, and the list order of ties.
fn fingerprint(m: &Mirror) -> Vec<String> {
    let (_, mut rows) = m.list_orders("acct", &OrderFilter { offset: 0, limit: 100, ..Default::default() }).unwrap();
    // Lists break ties (equal creation times here) by arrival in the mirror, which depends on
    // the order of events by design: compare the rows themselves, by FlexFactor id.
    rows.sort_by(|a, b| a.order_session_key.cmp(&b.order_session_key));
    let mut out: Vec<String> = rows.iter().map(|r| format!("{r:?}")).collect();
    for i in 0..4 {
        // `poll` entries record which snapshot changed the row, which depends on arrival order
        // by design (a stale snapshot changes nothing); everything else must not.
        for t in m.timeline("acct", &order_id(i)).unwrap().into_iter().filter(|t| t.kind != "poll") {
            out.push(format!("{} {} {} {:?} {:?}", order_id(i), t.at, t.kind, t.state_hint, t.payload.is_some()));
            if t.kind == "evaluate" {
                // The evaluate result: the decision of the oldest copy, whatever came first.
                out.push(t.summary);
            }
        }
    }
    let mut drift: Vec<String> =
        m.drift("acct").unwrap().iter().map(|d| format!("{} {}", d.order_session_key, d.kind)).collect();
    drift.sort();
    out.extend(drift);
    out
}

fn fresh() -> Mirror {
    let m = Mirror::open_in_memory().unwrap();
    m.insert_account(&Account {
        id: "acct".into(),
        name: "t".into(),
        environment: Environment::Sandbox,
        base_url: "http://x/v1".into(),
        mid: "m".into(),
        app_key: "k".into(),
        demo_seed: None,
        demo_anchor: None,
        created_at: Utc::now(),
    })
    .unwrap();
    m
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn any_permutation_and_duplication_of_events_gives_the_same_mirror(
        mut inputs in prop::collection::vec(input(), 1..24),
        shuffle_seed in any::<u64>(),
        dup_mask in prop::collection::vec(any::<bool>(), 24),
    ) {
        // Two snapshots of one order with one version must be the same snapshot.
        let mut seen = std::collections::HashSet::new();
        inputs.retain(|i| match i {
            Input::Snapshot { order, version, .. } => seen.insert((*order, *version)),
            Input::Webhook { .. } => true,
        });
        let mut reference = fresh();
        for i in &inputs {
            apply(&mut reference, i);
        }
        let mut shuffled: Vec<Input> = inputs.clone();
        for (i, dup) in dup_mask.iter().enumerate() {
            if *dup && i < inputs.len() {
                shuffled.push(inputs[i].clone());
            }
        }
        let mut rng = shuffle_seed;
        for i in (1..shuffled.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (rng >> 33) as usize % (i + 1));
        }
        let mut other = fresh();
        for i in &shuffled {
            apply(&mut other, i);
        }
        prop_assert_eq!(fingerprint(&reference), fingerprint(&other));
    }
}
