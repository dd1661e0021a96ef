//! Cross-crate test scenarios live in `tests/`; this library holds what several of them share.

pub mod e2e;
pub mod merchant;
pub mod sshd;

/// A bearer token from a FlexFactor API (the sandbox) at `base_url` (ending in `/v1`):
/// `POST /oauth2/token` with the AppKey and AppSecret. Panics (failing the test) otherwise.
pub async fn access_token(http: &reqwest::Client, base_url: &str, app_key: &str, app_secret: &str) -> String {
    let token: serde_json::Value = http
        .post(format!("{base_url}/oauth2/token"))
        .json(&serde_json::json!({"AppKey": app_key, "AppSecret": app_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["accessToken"].as_str().expect("an access token from the sandbox").to_string()
}

/// The built `flexdesk` CLI: `<target>/debug/flexdesk`, where `<target>` is
/// `$CARGO_TARGET_DIR` or the workspace's `target/` (build it with `cargo build -p flexdesk-cli`;
/// Cargo cannot make a bin-only package a dependency of this one).
pub fn cli_binary() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let path = target.join("debug").join("flexdesk");
    assert!(path.exists(), "{} is missing: run `cargo build -p flexdesk-cli` first", path.display());
    path
}

/// A sandbox-environment account as the mirror stores it (no secret: that is in a keychain),
/// for tests that write the mirror directly instead of adding the account through the app core.
pub fn sandbox_account(id: &str, name: &str, base_url: &str, mid: &str, app_key: &str) -> flexdesk_mirror::Account {
    flexdesk_mirror::Account::new(id, name, flexdesk_mirror::Environment::Sandbox, base_url, mid, app_key)
}

/// The form a person fills in to add a Sandbox account for `sandbox` (credentials `key` /
/// `secret`), for tests that go through the app core.
pub fn sandbox_new_account(sandbox: &flexfactor_sandbox::Sandbox) -> flexdesk_core::dto::NewAccount {
    flexdesk_core::dto::NewAccount {
        name: "Sandbox".into(),
        environment: flexdesk_core::dto::EnvironmentDto::Sandbox,
        base_url: sandbox.base_url(),
        mid: sandbox.mid().to_string(),
        app_key: "key".into(),
        app_secret: "secret".into(),
    }
}
