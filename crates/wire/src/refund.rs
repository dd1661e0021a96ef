//! `POST /v1/orders/{id}/refund` (flexfactor-api.md §6). `amountToRefund` is the API's one
//! decimal-dollars field: [`DollarAmount`] converts it to and from integer cents exactly,
//! without ever going through a float.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::Cents;

/// An amount written on the wire as a JSON number in major units (`19.99`) and held as
/// exact integer cents.
///
/// Serializing writes the digits of [`Cents::to_major_units_string`] verbatim (a raw JSON
/// value, so `1999` cents is the JSON number `19.99`, never `19.990000000000002`).
/// Deserializing reads the JSON number's text: at most two non-zero decimal places
/// (`19.990` is accepted, `19.999` rejected), exponents are honoured (`1.999e1`), strings
/// are rejected. Works with `serde_json`'s serializer and deserializers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct DollarAmount(pub Cents);

impl DollarAmount {
    pub fn cents(self) -> Cents {
        self.0
    }

    /// Parses the text of a JSON number into exact cents.
    ///
    /// # Errors
    /// A message when `text` is not a JSON number, has more than two (non-zero) decimal
    /// places, or does not fit in `i64` cents.
    pub fn parse_json_number(text: &str) -> Result<DollarAmount, String> {
        let text = text.trim();
        let not_number = || format!("'{text}' is not a JSON number");
        let (negative, rest) = match text.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(i) => {
                let exp_text = rest.get(i + 1..).ok_or_else(not_number)?;
                let exp_digits = exp_text.strip_prefix(['+', '-']).unwrap_or(exp_text);
                if exp_digits.is_empty() || !exp_digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(not_number());
                }
                let exp: i64 = exp_text.parse().map_err(|_| "exponent out of range".to_string())?;
                (rest.get(..i).ok_or_else(not_number)?, exp)
            }
            None => (rest, 0),
        };
        let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits_ok = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty()
            || !digits_ok(int_part)
            || !digits_ok(frac_part)
            || (mantissa.contains('.') && frac_part.is_empty())
            || (int_part.len() > 1 && int_part.starts_with('0'))
        {
            return Err(not_number());
        }
        // value = digits × 10^(exponent − frac_len); cents = digits × 10^(shift).
        let digits = format!("{int_part}{frac_part}");
        let frac_len = i64::try_from(frac_part.len()).map_err(|_| not_number())?;
        let shift = exponent.saturating_sub(frac_len).saturating_add(2);
        let too_big = || format!("'{text}' is too large");
        let mut kept: &str = digits.trim_start_matches('0');
        if shift < 0 {
            let drop = usize::try_from(shift.unsigned_abs()).map_err(|_| too_big())?;
            let cut = kept.len().saturating_sub(drop);
            let (head, tail) = kept.split_at(cut);
            if tail.bytes().any(|b| b != b'0') {
                return Err(format!("'{text}' has more than two decimal places"));
            }
            kept = head;
        }
        let mut cents: i64 = 0;
        for b in kept.bytes() {
            cents = cents.checked_mul(10).and_then(|c| c.checked_add(i64::from(b - b'0'))).ok_or_else(too_big)?;
        }
        if shift > 0 && cents != 0 {
            let factor = u32::try_from(shift).ok().and_then(|s| 10_i64.checked_pow(s)).ok_or_else(too_big)?;
            cents = cents.checked_mul(factor).ok_or_else(too_big)?;
        }
        Ok(DollarAmount(Cents(if negative { -cents } else { cents })))
    }
}

impl std::fmt::Display for DollarAmount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.to_major_units_string())
    }
}

impl From<Cents> for DollarAmount {
    fn from(c: Cents) -> Self {
        DollarAmount(c)
    }
}

impl Serialize for DollarAmount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let raw = RawValue::from_string(self.0.to_major_units_string()).map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for DollarAmount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(d)?;
        DollarAmount::parse_json_number(raw.get()).map_err(serde::de::Error::custom)
    }
}

/// The body of `POST /orders/{id}/refund`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RefundRequest {
    /// Decimal **dollars** on the wire, exact cents here.
    pub amount_to_refund: DollarAmount,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_message: Option<String>,
    /// Legacy sample-client fields; not needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_partial_refund: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

/// The answer: envelope (`status` SUCCESS | FAILED) plus `responseCode` (e.g. `"2001"`:
/// amount exceeds the refundable amount), `responseMessage` and `transactionId`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RefundResponse {
    pub success: Option<bool>,
    pub result: Option<String>,
    pub status: Option<String>,
    pub status_code: Option<String>,
    pub response_code: Option<String>,
    pub response_message: Option<String>,
    pub transaction_id: Option<String>,
    /// Business errors: C# value tuples (see [`ErrorTuple`]); kept raw for leniency.
    pub errors: Vec<serde_json::Value>,
    pub custom_properties: BTreeMap<String, String>,
}

impl RefundResponse {
    /// The `errors` entries that have the value-tuple shape.
    pub fn error_tuples(&self) -> Vec<ErrorTuple> {
        self.errors.iter().filter_map(|e| serde_json::from_value(e.clone()).ok()).collect()
    }
}

/// A business error `{item1: message, item2: code, item3: code, item4: bool}`
/// (`StringStringStringBooleanValueTuple`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ErrorTuple {
    pub item1: Option<String>,
    pub item2: Option<String>,
    pub item3: Option<String>,
    pub item4: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<i64, String> {
        DollarAmount::parse_json_number(s).map(|d| d.0 .0)
    }

    #[test]
    fn cents_serialize_as_exact_dollar_numbers() {
        let r = RefundRequest { amount_to_refund: DollarAmount(Cents(1999)), ..Default::default() };
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"amountToRefund":19.99}"#);
        assert_eq!(serde_json::to_string(&DollarAmount(Cents(30))).unwrap(), "0.30");
        assert_eq!(serde_json::to_string(&DollarAmount(Cents(5))).unwrap(), "0.05");
        assert_eq!(serde_json::to_value(DollarAmount(Cents(1999))).unwrap(), serde_json::json!(19.99));
    }

    #[test]
    fn dollar_numbers_parse_to_exact_cents() {
        assert_eq!(parse("19.99"), Ok(1999));
        assert_eq!(parse("0.3"), Ok(30));
        assert_eq!(parse("0.30"), Ok(30));
        assert_eq!(parse("19.990"), Ok(1999));
        assert_eq!(parse("20"), Ok(2000));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("-2.5"), Ok(-250));
        assert_eq!(parse("1.999e1"), Ok(1999));
        assert_eq!(parse("1999E-2"), Ok(1999));
        assert_eq!(parse("123456789.01"), Ok(12_345_678_901));
    }

    #[test]
    fn more_than_two_decimals_and_non_numbers_are_rejected() {
        assert!(parse("19.999").is_err());
        assert!(parse("0.30000000000000004").is_err());
        assert!(parse("1e-3").is_err());
        assert!(parse("\"19.99\"").is_err());
        assert!(parse("1.").is_err());
        assert!(parse("01.5").is_err());
        assert!(parse("99999999999999999999").is_err());
        assert!(serde_json::from_str::<RefundRequest>(r#"{"amountToRefund":19.999}"#).is_err());
        assert!(serde_json::from_str::<RefundRequest>(r#"{"amountToRefund":"19.99"}"#).is_err());
    }

    #[test]
    fn sums_of_refunds_never_drift() {
        // 0.1 + 0.2 in floats is 0.30000000000000004; in cents it is exactly 30.
        let a: RefundRequest = serde_json::from_str(r#"{"amountToRefund":0.1}"#).unwrap();
        let b: RefundRequest = serde_json::from_str(r#"{"amountToRefund":0.2}"#).unwrap();
        let sum = Cents(a.amount_to_refund.0 .0 + b.amount_to_refund.0 .0);
        assert_eq!(serde_json::to_string(&DollarAmount(sum)).unwrap(), "0.30");
        for c in [1, 10, 99, 1999, 10_001, 19_999] {
            let text = serde_json::to_string(&DollarAmount(Cents(c))).unwrap();
            assert_eq!(serde_json::from_str::<DollarAmount>(&text).unwrap(), DollarAmount(Cents(c)));
            let via_value: DollarAmount = serde_json::from_value(serde_json::from_str(&text).unwrap()).unwrap();
            assert_eq!(via_value, DollarAmount(Cents(c)));
        }
    }

    #[test]
    fn failed_refund_exposes_code_and_error_tuples() {
        let body = r#"{"success":false,"result":null,"status":"FAILED","statusCode":null,
            "responseCode":"2001","responseMessage":"Amount exceeds maximum refundable amount",
            "transactionId":null,"errors":[{"item1":"Amount exceeds maximum refundable amount",
            "item2":"2001","item3":"2001","item4":false}],"customProperties":{}}"#;
        let r: RefundResponse = serde_json::from_str(body).unwrap();
        assert_eq!(r.response_code.as_deref(), Some("2001"));
        assert_eq!(r.error_tuples()[0].item2.as_deref(), Some("2001"));
    }
}
