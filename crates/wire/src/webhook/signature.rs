//! The `x-fc-*` webhook signature scheme (flexfactor-api.md §9): [`sign`] for senders and
//! tests, [`verify`] for receivers. Every secret-dependent comparison is constant-time.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use hmac::digest::Key;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha512};
use subtle::ConstantTimeEq;

/// Header names of a signed delivery (lower case; HTTP header names are case-insensitive).
pub const HEADER_NONCE: &str = "x-fc-nonce";
pub const HEADER_DATE: &str = "x-fc-date";
pub const HEADER_CONTENT_SHA512: &str = "x-fc-content-sha512";
pub const HEADER_AUTHORIZATION: &str = "x-fc-authorization";
pub const HEADER_SIGNATURE: &str = "x-fc-signature";

/// The only `SignedHeaders` list the scheme defines.
pub const SIGNED_HEADERS: &str = "x-fc-nonce;x-fc-date;host;x-fc-content-sha512";

/// Why a delivery's signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// The subscriber key is not valid base64, or is empty.
    InvalidKey(String),
    /// A required `x-fc-*` header is absent or empty.
    MissingHeader(&'static str),
    /// A header is present but not in the documented form (e.g. not base64).
    MalformedHeader(&'static str),
    /// `x-fc-authorization` is not `HMAC-SHA512 SignedHeaders=…&Signature=…`, or signs a
    /// header list other than [`SIGNED_HEADERS`].
    MalformedAuthorization(String),
    /// `x-fc-content-sha512` does not match the body: the body was altered.
    ContentHashMismatch,
    /// The `x-fc-authorization` signature does not match (wrong key, host, nonce or date).
    BadSignature,
    /// The body-only `x-fc-signature` does not match.
    BadBodySignature,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::InvalidKey(m) => write!(f, "the webhook subscriber key is unusable: {m}"),
            SignatureError::MissingHeader(h) => write!(f, "the delivery has no {h} header"),
            SignatureError::MalformedHeader(h) => write!(f, "the {h} header is malformed"),
            SignatureError::MalformedAuthorization(m) => write!(f, "x-fc-authorization is malformed: {m}"),
            SignatureError::ContentHashMismatch => write!(f, "x-fc-content-sha512 does not match the body"),
            SignatureError::BadSignature => write!(f, "the x-fc-authorization signature does not match"),
            SignatureError::BadBodySignature => write!(f, "the x-fc-signature does not match the body"),
        }
    }
}

impl std::error::Error for SignatureError {}

/// Decodes the portal's base64 subscriber key into the HMAC key bytes.
pub fn decode_key(base64_key: &str) -> Result<Vec<u8>, SignatureError> {
    let key = B64.decode(base64_key.trim()).map_err(|e| SignatureError::InvalidKey(e.to_string()))?;
    if key.is_empty() {
        return Err(SignatureError::InvalidKey("the key is empty".into()));
    }
    Ok(key)
}

/// The five signature headers of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub nonce: String,
    pub date: String,
    pub content_sha512: String,
    pub authorization: String,
    pub signature: String,
}

impl SignedHeaders {
    /// `(header name, value)` pairs, ready to attach to a request.
    pub fn pairs(&self) -> [(&'static str, &str); 5] {
        [
            (HEADER_NONCE, &self.nonce),
            (HEADER_DATE, &self.date),
            (HEADER_CONTENT_SHA512, &self.content_sha512),
            (HEADER_AUTHORIZATION, &self.authorization),
            (HEADER_SIGNATURE, &self.signature),
        ]
    }
}

/// Read access to a delivery's headers by lower-case name (lookups must ignore case).
pub trait HeaderLookup {
    fn header(&self, name: &str) -> Option<&str>;
}

impl HeaderLookup for SignedHeaders {
    fn header(&self, name: &str) -> Option<&str> {
        self.pairs().into_iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for [(K, V)] {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for Vec<(K, V)> {
    fn header(&self, name: &str) -> Option<&str> {
        self.as_slice().header(name)
    }
}

impl<K: AsRef<str>, V: AsRef<str>, S> HeaderLookup for std::collections::HashMap<K, V, S> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }
}

impl<K: AsRef<str>, V: AsRef<str>> HeaderLookup for std::collections::BTreeMap<K, V> {
    fn header(&self, name: &str) -> Option<&str> {
        self.iter().find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name)).map(|(_, v)| v.as_ref())
    }
}

/// Formats an `x-fc-date` value (RFC 1123, GMT).
pub fn format_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// Parses an `x-fc-date` value (RFC 1123 / RFC 2822), for replay-window checks.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(s.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// HMAC-SHA512 keyed with `key` (any length). Built from a zero-padded block key, which is
/// exactly how HMAC treats keys up to the block size (longer keys are hashed first), so
/// construction cannot fail.
fn hmac_sha512(key: &[u8], data: &[u8]) -> [u8; 64] {
    let mut block = Key::<Hmac<Sha512>>::default();
    if key.len() > block.len() {
        let digest = Sha512::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut mac = <Hmac<Sha512> as hmac::digest::KeyInit>::new(&block);
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn string_to_sign(nonce: &str, date: &str, host: &str, content_hash: &str) -> String {
    format!("POST\n{nonce};{date};{host};{content_hash}")
}

/// Signs one delivery as FlexFactor does (§9): content hash, the `x-fc-authorization`
/// signature over nonce, date, host and content hash, and the body-only `x-fc-signature`.
/// `host` is the receiver's host name as the sender addresses it.
pub fn sign(key: &[u8], host: &str, nonce: &str, date: &str, body: &[u8]) -> SignedHeaders {
    let content_sha512 = B64.encode(Sha512::digest(body));
    let to_sign = string_to_sign(nonce, date, host, &content_sha512);
    let auth_sig = B64.encode(hmac_sha512(key, to_sign.as_bytes()));
    SignedHeaders {
        nonce: nonce.to_string(),
        date: date.to_string(),
        authorization: format!("HMAC-SHA512 SignedHeaders={SIGNED_HEADERS}&Signature={auth_sig}"),
        content_sha512,
        signature: B64.encode(hmac_sha512(key, body)),
    }
}

fn required<'a, H: HeaderLookup + ?Sized>(headers: &'a H, name: &'static str) -> Result<&'a str, SignatureError> {
    match headers.header(name).map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(SignatureError::MissingHeader(name)),
    }
}

/// The base64 signature inside an `x-fc-authorization` value.
fn authorization_signature(value: &str) -> Result<&str, SignatureError> {
    let malformed = |m: &str| SignatureError::MalformedAuthorization(m.to_string());
    let rest = value
        .strip_prefix("HMAC-SHA512")
        .filter(|r| r.starts_with(char::is_whitespace))
        .ok_or_else(|| malformed("it does not start with \"HMAC-SHA512 \""))?
        .trim_start();
    let (signed, signature) = rest.split_once('&').ok_or_else(|| malformed("no '&' before Signature="))?;
    let signed = signed.strip_prefix("SignedHeaders=").ok_or_else(|| malformed("no SignedHeaders="))?;
    if !signed.eq_ignore_ascii_case(SIGNED_HEADERS) {
        return Err(malformed(&format!("unsupported SignedHeaders={signed}")));
    }
    signature.strip_prefix("Signature=").map(str::trim).ok_or_else(|| malformed("no Signature="))
}

/// Verifies one delivery against the raw body: the content hash, the `x-fc-authorization`
/// signature, and `x-fc-signature` when present. Comparisons are constant-time. Checking
/// the freshness of `x-fc-date` and deduplicating nonces is the receiver's job.
pub fn verify<H: HeaderLookup + ?Sized>(
    key: &[u8],
    host: &str,
    headers: &H,
    body: &[u8],
) -> Result<(), SignatureError> {
    let content_hash = required(headers, HEADER_CONTENT_SHA512)?;
    let nonce = required(headers, HEADER_NONCE)?;
    let date = required(headers, HEADER_DATE)?;
    let authorization = required(headers, HEADER_AUTHORIZATION)?;

    let claimed_hash = B64.decode(content_hash).map_err(|_| SignatureError::MalformedHeader(HEADER_CONTENT_SHA512))?;
    let actual_hash = Sha512::digest(body);
    if !bool::from(claimed_hash.as_slice().ct_eq(actual_hash.as_slice())) {
        return Err(SignatureError::ContentHashMismatch);
    }

    let claimed_sig = B64
        .decode(authorization_signature(authorization)?)
        .map_err(|_| SignatureError::MalformedAuthorization("Signature is not base64".into()))?;
    let expected = hmac_sha512(key, string_to_sign(nonce, date, host, content_hash).as_bytes());
    if !bool::from(claimed_sig.as_slice().ct_eq(expected.as_slice())) {
        return Err(SignatureError::BadSignature);
    }

    if let Some(body_sig) = headers.header(HEADER_SIGNATURE).map(str::trim).filter(|v| !v.is_empty()) {
        let claimed = B64.decode(body_sig).map_err(|_| SignatureError::MalformedHeader(HEADER_SIGNATURE))?;
        if !bool::from(claimed.as_slice().ct_eq(hmac_sha512(key, body).as_slice())) {
            return Err(SignatureError::BadBodySignature);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==";
    const HOST: &str = "merchant.example.test";
    const NONCE: &str = "0123456789abcdef0123456789abcdef";
    const DATE: &str = "Wed, 15 Jan 2025 10:00:01 GMT";
    const BODY: &str = r#"{"Event":"order.expired","TimeStamp":"2025-01-15T10:00:00.000000Z","EventData":null,"ExternalOrderId":"SIM-ORDER-1","OrderId":"11111111-2222-3333-4444-555555555555","ConfirmationId":"ABCD1234","IsTestMode":true,"IsResent":false}"#;
    const CONTENT: &str = "HoBlZTI55mpaoUCmJrX42u5h5zcZlrEEhWcF8moWKU4qNo1bAnHlvgcYDTHwqqyVPHAKiz0SZ8RyCQ3YzLfZrA==";
    const AUTH_SIG: &str = "/sz81iikQof4z4QHVi/sW5w2Y3Rj8TKgpeVFzTyTSxVtbdoYmhoLU0FDEMtuqixGXye3WThgMS0oE/9Psjd1iw==";
    const BODY_SIG: &str = "qmXQbRiy9fnxuMCBdjk1WX3LNduFbFKkOIAJWNCpXyN5ydQnq1uawlRJ8F8dFfp9jbfni5d8oI5PipC/vuonBA==";

    fn key() -> Vec<u8> {
        decode_key(KEY_B64).unwrap()
    }

    fn vector_headers() -> SignedHeaders {
        sign(&key(), HOST, NONCE, DATE, BODY.as_bytes())
    }

    #[test]
    fn documented_test_vector_signs_byte_for_byte() {
        assert_eq!(key(), (0u8..64).collect::<Vec<u8>>());
        assert_eq!(BODY.len(), 228);
        let h = vector_headers();
        assert_eq!(h.content_sha512, CONTENT);
        assert_eq!(
            h.authorization,
            format!("HMAC-SHA512 SignedHeaders=x-fc-nonce;x-fc-date;host;x-fc-content-sha512&Signature={AUTH_SIG}")
        );
        assert_eq!(h.signature, BODY_SIG);
        assert_eq!(h.nonce, NONCE);
        assert_eq!(h.date, DATE);
    }

    #[test]
    fn documented_test_vector_verifies() {
        let headers = vec![
            ("X-FC-Nonce", NONCE.to_string()),
            ("x-fc-date", DATE.to_string()),
            ("x-fc-content-sha512", CONTENT.to_string()),
            ("x-fc-authorization", format!("HMAC-SHA512 SignedHeaders={SIGNED_HEADERS}&Signature={AUTH_SIG}")),
            ("x-fc-signature", BODY_SIG.to_string()),
        ];
        assert_eq!(verify(&key(), HOST, &headers, BODY.as_bytes()), Ok(()));
    }

    #[test]
    fn tampered_body_fails_the_content_hash() {
        let h = vector_headers();
        let tampered = BODY.replace("SIM-ORDER-1", "SIM-ORDER-2");
        assert_eq!(verify(&key(), HOST, &h, tampered.as_bytes()), Err(SignatureError::ContentHashMismatch));
    }

    #[test]
    fn tampered_body_with_recomputed_hash_fails_the_signature() {
        let mut h = vector_headers();
        let tampered = BODY.replace("SIM-ORDER-1", "SIM-ORDER-2");
        h.content_sha512 = B64.encode(Sha512::digest(tampered.as_bytes()));
        assert_eq!(verify(&key(), HOST, &h, tampered.as_bytes()), Err(SignatureError::BadSignature));
    }

    #[test]
    fn wrong_key_is_rejected() {
        let h = vector_headers();
        let mut other = key();
        other[0] ^= 1;
        assert_eq!(verify(&other, HOST, &h, BODY.as_bytes()), Err(SignatureError::BadSignature));
    }

    #[test]
    fn wrong_host_is_rejected() {
        let h = vector_headers();
        assert_eq!(verify(&key(), "evil.example.test", &h, BODY.as_bytes()), Err(SignatureError::BadSignature));
    }

    #[test]
    fn forged_body_signature_is_rejected() {
        let mut h = vector_headers();
        h.signature = B64.encode([0u8; 64]);
        assert_eq!(verify(&key(), HOST, &h, BODY.as_bytes()), Err(SignatureError::BadBodySignature));
        h.signature = String::new();
        assert_eq!(verify(&key(), HOST, &h, BODY.as_bytes()), Ok(()), "x-fc-signature is optional");
    }

    #[test]
    fn each_missing_header_is_named() {
        for name in [HEADER_NONCE, HEADER_DATE, HEADER_CONTENT_SHA512, HEADER_AUTHORIZATION] {
            let h = vector_headers();
            let without: Vec<(&str, &str)> = h.pairs().into_iter().filter(|(k, _)| *k != name).collect();
            assert_eq!(verify(&key(), HOST, &without, BODY.as_bytes()), Err(SignatureError::MissingHeader(name)));
        }
    }

    #[test]
    fn malformed_authorization_is_typed() {
        let h = vector_headers();
        let mut headers: std::collections::BTreeMap<String, String> =
            h.pairs().into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for bad in [
            format!("Bearer {AUTH_SIG}"),
            format!("HMAC-SHA512 Signature={AUTH_SIG}"),
            format!("HMAC-SHA512 SignedHeaders=host&Signature={AUTH_SIG}"),
            format!("HMAC-SHA512 SignedHeaders={SIGNED_HEADERS}&Signature=***"),
        ] {
            headers.insert(HEADER_AUTHORIZATION.into(), bad.clone());
            let err = verify(&key(), HOST, &headers, BODY.as_bytes()).unwrap_err();
            assert!(matches!(err, SignatureError::MalformedAuthorization(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn keys_longer_than_a_block_match_the_reference_hmac() {
        let long: Vec<u8> = (0u8..200).collect();
        for k in [&long[..], &long[..128], &long[..3], &[][..]] {
            let mut reference = Hmac::<Sha512>::new_from_slice(k).unwrap();
            reference.update(b"data");
            assert_eq!(hmac_sha512(k, b"data").as_slice(), reference.finalize().into_bytes().as_slice());
        }
    }

    #[test]
    fn bad_keys_are_typed_errors() {
        assert!(matches!(decode_key("not base64!"), Err(SignatureError::InvalidKey(_))));
        assert!(matches!(decode_key(""), Err(SignatureError::InvalidKey(_))));
    }

    #[test]
    fn dates_format_and_parse_as_rfc_1123() {
        let t = parse_date(DATE).unwrap();
        assert_eq!(format_date(t), DATE);
    }
}
