//! `POST /v1/tokenize?mid=&environment=` (flexfactor-api.md §3): vaults a card and
//! answers the recorded Spreedly-like shape with a GUID token.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::Json;
use flexfactor_wire::{TokenizeRequest, TokenizeResponse, TokenizeTransaction, VaultedCard as WireVaultedCard};

use crate::engine::{last4, VaultedCard};
use crate::problem::ApiError;
use crate::validation::{parse_object, typed, FieldErrors};
use crate::SandboxState;

/// `POST /v1/tokenize`. No bearer token needed (one sent is ignored). 400 ProblemDetails
/// for a missing/unknown `mid` or `environment`, malformed JSON, or card fields that fail
/// validation (snake_case paths, e.g. `payment_method.credit_card.number`).
pub async fn tokenize(
    State(state): State<SandboxState>,
    RawQuery(raw): RawQuery,
    body: Bytes,
) -> Result<Json<TokenizeResponse>, ApiError> {
    let mut errors = FieldErrors::new();
    let mut mid = None;
    let mut environment = None;
    for (k, v) in form_urlencoded::parse(raw.as_deref().unwrap_or("").as_bytes()) {
        match k.to_ascii_lowercase().as_str() {
            "mid" if mid.is_none() => mid = Some(v.into_owned()),
            "environment" if environment.is_none() => environment = Some(v.into_owned()),
            _ => {}
        }
    }
    match mid.as_deref().map(str::trim) {
        None | Some("") => push(&mut errors, "mid", "The mid query parameter is required."),
        Some(m) if !m.eq_ignore_ascii_case(state.mid()) => push(&mut errors, "mid", "Unknown merchant."),
        _ => {}
    }
    match environment.as_deref().map(str::trim) {
        None | Some("") => push(&mut errors, "environment", "The environment query parameter is required."),
        Some(e) if e != state.tokenization_key() => push(&mut errors, "environment", "Unknown tokenization key."),
        _ => {}
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    let request: TokenizeRequest = typed(parse_object(&body, "TokenizeRequest")?)?;
    let card = validate_card(&request, &mut errors);
    let Some(card) = card.filter(|_| errors.is_empty()) else {
        return Err(ApiError::validation(errors));
    };
    let (token, now) = state.with_engine(|engine, _, now| {
        let token = engine.guid();
        engine.vault.insert(token.clone(), card.clone());
        (token, now)
    });
    tracing::info!(last4 = last4(&card.number), "sandbox: card tokenized");
    let pan = card.number.as_str();
    Ok(Json(TokenizeResponse {
        transaction: Some(TokenizeTransaction {
            succeeded: Some(true),
            on_test_gateway: Some(true),
            created_at: Some(dotnet_timestamp(now)),
            payment_method: Some(WireVaultedCard {
                token: Some(token),
                first_six_digits: pan.get(..8.min(pan.len())).map(str::to_string),
                last_four_digits: Some(last4(pan).to_string()),
                first_name: Some(card.first_name.clone()),
                last_name: Some(card.last_name.clone()),
                month: Some(i64::from(card.month)),
                year: Some(i64::from(card.year)),
                ..Default::default()
            }),
        }),
        card_bin_info: None,
        success: Some(true),
        result: None,
        status: None,
        status_code: None,
        errors: Vec::new(),
        custom_properties: BTreeMap::new(),
    }))
}

/// `2025-01-15T10:00:00.0000000Z`: seven fractional digits, as .NET writes them.
fn dotnet_timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    format!("{}.{:07}Z", t.format("%Y-%m-%dT%H:%M:%S"), t.nanosecond() % 1_000_000_000 / 100)
}

fn push(errors: &mut FieldErrors, field: &str, message: &str) {
    errors.entry(field.to_string()).or_default().push(message.to_string());
}

fn validate_card(request: &TokenizeRequest, errors: &mut FieldErrors) -> Option<VaultedCard> {
    const P: &str = "payment_method.credit_card.";
    let c = &request.payment_method.credit_card;
    let number: String = c.number.chars().filter(|ch| !ch.is_whitespace() && *ch != '-').collect();
    if number.is_empty() {
        push(errors, &format!("{P}number"), "The number field is required.");
    } else if !(12..=19).contains(&number.len()) || !number.bytes().all(|b| b.is_ascii_digit()) || !luhn(&number) {
        push(errors, &format!("{P}number"), "The card number is invalid.");
    }
    for (name, value) in [("first_name", &c.first_name), ("last_name", &c.last_name)] {
        if value.trim().is_empty() {
            push(errors, &format!("{P}{name}"), &format!("The {name} field is required."));
        }
    }
    let month = c.month.as_deref().and_then(|m| m.trim().parse::<u32>().ok()).filter(|m| (1..=12).contains(m));
    if month.is_none() {
        push(errors, &format!("{P}month"), "The month must be MM (01-12).");
    }
    let year = c.year.as_deref().filter(|y| y.trim().len() == 4).and_then(|y| y.trim().parse::<u32>().ok());
    if year.is_none() {
        push(errors, &format!("{P}year"), "The year must be YYYY.");
    }
    Some(VaultedCard {
        number,
        first_name: c.first_name.trim().to_string(),
        last_name: c.last_name.trim().to_string(),
        month: month?,
        year: year?,
    })
}

/// The Luhn check digit test.
pub fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::luhn;

    #[test]
    fn documented_test_cards_pass_luhn() {
        for c in ["4111111111111111", "4000002760003184", "4000300011112220"] {
            assert!(luhn(c), "{c}");
        }
        assert!(!luhn("4111111111111112"));
    }
}
