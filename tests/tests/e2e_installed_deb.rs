//! The release `.deb` as a merchant installs it: `dpkg -i` the package built by
//! `scripts/build-deb.sh` (scripts/test.sh builds it first), check what it installs (binary,
//! desktop entry, icons, package metadata), start the installed binary under Xvfb and see
//! the Demo account with its orders, then `dpkg -r` it. Needs root (the test machine is).

use flexdesk_tests::e2e::{attr, launch_app, repo_root, screenshot, wait_for, wait_for_backfill};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

const INSTALLED_BIN: &str = "/usr/bin/flexdesk-app";
const DESKTOP_ENTRY: &str = "/usr/share/applications/FlexDesk.desktop";

/// The newest `.deb` under target/release/bundle/deb (or `$FLEXDESK_DEB`).
fn built_deb() -> PathBuf {
    if let Some(p) = std::env::var_os("FLEXDESK_DEB") {
        return PathBuf::from(p);
    }
    let dir = repo_root().join("target/release/bundle/deb");
    let mut debs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("no {} ({e}): run scripts/build-deb.sh first", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    debs.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    debs.pop().unwrap_or_else(|| panic!("no .deb in {}: run scripts/build-deb.sh first", dir.display()))
}

fn field(deb: &Path, name: &str) -> String {
    let out = Command::new("dpkg-deb").arg("-f").arg(deb).arg(name).output().unwrap();
    assert!(out.status.success(), "dpkg-deb -f {name}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Removes the package when the test ends, passed or not.
struct Installed(String);

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = Command::new("dpkg").args(["-r", &self.0]).output();
    }
}

#[tokio::test]
#[ignore = "needs root, the release .deb, Xvfb, tauri-driver and a keyring: run scripts/test.sh"]
async fn the_deb_installs_starts_on_the_demo_account_and_uninstalls_cleanly() {
    let deb = built_deb();
    let package = field(&deb, "Package");
    assert_eq!(field(&deb, "Version"), env!("CARGO_PKG_VERSION"), "package version differs from the app's");
    assert_eq!(field(&deb, "Architecture"), "amd64");
    let depends = field(&deb, "Depends");
    assert!(depends.contains("libwebkit2gtk-4.1"), "Depends: {depends}");
    assert!(!Path::new(INSTALLED_BIN).exists(), "{INSTALLED_BIN} already exists: remove the old package first");

    let out = Command::new("dpkg").arg("-i").arg(&deb).output().unwrap();
    let installed = Installed(package.clone());
    assert!(
        out.status.success(),
        "dpkg -i failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // What the package put on the machine.
    assert!(Path::new(INSTALLED_BIN).is_file(), "no {INSTALLED_BIN}");
    let entry = std::fs::read_to_string(DESKTOP_ENTRY).unwrap_or_else(|e| panic!("no {DESKTOP_ENTRY}: {e}"));
    for line in ["Name=FlexDesk", "Exec=flexdesk-app", "Icon=flexdesk-app", "Type=Application"] {
        assert!(entry.lines().any(|l| l == line), "desktop entry lacks {line}:\n{entry}");
    }
    assert!(entry.contains("Categories=") && entry.contains("Finance"), "desktop entry category:\n{entry}");
    let icons = Command::new("dpkg").args(["-L", &package]).output().unwrap();
    let listing = String::from_utf8_lossy(&icons.stdout);
    let icon = listing
        .lines()
        .find(|l| l.starts_with("/usr/share/icons/hicolor/") && l.ends_with("/apps/flexdesk-app.png"))
        .unwrap_or_else(|| panic!("no hicolor icon installed:\n{listing}"));
    assert!(Path::new(icon).is_file());

    // The installed binary starts under Xvfb on the Demo account and shows its orders.
    let data_dir = tempfile::tempdir().unwrap();
    let dir = data_dir.path().to_string_lossy().to_string();
    {
        let (_driver, client) =
            launch_app(4564, Path::new(INSTALLED_BIN), &[("FLEXDESK_DATA_DIR", &dir), ("FLEXDESK_DEMO_TRAFFIC", "0")])
                .await;
        let account = wait_for("the Demo account in the switcher", Duration::from_secs(60), || async {
            let el = client.find(fantoccini::Locator::Css("#account-switcher option:checked")).await.ok()?;
            el.text().await.ok().filter(|t| t.contains("Demo merchant"))
        })
        .await;
        assert!(account.contains("Demo"), "{account}");
        let rows = wait_for_backfill(&client, Duration::from_secs(180)).await;
        assert!(rows > 0);
        assert_eq!(attr(&client, "#open-about", "id").await.as_deref(), Some("open-about"));
        screenshot(&client, "installed-deb.png").await;
        client.close().await.ok();
    }

    // Uninstalling removes the program and leaves the user's data alone.
    drop(installed);
    assert!(!Path::new(INSTALLED_BIN).exists(), "dpkg -r left {INSTALLED_BIN}");
    assert!(!Path::new(DESKTOP_ENTRY).exists(), "dpkg -r left {DESKTOP_ENTRY}");
    assert!(data_dir.path().join("mirror.sqlite3").is_file(), "uninstalling must not touch the user's data");
}
