//! Lenient field readers for values the docs and the recorded traffic type differently
//! (`timezoneUtcOffset` as `-5` or `"-5"`, `paymentNumber` as `4` or `"4"`).

use serde::{Deserialize, Deserializer};

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrText {
    Int(i64),
    Float(f64),
    Text(String),
    Bool(bool),
}

/// An optional integer given as a JSON number or a numeric string. A non-numeric string or
/// a fractional number is an error; `null` and absence are `None`.
pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<NumOrText>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrText::Int(i)) => Ok(Some(i)),
        Some(NumOrText::Text(s)) if s.trim().is_empty() => Ok(None),
        Some(NumOrText::Text(s)) => {
            s.trim().parse().map(Some).map_err(|_| serde::de::Error::custom(format!("'{s}' is not an integer")))
        }
        Some(NumOrText::Float(f)) => Err(serde::de::Error::custom(format!("{f} is not an integer"))),
        Some(NumOrText::Bool(b)) => Err(serde::de::Error::custom(format!("{b} is not an integer"))),
    }
}

/// An optional string given as a JSON string, number or bool (numbers keep their text).
pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<NumOrText>::deserialize(d)? {
        None => None,
        Some(NumOrText::Int(i)) => Some(i.to_string()),
        Some(NumOrText::Float(f)) => Some(f.to_string()),
        Some(NumOrText::Text(s)) => Some(s),
        Some(NumOrText::Bool(b)) => Some(b.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Probe {
        #[serde(default, deserialize_with = "super::opt_i64")]
        n: Option<i64>,
        #[serde(default, deserialize_with = "super::opt_string")]
        s: Option<String>,
    }

    #[test]
    fn numbers_and_numeric_strings_both_parse() {
        let p: Probe = serde_json::from_str(r#"{"n":"-5","s":4}"#).unwrap();
        assert_eq!(p.n, Some(-5));
        assert_eq!(p.s.as_deref(), Some("4"));
        let p: Probe = serde_json::from_str(r#"{"n":-5,"s":"4"}"#).unwrap();
        assert_eq!(p.n, Some(-5));
        let p: Probe = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!((p.n, p.s), (None, None));
        assert!(serde_json::from_str::<Probe>(r#"{"n":"abc"}"#).is_err());
        assert!(serde_json::from_str::<Probe>(r#"{"n":1.5}"#).is_err());
    }
}
