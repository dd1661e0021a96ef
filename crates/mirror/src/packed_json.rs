//! Each order's API JSON, stored compressed against a per-mirror dictionary.
//!
//! A FlexFactor order's JSON is mostly the same keys in the same order (`"externalOrderId":`,
//! `"capturedAmount":` …); only the values differ. LZ4 with a dictionary that holds those keys
//! stores a typical order in about a third of its text (measured in BENCHMARKS.md), so a
//! 1M-order mirror writes hundreds of MB less, and the order's exact bytes are still kept
//! (nothing the API sent is lost; [`unpack`] gives the text back byte for byte, or an error).
//!
//! The dictionary is the *skeleton* of the first order the mirror stored: its keys and layout,
//! with every number replaced by `0` and every string value emptied except a few codes
//! (decision, currency, status name) and timestamps. So it holds no name, e-mail, card detail,
//! id or amount, and needs no clean-up when an account is removed. It lives in `json_dicts`
//! and never changes; a row names the dictionary it was packed with (`order_json.dict_id`),
//! and a row with no dictionary holds plain text (rows written before migration 0010).
//!
//! Packing is deterministic for a given lz4_flex version (pinned in `Cargo.toml`, and a test
//! checks known bytes), so the apply's "unchanged record" test compares stored bytes.

use crate::error::MirrorError;

/// Longest dictionary kept: an order's keys fit in far less.
const MAX_DICT: usize = 16 * 1024;

/// Keys whose string values the skeleton keeps when they are short: codes many orders share.
const KEPT_CODES: [&[u8]; 3] = [b"decision", b"currencyCode", b"statusName"];

/// Largest JSON text one order may have (the relay's body limit is far below it); a stored
/// length above it can only be damage, and is refused before anything is allocated.
const MAX_RECORD: usize = 32 * 1024 * 1024;

/// The skeleton of a JSON text (see the module documentation): keys, punctuation and layout
/// as they are, numbers as `0`, string values emptied except short codes under
/// [`KEPT_CODES`] and timestamps. Not a validating parser: text that is not JSON still gives
/// at most [`MAX_DICT`] bytes, which only makes a worse dictionary, never a wrong result.
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
    let mut key: &[u8] = b"";
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
                let inner = &bytes[i + 1..end.max(i + 1)];
                let is_key = stack.last() == Some(&Container::Object) && expecting_key;
                if is_key {
                    key = inner;
                }
                let kept_code = KEPT_CODES.contains(&key) && inner.len() <= 32;
                if is_key || kept_code || is_timestamp(inner) {
                    out.extend_from_slice(&bytes[i..=end]);
                } else {
                    out.extend_from_slice(b"\"\"");
                }
                i = end + 1;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                while i < bytes.len() && matches!(bytes[i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                    i += 1;
                }
                out.push(b'0');
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
    out.truncate(MAX_DICT);
    out
}

/// A timestamp as the API writes them (`2026-08-01T00:00:00Z`): orders share most of their
/// characters, and a time alone says nothing of who a customer is.
fn is_timestamp(value: &[u8]) -> bool {
    value.len() <= 40
        && value.get(..5).is_some_and(|y| y[..4].iter().all(u8::is_ascii_digit) && y[4] == b'-')
        && value.contains(&b'T')
        && value.iter().all(|b| b.is_ascii_digit() || b"-:.TZ+".contains(b))
}

/// The dictionary LZ4 is given: lz4_flex cannot use one of under 4 bytes (and would panic on
/// it), so such a dictionary is none, when packing and unpacking alike.
fn usable(dict: &[u8]) -> &[u8] {
    if dict.len() < 4 {
        &[]
    } else {
        dict
    }
}

/// `json` compressed against `dict` (its length first, so [`unpack`] knows what to expect).
pub fn pack(json: &str, dict: &[u8]) -> Result<Vec<u8>, MirrorError> {
    let mut out = Vec::new();
    pack_into(json.as_bytes(), dict, &mut out)?;
    Ok(out)
}

/// Appends `json` compressed against `dict` to `out` (the apply's per-batch buffer), in the
/// format [`pack`] returns.
pub(crate) fn pack_into(json: &[u8], dict: &[u8], out: &mut Vec<u8>) -> Result<(), MirrorError> {
    if json.len() > MAX_RECORD {
        return Err(MirrorError::Data {
            op: "storing an order's JSON",
            message: format!("an order's JSON is {} bytes, over the {MAX_RECORD} the mirror keeps", json.len()),
        });
    }
    let start = out.len();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.resize(start + 4 + lz4_flex::block::get_maximum_output_size(json.len()), 0);
    let written = lz4_flex::block::compress_into_with_dict(json, &mut out[start + 4..], usable(dict)).map_err(|e| {
        MirrorError::Data { op: "storing an order's JSON", message: format!("compressing it failed: {e}") }
    })?;
    out.truncate(start + 4 + written);
    Ok(())
}

/// The text `packed` was made from.
pub(crate) fn unpack(packed: &[u8], dict: &[u8]) -> Result<String, MirrorError> {
    let damaged = |what: String| MirrorError::Data {
        op: "reading an order's stored JSON",
        message: format!("the stored record {what}; re-sync the order to store it again"),
    };
    let Some((length, body)) = packed.split_first_chunk::<4>() else {
        return Err(damaged("is damaged (too short)".into()));
    };
    let declared = u32::from_le_bytes(*length) as usize;
    // LZ4 expands at most about 255 times; a length beyond that can only be damage.
    if declared > MAX_RECORD || declared > body.len().saturating_mul(255).saturating_add(16) {
        return Err(damaged("is damaged (bad length)".into()));
    }
    let bytes = lz4_flex::block::decompress_with_dict(body, declared, usable(dict))
        .map_err(|e| damaged(format!("does not decompress ({e})")))?;
    if bytes.len() != declared {
        return Err(damaged(format!("is damaged (it gives {} of its {declared} bytes)", bytes.len())));
    }
    String::from_utf8(bytes).map_err(|e| damaged(format!("is not UTF-8 text ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORDER: &str = r#"{"id":"3f1c0a52-9c55-4f7e-b8d3-0a4a1c2f9e61","externalOrderId":"WEB-1001","status":7,"isMIT":false,"amount":-12.5e2,"email":"ada@example.com","lastName":"HOPPER","billingAddress":{"city":"Paris","lines":["1 rue \"A\"","b"]},"tags":["x","Y"],"note":null,"decision":"APPROVED","currencyCode":"USD","createdOn":"2026-08-01T00:00:07.250Z"}"#;

    #[test]
    fn the_skeleton_keeps_keys_layout_codes_and_times_and_no_customer_value() {
        let s = String::from_utf8(skeleton(ORDER)).unwrap();
        assert_eq!(
            s,
            r#"{"id":"","externalOrderId":"","status":0,"isMIT":false,"amount":0,"email":"","lastName":"","billingAddress":{"city":"","lines":["",""]},"tags":["",""],"note":null,"decision":"APPROVED","currencyCode":"USD","createdOn":"2026-08-01T00:00:07.250Z"}"#
        );
    }

    #[test]
    fn the_skeleton_of_any_text_is_at_most_max_dict_bytes() {
        for odd in ["", "\"", "{\"a\":\"unterminated", "]]]}}}", "\\\"", "{\"k\\\"\":1}", "-", "1e", "{\"decision\":"] {
            let s = skeleton(odd);
            assert!(s.len() <= odd.len() + 2, "{odd:?} gave {s:?}");
        }
        let many = format!("{{\"k\":[{}0]}}", "\"a\",".repeat(20_000));
        assert_eq!(skeleton(&many).len(), MAX_DICT);
        let long_key = format!("{{\"{}\":1}}", "k".repeat(3 * MAX_DICT));
        assert_eq!(skeleton(&long_key).len(), MAX_DICT);
    }

    #[test]
    fn packing_gives_the_same_text_back_and_pack_into_writes_what_pack_returns() {
        let other = ORDER.replace("ada@example.com", "grace@example.org").replace("1001", "2002");
        // A real skeleton, one too short for LZ4 to use (`{}`: an order sent as `{}` first),
        // and none.
        for dict in [skeleton(ORDER), b"{}".to_vec(), Vec::new()] {
            for text in [ORDER, other.as_str(), "", "{}", "not json at all ✓"] {
                let packed = pack(text, &dict).unwrap();
                assert_eq!(unpack(&packed, &dict).unwrap(), text);
                let mut buf = b"prefix".to_vec();
                pack_into(text.as_bytes(), &dict, &mut buf).unwrap();
                assert_eq!(&buf[6..], packed.as_slice());
            }
        }
    }

    #[test]
    fn packed_bytes_are_the_ones_this_lz4_version_gave_when_it_was_pinned() {
        // The apply tells an unchanged record by its packed bytes: if an lz4_flex update packed
        // the same text differently, every re-listed order would count as changed. Update the
        // pin and these bytes together, knowingly.
        let dict = skeleton(ORDER);
        let packed = pack(r#"{"id":"a-1","decision":"APPROVED","amount":1250}"#, &dict).unwrap();
        let hex: String = packed.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, GOLDEN);
    }
    const GOLDEN: &str = "3000000003f5004f612d31225e000503e000603a313235307d";

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
        let packed = pack(&text, &dict).unwrap();
        assert_eq!(unpack(&packed, &dict).unwrap(), text);
        assert!(packed.len() * 3 < text.len(), "{} bytes packed to {}", text.len(), packed.len());
    }

    #[test]
    fn damaged_bytes_are_an_error_that_says_what_to_do_never_a_shorter_text() {
        let dict = skeleton(ORDER);
        let packed = pack(ORDER, &dict).unwrap();
        // Cut at every length: LZ4 alone accepts some cuts (after a run of literals) and gives a
        // prefix of the text back; the length check turns every one into an error.
        for cut in 0..packed.len() {
            let err = unpack(&packed[..cut], &dict).unwrap_err().to_string();
            assert!(err.contains("re-sync the order"), "cut at {cut}: {err}");
        }
        let err = unpack(&[0xff, 0xff, 0xff, 0x7f, 1, 2], &dict).unwrap_err().to_string();
        assert!(err.contains("bad length"), "{err}");
        // Unpacked against a different dictionary: an error or other bytes, never a panic.
        let _ = unpack(&packed, b"a different dictionary");
    }
}
