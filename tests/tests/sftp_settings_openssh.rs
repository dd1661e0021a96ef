//! The app core's SFTP settings for a real account against a real OpenSSH sshd on loopback:
//! the passphrase goes to the keychain only, the first "Test connection" shows the server's
//! host key, pinning it makes the connection usable, and every failure (host key changed,
//! key refused, wrong passphrase, folder missing, nothing listening) is reported as its
//! own outcome with a message that says what to do. The Demo account needs no settings.

use std::sync::Arc;
use std::time::Duration;

use flexdesk_batch::{fingerprint, ssh_keys::PublicKey, BatchError, SftpClient};
use flexdesk_core::batch_dto::{SftpSettingsInput, SftpTestOutcome};
use flexdesk_core::{AppCore, CoreConfig, ErrorCode};
use flexdesk_secrets::{account_key, MemoryStore, SecretStore};
use flexdesk_tests::merchant::Merchant;
use flexdesk_tests::sshd::{free_port, keygen, Sshd, PASSPHRASE};

fn core(dir: &std::path::Path, secrets: Arc<dyn SecretStore>) -> AppCore {
    let mut config = CoreConfig::new(dir.to_path_buf(), secrets);
    config.demo_order_count = 40;
    config.background_sync = false;
    config.demo_traffic_per_minute = 0;
    AppCore::open(config).unwrap()
}

fn input(sshd: &Sshd, passphrase: Option<&str>) -> SftpSettingsInput {
    let s = sshd.settings(sshd.port);
    SftpSettingsInput {
        host: s.host,
        port: s.port,
        user: s.user,
        key_path: s.key_path.display().to_string(),
        host_key: String::new(),
        inbound_dir: s.inbound_dir,
        outbound_dir: s.outbound_dir,
        passphrase: passphrase.map(str::to_string),
    }
}

fn fingerprint_of(openssh_line: &str) -> String {
    fingerprint(&PublicKey::from_openssh(openssh_line.trim()).unwrap())
}

/// Every byte under `dir` (the mirror, its WAL, logs), as text.
fn all_bytes(dir: &std::path::Path) -> String {
    let mut out = String::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.push_str(&all_bytes(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push_str(&String::from_utf8_lossy(&bytes));
        }
    }
    out
}

#[tokio::test]
async fn first_test_shows_the_host_key_pinning_it_connects_and_a_changed_key_is_refused() {
    let sshd = Sshd::start();
    // A real (custom) account: its API is a sandbox on loopback; its SFTP server is sshd.
    let merchant = Merchant::start(Duration::from_secs(3600)).await;
    let data = tempfile::tempdir().unwrap();
    let secrets = Arc::new(MemoryStore::new());
    let app = core(data.path(), secrets.clone());
    let account = app.add_account(merchant.account()).await.unwrap();

    // Saved without a pin; the passphrase goes to the keychain only.
    app.configure_sftp(input(&sshd, Some(PASSPHRASE))).unwrap();
    let view = app.sftp_settings().unwrap();
    assert!(view.configured && !view.demo && view.has_passphrase, "{view:?}");
    assert_eq!(view.pinned_fingerprint, None);
    assert_eq!(secrets.get(&account_key(&account.id, "sftp-key-passphrase")).unwrap().expose(), PASSPHRASE);
    assert!(!all_bytes(data.path()).contains(PASSPHRASE), "the passphrase reached the data directory");

    // Uploads refuse an unpinned server and say what to do.
    let mut unpinned = sshd.settings(sshd.port);
    unpinned.host_key.clear();
    let err = SftpClient::connect(&unpinned, Some(PASSPHRASE)).await.err().expect("an unpinned server was used");
    assert!(matches!(err, BatchError::Settings(_)) && err.to_string().contains("pin"), "{err}");

    // First test: signed in, folders there, and the server's key shown for pinning.
    let first = app.test_sftp_connection().await.unwrap();
    assert_eq!(first.outcome, SftpTestOutcome::HostKeyUnpinned, "{first:?}");
    let server_fp = fingerprint_of(&sshd.host_key());
    assert_eq!(first.host_key_fingerprint.as_deref(), Some(server_fp.as_str()));
    assert!(first.message.contains(&server_fp) && first.message.contains("pin"), "{}", first.message);
    let shown = first.host_key.clone().unwrap();
    assert_eq!(fingerprint_of(&shown), server_fp);

    // Pinned: the test passes, and the pin survives saving the settings again unchanged.
    let view = app.pin_sftp_host_key(&shown).unwrap();
    assert_eq!(view.pinned_fingerprint.as_deref(), Some(server_fp.as_str()));
    let ok = app.test_sftp_connection().await.unwrap();
    assert_eq!(ok.outcome, SftpTestOutcome::Ok, "{ok:?}");
    app.configure_sftp(input(&sshd, None)).unwrap();
    assert_eq!(app.sftp_settings().unwrap().pinned_fingerprint.as_deref(), Some(server_fp.as_str()));
    assert_eq!(app.test_sftp_connection().await.unwrap().outcome, SftpTestOutcome::Ok);

    // The server's host key changes (sshd reads it for every connection): refused, nothing sent.
    let new_key = sshd.path().join("new_host_key");
    keygen(&new_key, "");
    std::fs::copy(&new_key, sshd.path().join("host_key")).unwrap();
    std::fs::copy(new_key.with_extension("pub"), sshd.path().join("host_key.pub")).unwrap();
    let changed = app.test_sftp_connection().await.unwrap();
    assert_eq!(changed.outcome, SftpTestOutcome::HostKeyMismatch, "{changed:?}");
    let new_fp = fingerprint_of(&sshd.host_key());
    assert_eq!(changed.host_key_fingerprint.as_deref(), Some(new_fp.as_str()));
    for part in [new_fp.as_str(), server_fp.as_str(), "Nothing was sent", "pin"] {
        assert!(changed.message.contains(part), "missing {part:?} in {}", changed.message);
    }
    let mut pinned_old = sshd.settings(sshd.port);
    pinned_old.host_key = shown.clone();
    let err = SftpClient::connect(&pinned_old, Some(PASSPHRASE)).await.err().expect("a changed key was accepted");
    assert!(matches!(err, BatchError::HostKeyMismatch { .. }) && err.to_string().contains("pin the new key"), "{err}");
    assert!(std::fs::read_dir(sshd.path().join("inbound")).unwrap().next().is_none());
    // Pinning the new key (after confirming it) makes it work again.
    app.pin_sftp_host_key(changed.host_key.as_deref().unwrap()).unwrap();
    assert_eq!(app.test_sftp_connection().await.unwrap().outcome, SftpTestOutcome::Ok);

    // Not a host key: refused.
    let err = app.pin_sftp_host_key("not a key").err().unwrap();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    app.shutdown().await;
}

#[tokio::test]
async fn each_connection_problem_has_its_own_outcome_and_says_what_to_do() {
    let sshd = Sshd::start();
    let merchant = Merchant::start(Duration::from_secs(3600)).await;
    let data = tempfile::tempdir().unwrap();
    let app = core(data.path(), Arc::new(MemoryStore::new()));
    app.add_account(merchant.account()).await.unwrap();
    let mut base = input(&sshd, Some(PASSPHRASE));
    base.host_key = sshd.host_key();
    app.configure_sftp(base.clone()).unwrap();
    assert_eq!(app.test_sftp_connection().await.unwrap().outcome, SftpTestOutcome::Ok);

    let check = |outcome: SftpTestOutcome, parts: &'static [&'static str]| {
        let app = app.clone();
        async move {
            let r = app.test_sftp_connection().await.unwrap();
            assert_eq!(r.outcome, outcome, "{r:?}");
            for part in parts {
                assert!(r.message.contains(part), "missing {part:?} in {}", r.message);
            }
        }
    };

    // A key the server does not know.
    keygen(&sshd.path().join("stranger"), "");
    let mut stranger = base.clone();
    stranger.key_path = sshd.path().join("stranger").display().to_string();
    app.configure_sftp(stranger).unwrap();
    check(SftpTestOutcome::AuthFailed, &["refused the key", "stranger.pub"]).await;

    // The wrong passphrase for the right key.
    let mut wrong = base.clone();
    wrong.passphrase = Some("not the passphrase".into());
    app.configure_sftp(wrong).unwrap();
    check(SftpTestOutcome::KeyUnreadable, &["client_key", "passphrase"]).await;
    app.configure_sftp(base.clone()).unwrap(); // the right passphrase again
    check(SftpTestOutcome::Ok, &[]).await;

    // A key file that is not there.
    let mut no_key = base.clone();
    no_key.key_path = sshd.path().join("missing_key").display().to_string();
    app.configure_sftp(no_key).unwrap();
    check(SftpTestOutcome::KeyUnreadable, &["no private key file", "missing_key"]).await;

    // A folder that does not exist.
    let mut folder = base.clone();
    folder.outbound_dir = sshd.path().join("outbox").display().to_string();
    app.configure_sftp(folder).unwrap();
    check(SftpTestOutcome::FolderMissing, &["outbound folder", "outbox", "does not exist"]).await;

    // Nothing listening there.
    let mut closed = base.clone();
    closed.port = free_port();
    app.configure_sftp(closed).unwrap();
    check(SftpTestOutcome::Unreachable, &["No SFTP server answered", "allow-listed"]).await;

    // Incomplete settings are refused when saved.
    let mut empty = base.clone();
    empty.host = " ".into();
    assert_eq!(app.configure_sftp(empty).err().unwrap().code(), ErrorCode::InvalidInput);
    app.shutdown().await;
}

#[tokio::test]
async fn the_demo_account_uses_the_sandbox_endpoint_with_its_key_pinned() {
    let data = tempfile::tempdir().unwrap();
    let app = core(data.path(), Arc::new(MemoryStore::new()));
    app.start().await.unwrap();
    let view = app.sftp_settings().unwrap();
    assert!(view.demo && !view.configured, "{view:?}");
    let r = app.test_sftp_connection().await.unwrap();
    assert_eq!(r.outcome, SftpTestOutcome::Ok, "{r:?}");
    let err = app.configure_sftp(SftpSettingsInput {
        host: "127.0.0.1".into(),
        port: 22,
        user: "u".into(),
        key_path: "/k".into(),
        host_key: String::new(),
        inbound_dir: "/in".into(),
        outbound_dir: "/out".into(),
        passphrase: None,
    });
    assert_eq!(err.err().unwrap().code(), ErrorCode::InvalidInput);
    app.shutdown().await;
}
