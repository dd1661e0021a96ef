//! The demo checkout (sandbox only): `GET /checkout` (a page that loads SenseJS, tokenizes
//! a test card and sends a declined transaction to `/v1/evaluate`), `GET /widget.js` (a
//! SenseJS-compatible script: replays the `window.fc` queue; `fc('init', MID, siteId)`
//! runs once and yields a `senseKey`), and `POST /checkout/session`, which hands the page
//! a bearer token for the sandbox's first configured credentials plus the MID and
//! tokenization key. The live service has no such endpoint; it exists so a static page
//! can call the protected API without holding the AppSecret.

use std::time::Instant;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::{site_ids, SandboxState};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CheckoutSession {
    access_token: String,
    expires: i64,
    mid: String,
    tokenization_key: String,
    site_id: String,
}

/// `POST /checkout/session`.
pub async fn session(State(state): State<SandboxState>) -> Response {
    if state.credentials().is_empty() {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let ttl = state.token_ttl();
    let access_token = state.tokens().issue(Instant::now(), ttl);
    let expires = chrono::Utc::now().timestamp_millis() + i64::try_from(ttl.as_millis()).unwrap_or(0);
    Json(CheckoutSession {
        access_token,
        expires,
        mid: state.mid().to_string(),
        tokenization_key: state.tokenization_key().to_string(),
        site_id: site_ids(state.seed()).first().cloned().unwrap_or_default(),
    })
    .into_response()
}

/// `GET /widget.js`.
pub async fn widget() -> Response {
    ([(header::CONTENT_TYPE, "application/javascript; charset=utf-8")], WIDGET_JS).into_response()
}

/// `GET /checkout`.
pub async fn page(State(state): State<SandboxState>) -> Html<String> {
    let site = site_ids(state.seed()).first().cloned().unwrap_or_default();
    Html(PAGE.replace("{{MID}}", state.mid()).replace("{{SITE}}", &site))
}

const WIDGET_JS: &str = r#"(function (w) {
  'use strict';
  var queued = (w.fc && w.fc.q) || [];
  var state = { initialised: false, mid: null, siteId: null, senseKey: null };
  function newKey() {
    if (w.crypto && w.crypto.randomUUID) { return 'sk-' + w.crypto.randomUUID(); }
    return 'sk-' + Date.now().toString(16) + Math.random().toString(16).slice(2);
  }
  function fc(command) {
    var args = Array.prototype.slice.call(arguments, 1);
    if (command === 'init') {
      if (!state.initialised) {
        state.initialised = true;
        state.mid = args[0];
        state.siteId = args[1];
        state.senseKey = newKey();
      }
      return state.senseKey;
    }
    if (command === 'senseKey' || command === 'getSenseKey') {
      if (typeof args[0] === 'function') { args[0](state.senseKey); }
      return state.senseKey;
    }
    return undefined;
  }
  fc.q = [];
  fc.state = state;
  w.fc = fc;
  for (var i = 0; i < queued.length; i++) { fc.apply(null, queued[i]); }
})(window);
"#;

const PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>FlexFactor sandbox checkout</title>
<script>
  window.fc = window.fc || function () { (window.fc.q = window.fc.q || []).push(arguments); };
  fc('init', '{{MID}}', '{{SITE}}');
</script>
<script async src="/widget.js"></script>
<style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto}label{display:block;margin:.4rem 0}
input{width:100%}#result{margin-top:1rem;padding:.6rem;border:1px solid #888;white-space:pre-wrap}</style>
</head><body>
<h1>Sandbox checkout</h1>
<p>The PSP declined this card; the page tokenizes it and asks FlexFactor to rescue it.</p>
<form id="pay">
  <label>Card number <input name="number" value="4000300011112220"></label>
  <label>First name <input name="first" value="Ada"></label>
  <label>Last name <input name="last" value="Lovelace"></label>
  <label>Month <input name="month" value="09"></label>
  <label>Year <input name="year" value="2030"></label>
  <label>CVV <input name="cvv" value="123"></label>
  <label>Amount (cents) <input name="amount" value="4999"></label>
  <label>E-mail <input name="email" value="ada@example.com"></label>
  <button type="submit">Pay</button>
</form>
<div id="result">No decision yet.</div>
<script>
function uuid() {
  if (crypto.randomUUID) { return crypto.randomUUID(); }
  return 'xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx'.replace(/x/g, function () { return (Math.random() * 16 | 0).toString(16); });
}
document.getElementById('pay').addEventListener('submit', async function (ev) {
  ev.preventDefault();
  var f = ev.target.elements, out = document.getElementById('result');
  try {
    var s = await (await fetch('/checkout/session', { method: 'POST' })).json();
    var senseKey = typeof fc === 'function' ? fc('senseKey') : null;
    var tok = await fetch('/v1/tokenize?mid=' + encodeURIComponent(s.mid) + '&environment=' + encodeURIComponent(s.tokenizationKey), {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ payment_method: { email: f.email.value, sense_key: senseKey, credit_card: {
        first_name: f.first.value, last_name: f.last.value, number: f.number.value,
        verification_value: f.cvv.value, month: f.month.value, year: f.year.value } } }) });
    var t = await tok.json();
    if (!tok.ok) { out.textContent = 'Tokenize failed: ' + JSON.stringify(t); return; }
    var pm = t.transaction.payment_method;
    var ev2 = await fetch('/v1/evaluate', {
      method: 'POST', headers: { 'Content-Type': 'application/json', 'Authorization': 'Bearer ' + s.accessToken },
      body: JSON.stringify({ isDeclined: true, isMIT: false, mid: s.mid, siteId: s.siteId, orderId: 'WEB-DEMO-' + Date.now(),
        idempotencyKey: uuid(), senseKey: senseKey,
        transaction: { id: 'psp-' + Date.now(), amount: parseInt(f.amount.value, 10), currency: 'USD',
          timestampUtc: new Date().toISOString(), responseCode: '05', responseDescription: 'Do not honor' },
        payer: { email: f.email.value },
        billingInformation: { firstName: f.first.value, lastName: f.last.value, countryCode: 'US', country: 'United States' },
        paymentMethod: { cardNumber: pm.token, token: true, holderName: f.first.value + ' ' + f.last.value,
          expirationMonth: pm.month, expirationYear: pm.year, cardBinNumber: (pm.first_six_digits || '').slice(0, 6),
          cardLast4Digits: pm.last_four_digits } }) });
    var d = await ev2.json();
    out.textContent = ev2.ok ? ('Decision: ' + d.status + '\nOrder: ' + d.orderSessionKey) : ('Evaluate failed: ' + JSON.stringify(d));
    out.dataset.status = d.status || 'ERROR';
  } catch (e) { out.textContent = 'Error: ' + e; }
});
</script>
</body></html>
"#;
