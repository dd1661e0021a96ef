//! End to end through the real window: a real account's SFTP settings. The test runs a
//! merchant's API (a sandbox on loopback) and a real OpenSSH sshd; in the app it adds the
//! account, fills in the SFTP settings, runs Test connection (the server's host key
//! fingerprint is shown), pins it (the test passes), then the server's key changes and the
//! test is refused with both fingerprints. The passphrase never reaches the data directory.
//! Run by `scripts/test.sh`; ignored by plain `cargo test`. Screenshots go to `artifacts/e2e/`.
//! WebDriver ports 4514/4515.

use std::time::Duration;

use fantoccini::{Client, Locator};
use flexdesk_batch::{fingerprint, ssh_keys::PublicKey};
use flexdesk_tests::e2e::{attr, click, fill, launch_demo, screenshot, wait_for, DemoApp};
use flexdesk_tests::merchant::{Merchant, APP_KEY, APP_SECRET};
use flexdesk_tests::sshd::{keygen, Sshd, PASSPHRASE};

async fn test_outcome(client: &Client, want: &str) -> String {
    click(client, "#sftp-test").await;
    wait_for(&format!("the connection test to say {want}"), Duration::from_secs(30), || async {
        let outcome = attr(client, "#sftp-test-result", "data-outcome").await?;
        let text = client.find(Locator::Css("#sftp-test-result")).await.ok()?.text().await.ok()?;
        (outcome == want).then_some(text)
    })
    .await
}

#[tokio::test]
#[ignore = "needs Xvfb, tauri-driver, a keyring, sshd and the built app: run scripts/test.sh"]
async fn sftp_settings_test_the_connection_pin_the_host_key_and_refuse_a_changed_one() {
    let sshd = Sshd::start();
    let merchant = Merchant::start(Duration::from_secs(3600)).await;
    let DemoApp { client, data_dir, driver: _driver, .. } = launch_demo(4514).await;
    wait_for("the Demo account", Duration::from_secs(60), || async {
        attr(&client, "#status-base-url", "title").await.filter(|t| t.starts_with("http://"))
    })
    .await;

    // The Demo account needs no settings.
    click(&client, "#open-accounts").await;
    client.wait().for_element(Locator::Css("#sftp-demo")).await.unwrap();

    // Add the merchant's account: it becomes the active one.
    let env = client.wait().for_element(Locator::Css("#acct-env")).await.unwrap();
    env.select_by_value("custom").await.unwrap();
    fill(&client, "#acct-name", "Loopback merchant").await;
    fill(&client, "#acct-base-url", &merchant.sandbox.base_url()).await;
    fill(&client, "#acct-mid", merchant.sandbox.mid()).await;
    fill(&client, "#acct-app-key", APP_KEY).await;
    fill(&client, "#acct-app-secret", APP_SECRET).await;
    click(&client, "#acct-submit").await;
    wait_for("the merchant's account to be active", Duration::from_secs(30), || async {
        attr(&client, "#status-base-url", "title").await.filter(|t| *t == merchant.sandbox.base_url())
    })
    .await;

    // Its SFTP settings: saved, no host key pinned yet.
    click(&client, "#open-accounts").await;
    let s = sshd.settings(sshd.port);
    fill(&client, "#sftp-host", &s.host).await;
    fill(&client, "#sftp-port", &s.port.to_string()).await;
    fill(&client, "#sftp-user", &s.user).await;
    fill(&client, "#sftp-key-path", &s.key_path.display().to_string()).await;
    fill(&client, "#sftp-passphrase", PASSPHRASE).await;
    fill(&client, "#sftp-inbound", &s.inbound_dir).await;
    fill(&client, "#sftp-outbound", &s.outbound_dir).await;
    click(&client, "#sftp-save").await;
    wait_for("the saved settings", Duration::from_secs(20), || async {
        attr(&client, "#sftp-passphrase", "data-stored").await.filter(|v| v == "true")
    })
    .await;
    assert_eq!(attr(&client, "#sftp-pinned", "data-fingerprint").await.as_deref(), Some(""));

    // Test connection: the server's fingerprint is shown; pin it; the test passes.
    let server_fp = fingerprint(&PublicKey::from_openssh(&sshd.host_key()).unwrap());
    let text = test_outcome(&client, "host_key_unpinned").await;
    assert!(text.contains(&server_fp), "the fingerprint is shown: {text}");
    screenshot(&client, "sftp-test-unpinned.png").await;
    click(&client, "#sftp-pin").await;
    wait_for("the pinned key", Duration::from_secs(20), || async {
        attr(&client, "#sftp-pinned", "data-fingerprint").await.filter(|f| *f == server_fp)
    })
    .await;
    wait_for("the test to pass", Duration::from_secs(30), || async {
        attr(&client, "#sftp-test-result", "data-outcome").await.filter(|o| o == "ok")
    })
    .await;
    screenshot(&client, "sftp-pinned.png").await;

    // The server's host key changes: refused, with what to do; replacing needs a confirmation.
    let new_key = sshd.path().join("new_host_key");
    keygen(&new_key, "");
    std::fs::copy(&new_key, sshd.path().join("host_key")).unwrap();
    std::fs::copy(new_key.with_extension("pub"), sshd.path().join("host_key.pub")).unwrap();
    let new_fp = fingerprint(&PublicKey::from_openssh(&sshd.host_key()).unwrap());
    let text = test_outcome(&client, "host_key_mismatch").await;
    for part in [new_fp.as_str(), server_fp.as_str(), "Nothing was sent"] {
        assert!(text.contains(part), "missing {part:?} in {text}");
    }
    let pin = client.find(Locator::Css("#sftp-pin")).await.unwrap();
    assert!(pin.attr("disabled").await.unwrap().is_some(), "a changed key can be pinned without confirming");
    screenshot(&client, "sftp-host-key-changed.png").await;
    click(&client, "#sftp-confirm-replace").await;
    click(&client, "#sftp-pin").await;
    wait_for("the new key pinned and the test passing", Duration::from_secs(30), || async {
        let pinned = attr(&client, "#sftp-pinned", "data-fingerprint").await?;
        let outcome = attr(&client, "#sftp-test-result", "data-outcome").await?;
        (pinned == new_fp && outcome == "ok").then_some(())
    })
    .await;
    client.close().await.unwrap();

    // The passphrase went to the keychain, not to the data directory.
    for entry in std::fs::read_dir(data_dir.path()).unwrap().flatten() {
        if let Ok(bytes) = std::fs::read(entry.path()) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(PASSPHRASE),
                "{} holds the passphrase",
                entry.path().display()
            );
        }
    }
}
