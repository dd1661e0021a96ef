//! Each order's API JSON, stored compressed against a per-mirror dictionary.
//!
//! A FlexFactor order's JSON is mostly the same keys in the same order (`"externalOrderId":`,
//! `"capturedAmount":` …); only the values differ. LZ4 with a dictionary that holds those keys
//! stores a typical order in about a quarter of its text (measured in BENCHMARKS.md), so a
//! 1M-order mirror writes hundreds of MB less, and the order's exact bytes are still kept
//! (nothing the API sent is lost; [`unpack`] gives the text back byte for byte).
//!
//! The dictionary is the *skeleton* of the first order the mirror stored: its text with every
//! string value emptied (`"email":""`) except codes and timestamps, so it carries the API's
//! keys, punctuation, layout and common values but no customer's data. It lives in `json_dicts` and never changes; a row names the dictionary it
//! was packed with (`order_json.dict_id`), and a row with no dictionary holds plain text (rows
//! written before migration 0010). Packing is deterministic: the same text and dictionary give
//! the same bytes, so the apply's "unchanged record" test still compares stored bytes.

use crate::error::MirrorError;

/// Longest dictionary kept: LZ4 matches reach back 64 KiB; an order's keys fit in far less.
const MAX_DICT: usize = 16 * 1024;

/// The skeleton of a JSON text: the same text with every string *value* emptied (object
/// keys are kept), except codes and timestamps (see [`is_code_or_time`]). Not a validating parser: text that is not JSON still gives some bytes,
/// which only makes a worse dictionary, never a wrong result.
pub fn skeleton(json: &str) -> Vec<u8> {
    #[derive(Clone, Copy, PartialEq)]
    enum Container {
        Object,
        Array,
    }
    let bytes = json.as_bytes();
    let mut out = Vec::with_capacity(bytes.len().min(MAX_DICT));
    let mut stack: Vec<Container> = Vec::new();
    // In an object, the next string is a key until a ':' is seen, then a value until ','.
    let mut expecting_key = false;
    let mut i = 0;
    while i < bytes.len() && out.len() < MAX_DICT {
        let b = bytes[i];
        match b {
            b'"' => {
                // Find the closing quote, skipping escaped characters.
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(bytes.len().saturating_sub(1));
                let is_key = stack.last() == Some(&Container::Object) && expecting_key;
                if is_key || is_code_or_time(&bytes[i + 1..end.max(i + 1)]) {
                    out.extend_from_slice(&bytes[i..=end]);
                } else {
                    out.extend_from_slice(b"\"\"");
                }
                i = end + 1;
                continue;
            }
            b'{' => {
                stack.push(Container::Object);
                expecting_key = true;
            }
            b'[' => {
                stack.push(Container::Array);
                expecting_key = false;
            }
            b'}' | b']' => {
                stack.pop();
                expecting_key = false;
            }
            b':' => expecting_key = false,
            b',' => expecting_key = stack.last() == Some(&Container::Object),
            _ => {}
        }
        out.push(b);
        i += 1;
    }
    out
}

/// A string value the skeleton keeps: a code (`APPROVED`, `USD`) or a timestamp
/// (`2026-08-01T00:00:00Z`). Neither says who a customer is, and orders share much of both.
fn is_code_or_time(value: &[u8]) -> bool {
    let code = !value.is_empty() && value.iter().all(|b| b.is_ascii_uppercase() || *b == b'_');
    let time = value.len() <= 40
        && value.get(..5).is_some_and(|y| y[..4].iter().all(u8::is_ascii_digit) && y[4] == b'-')
        && value.contains(&b'T')
        && value.iter().all(|b| b.is_ascii_digit() || b"-:.TZ+".contains(b));
    code || time
}

/// `json` compressed against `dict` (its length first, so [`unpack`] knows what to expect).
pub fn pack(json: &str, dict: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size_with_dict(json.as_bytes(), dict)
}

/// Appends `json` compressed against `dict` to `out` (the apply's per-batch buffer), in the
/// format [`pack`] returns.
pub(crate) fn pack_into(json: &[u8], dict: &[u8], out: &mut Vec<u8>) -> Result<(), MirrorError> {
    let too_long = || MirrorError::Data {
        op: "storing an order's JSON",
        message: format!("an order's JSON is {} bytes, over the {MAX_RECORD} the mirror keeps", json.len()),
    };
    if json.len() > MAX_RECORD {
        return Err(too_long());
    }
    let start = out.len();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.resize(start + 4 + lz4_flex::block::get_maximum_output_size(json.len()), 0);
    let written = lz4_flex::block::compress_into_with_dict(json, &mut out[start + 4..], dict).map_err(|e| {
        MirrorError::Data { op: "storing an order's JSON", message: format!("compressing it failed: {e}") }
    })?;
    out.truncate(start + 4 + written);
    Ok(())
}

/// Largest JSON text one order may have (the relay's body limit is far below it); a stored
/// length above it can only be damage, and is refused before anything is allocated.
const MAX_RECORD: usize = 32 * 1024 * 1024;

/// The text `packed` was made from.
pub(crate) fn unpack(packed: &[u8], dict: &[u8]) -> Result<String, MirrorError> {
    let damaged = |message: String| MirrorError::Data { op: "reading an order's stored JSON", message };
    let declared = packed.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    if declared.is_none_or(|n| n > MAX_RECORD) {
        return Err(damaged("the stored record is damaged (bad length); re-sync the order to store it again".into()));
    }
    let bytes = lz4_flex::block::decompress_size_prepended_with_dict(packed, dict).map_err(|e| {
        damaged(format!("the stored record does not decompress ({e}); re-sync the order to store it again"))
    })?;
    String::from_utf8(bytes).map_err(|e| damaged(format!("the stored record is not UTF-8 text ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"{"id":"3f1c0a52-9c55-4f7e-b8d3-0a4a1c2f9e61","externalOrderId":"WEB-1001","status":7,"isMIT":false,"amount":12.5,"email":"ada@example.com","billingAddress":{"city":"Paris","lines":["1 rue \"A\"","b"]},"tags":["x","y"],"note":null,"decision":"APPROVED","createdOn":"2026-08-01T00:00:07.250Z"}"#;

    #[test]
    fn the_skeleton_keeps_keys_and_layout_and_drops_every_string_value() {
        let s = String::from_utf8(skeleton(ORDER)).unwrap();
        assert_eq!(
            s,
            r#"{"id":"","externalOrderId":"","status":7,"isMIT":false,"amount":12.5,"email":"","billingAddress":{"city":"","lines":["",""]},"tags":["",""],"note":null,"decision":"APPROVED","createdOn":"2026-08-01T00:00:07.250Z"}"#
        );
        assert!(!s.contains("ada@example.com") && !s.contains("Paris") && !s.contains("WEB-1001"));
    }

    #[test]
    fn the_skeleton_of_text_that_is_not_json_is_still_bounded_bytes() {
        for odd in ["", "\"", "{\"a\":\"unterminated", "]]]}}}", "\\\"", "{\"k\\\"\":1}"] {
            let s = skeleton(odd);
            assert!(s.len() <= odd.len() + 2, "{odd:?} gave {s:?}");
        }
        let long = format!("{{\"k\":[{}0]}}", "1,".repeat(20_000));
        assert!(skeleton(&long).len() <= MAX_DICT);
    }

    #[test]
    fn packing_gives_the_same_text_back_and_the_same_bytes_every_time() {
        let dict = skeleton(ORDER);
        let other = ORDER.replace("ada@example.com", "grace@example.org").replace("1001", "2002");
        for text in [ORDER, other.as_str(), "", "{}", "not json at all ✓"] {
            let packed = pack(text, &dict);
            assert_eq!(unpack(&packed, &dict).unwrap(), text);
            assert_eq!(pack(text, &dict), packed, "packing must be deterministic");
            let mut buf = b"prefix".to_vec();
            pack_into(text.as_bytes(), &dict, &mut buf).unwrap();
            assert_eq!(&buf[6..], packed.as_slice(), "pack_into writes what pack returns");
        }
    }

    #[test]
    fn an_api_order_packs_to_under_a_third_of_its_text_against_another_orders_skeleton() {
        use chrono::TimeZone;
        let order = |i: i64, email: &str| flexfactor_wire::WireOrder {
            id: format!("5b0c{i:04}-7d1e-4c2a-9f3b-{:012x}", i * 7919),
            external_order_id: Some(format!("WEB-{i:08}")),
            status: Some(7),
            decision: Some("APPROVED".into()),
            is_mit: Some(i % 2 == 0),
            amount: Some(flexfactor_wire::Cents(1000 + i)),
            captured_amount: Some(flexfactor_wire::Cents(1000 + i)),
            currency_code: Some("USD".into()),
            email: Some(email.into()),
            first_name: Some("Grace".into()),
            last_name: Some("Hopper".into()),
            card_last4: Some(format!("{:04}", i % 10_000)),
            created_on: chrono::Utc.timestamp_opt(1_790_000_000 + i * 7, 0).single(),
            ..Default::default()
        };
        let dict = skeleton(&serde_json::to_string(&order(1, "ada@example.com")).unwrap());
        let text = serde_json::to_string(&order(987_654, "shopper987654@example.org")).unwrap();
        let packed = pack(&text, &dict);
        assert_eq!(unpack(&packed, &dict).unwrap(), text);
        assert!(packed.len() * 3 < text.len(), "{} bytes packed to {}", text.len(), packed.len());
    }

    #[test]
    fn damaged_bytes_are_an_error_that_says_what_to_do_not_a_panic() {
        let dict = skeleton(ORDER);
        let mut packed = pack(ORDER, &dict);
        packed.truncate(packed.len() / 2);
        let err = unpack(&packed, &dict).unwrap_err().to_string();
        assert!(err.contains("re-sync"), "{err}");
        assert!(unpack(&[0xff, 0xff, 0xff, 0x7f, 1, 2], &dict).unwrap_err().to_string().contains("bad length"));
        assert!(unpack(&[1, 0], &dict).is_err());
    }
}
