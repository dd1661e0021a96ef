//! Request-body validation in ASP.NET's style: malformed JSON → `errors["$"]`; missing
//! required fields and type errors keyed by dotted PascalCase paths
//! (`Transaction.Amount`, `OrderItems[0].Amount`). Property names bind
//! case-insensitively, as ASP.NET does.

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::problem::ApiError;

pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Parses a body into JSON. Malformed JSON is a 400 with `errors["$"]`.
///
/// # Errors
/// The 400 ProblemDetails.
pub fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::field("$", format!("The JSON is invalid: {e}")))
}

/// Parses a body that must be a JSON object.
///
/// # Errors
/// 400 for malformed JSON or a non-object.
pub fn parse_object(body: &[u8], type_name: &str) -> Result<Value, ApiError> {
    let v = parse_json(body)?;
    if v.is_object() {
        Ok(v)
    } else {
        Err(ApiError::field("$", format!("The JSON value could not be converted to {type_name}.")))
    }
}

/// Lower-cases the first letter of every object key (recursively), so `Transaction`,
/// `transaction` and `TRANSACTION`-free PascalCase bodies bind to the camelCase models.
pub fn camel_keys(v: Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (lower_first(&k), camel_keys(v))).collect()),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_keys).collect()),
        other => other,
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn upper_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The value at a dotted path, matching keys case-insensitively.
pub fn lookup<'a>(root: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .try_fold(root, |v, seg| v.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(seg)).map(|(_, v)| v))
}

/// Errors for each required path that is absent, null or an empty string.
pub fn check_required(root: &Value, required: &[String], errors: &mut FieldErrors) {
    for path in required {
        let present = match lookup(root, path) {
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
        };
        if !present {
            let name = path.rsplit('.').next().unwrap_or(path);
            let message = if path.eq_ignore_ascii_case("OrderId") {
                "Merchant's orderId is required".to_string()
            } else {
                format!("The {name} field is required.")
            };
            errors.entry(path.clone()).or_default().push(message);
        }
    }
}

/// Deserializes `value` into `T`; a type error is a 400 keyed by the PascalCase path.
///
/// # Errors
/// The 400 ProblemDetails naming the field.
pub fn typed<T: DeserializeOwned>(value: Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = pascal_path(e.path());
        let inner = e.into_inner().to_string();
        ApiError::field(if path.is_empty() { "$" } else { &path }, format!("The JSON value is not valid: {inner}"))
    })
}

fn pascal_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for seg in path.iter() {
        match seg {
            serde_path_to_error::Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            serde_path_to_error::Segment::Map { key } | serde_path_to_error::Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(&upper_first(key));
            }
            serde_path_to_error::Segment::Unknown => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flexfactor_wire::EvaluateRequest;

    #[test]
    fn missing_fields_are_named_by_pascal_case_path() {
        let v = serde_json::json!({"transaction": {"Amount": 100}, "orderId": ""});
        let mut errors = FieldErrors::new();
        check_required(&v, &["Transaction.Amount".into(), "Transaction.Id".into(), "OrderId".into()], &mut errors);
        assert!(!errors.contains_key("Transaction.Amount"));
        assert_eq!(errors["Transaction.Id"], vec!["The Id field is required.".to_string()]);
        assert!(errors.contains_key("OrderId"));
    }

    #[test]
    fn type_errors_carry_the_pascal_case_path() {
        let v = camel_keys(serde_json::json!({"Transaction": {"Amount": "ten"}}));
        let Err(ApiError::Problem(_, p)) = typed::<EvaluateRequest>(v) else { panic!("expected a problem") };
        assert!(p.errors.contains_key("Transaction.Amount"), "{:?}", p.errors);
        let v = camel_keys(serde_json::json!({"orderItems": [{"amount": 1}, {"amount": "x"}]}));
        let Err(ApiError::Problem(_, p)) = typed::<EvaluateRequest>(v) else { panic!("expected a problem") };
        assert!(p.errors.contains_key("OrderItems[1].Amount"), "{:?}", p.errors);
    }
}
