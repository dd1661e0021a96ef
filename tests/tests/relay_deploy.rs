//! The relay's deployment files are usable as shipped: the systemd unit passes
//! `systemd-analyze verify` (and its offline security review), the sample TOML and the
//! container's environment pass `flexdesk relay serve --check-config`, and the container's
//! HEALTHCHECK command tells a running relay from a stopped one.
//!
//! No container daemon is available here, so the image itself is not built by this test.
//! Build the binary first: `cargo build -p flexdesk-cli`.

use base64::Engine as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const FEED_TOKEN: &str = "deploy-feed-token-0123456789";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn deploy(file: &str) -> PathBuf {
    root().join("deploy/relay").join(file)
}

fn flexdesk_bin() -> PathBuf {
    let bin = root().join("target/debug/flexdesk");
    assert!(bin.exists(), "{} is missing: build it first with `cargo build -p flexdesk-cli`", bin.display());
    bin
}

/// `flexdesk` with only the relay variables given here (none inherited from the caller).
fn flexdesk(env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(flexdesk_bin());
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("FLEXDESK_RELAY_")) {
        cmd.env_remove(k);
    }
    cmd.env(
        "FLEXDESK_RELAY_SUBSCRIBER_KEY",
        base64::engine::general_purpose::STANDARD.encode("deploy-subscriber-key-0123456789abcdef"),
    );
    cmd.env("FLEXDESK_RELAY_FEED_TOKEN", FEED_TOKEN);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn systemd_analyze() -> Option<PathBuf> {
    let found = Command::new("sh").args(["-c", "command -v systemd-analyze"]).output().ok()?;
    let path = String::from_utf8_lossy(&found.stdout).trim().to_string();
    (found.status.success() && !path.is_empty()).then(|| PathBuf::from(path))
}

/// The unit with ExecStart pointing at the freshly built binary (verify checks it exists).
fn unit_for_this_machine(dir: &Path) -> PathBuf {
    let unit = std::fs::read_to_string(deploy("flexdesk-relay.service")).unwrap();
    assert!(unit.contains("ExecStart=/usr/local/bin/flexdesk relay serve --config /etc/flexdesk-relay/relay.toml"));
    let path = dir.join("flexdesk-relay.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/flexdesk", &flexdesk_bin().display().to_string())).unwrap();
    path
}

#[test]
fn the_systemd_unit_verifies_cleanly_and_is_hardened() {
    let Some(analyze) = systemd_analyze() else {
        println!("SKIPPED: systemd-analyze is not installed here (Debian package `systemd`)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_machine(dir.path());
    let verify = Command::new(&analyze).arg("verify").arg(&unit).output().unwrap();
    let out = text(&verify);
    assert!(verify.status.success(), "systemd-analyze verify failed:\n{out}");
    // verify exits 0 on unknown keys and typos, printing a warning: any output about the unit fails.
    let about_unit: Vec<&str> = out.lines().filter(|l| l.contains("flexdesk-relay")).collect();
    assert!(about_unit.is_empty(), "systemd-analyze verify warned:\n{}", about_unit.join("\n"));

    let security = Command::new(&analyze).args(["security", "--offline=true"]).arg(&unit).output().unwrap();
    let out = text(&security);
    let exposure: Option<f64> = out
        .lines()
        .find_map(|l| l.split("Overall exposure level for flexdesk-relay.service:").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok());
    match exposure {
        Some(e) => {
            println!("systemd-analyze security: exposure {e}");
            assert!(e <= 2.0, "the unit's exposure is {e} (want <= 2.0, 'OK'):\n{out}");
        }
        None => println!("SKIPPED the exposure check: this systemd-analyze has no offline security review:\n{out}"),
    }
}

#[test]
fn the_units_stop_timeout_outlasts_the_relays_shutdown_grace() {
    let unit = std::fs::read_to_string(deploy("flexdesk-relay.service")).unwrap();
    let stop: u64 = unit.lines().find_map(|l| l.strip_prefix("TimeoutStopSec=")).unwrap().trim().parse().unwrap();
    let toml = std::fs::read_to_string(deploy("relay.toml")).unwrap();
    let grace: u64 =
        toml.lines().find_map(|l| l.strip_prefix("shutdown_grace_secs = ")).unwrap().trim().parse().unwrap();
    assert!(stop > grace + 5, "systemd would SIGKILL ({stop} s) before the relay's drain ends ({grace} s)");
}

#[test]
fn the_sample_toml_passes_check_config() {
    let out = flexdesk(&[])
        .args(["relay", "serve", "--check-config", "--config"])
        .arg(deploy("relay.toml"))
        .output()
        .unwrap();
    let printed = text(&out);
    assert!(out.status.success(), "check-config refused the sample:\n{printed}");
    assert!(printed.contains("# configuration OK"), "{printed}");
    let db_line = printed.lines().find(|l| l.starts_with("db ")).unwrap();
    assert!(
        db_line.contains("\"/var/lib/flexdesk-relay/relay.sqlite3\"") && db_line.contains("# config file"),
        "{db_line}"
    );
    assert!(!printed.contains(FEED_TOKEN), "check-config printed the feed token");
}

#[test]
fn check_config_refuses_a_secret_in_the_file_and_names_key_source_and_remedy() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("relay.toml");
    std::fs::write(&file, format!("feed_token = \"{FEED_TOKEN}\"\nretention_days = 0\n")).unwrap();
    let out = flexdesk(&[("FLEXDESK_RELAY_MAX_DB_MB", "lots")])
        .args(["relay", "serve", "--check-config", "--config"])
        .arg(&file)
        .output()
        .unwrap();
    let printed = text(&out);
    assert_eq!(out.status.code(), Some(1), "{printed}");
    for expected in [
        "the relay configuration has 3 problems",
        "feed_token (from config file",
        "remove it and set FLEXDESK_RELAY_FEED_TOKEN or feed_token_file",
        "retention_days (from config file",
        "0 is out of range: use 1 to 3650 days",
        "max_db_mb (from environment variable FLEXDESK_RELAY_MAX_DB_MB): \"lots\" is not a whole number",
    ] {
        assert!(printed.contains(expected), "missing {expected:?} in:\n{printed}");
    }
}

/// (ENV pairs, HEALTHCHECK CMD arguments) from the Containerfile.
fn containerfile() -> (Vec<(String, String)>, Vec<String>) {
    let text = std::fs::read_to_string(deploy("Containerfile")).unwrap();
    let joined = text.replace("\\\n", " ");
    let env_line = joined.lines().find(|l| l.starts_with("ENV ")).expect("no ENV line");
    let env = env_line[4..]
        .split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_string(), v.to_string())
        })
        .collect();
    let health = joined.lines().find(|l| l.starts_with("HEALTHCHECK ")).expect("no HEALTHCHECK");
    let json = &health[health.find("CMD [").unwrap() + 4..];
    let cmd: Vec<String> = serde_json::from_str(json.trim()).unwrap();
    (env, cmd)
}

#[test]
fn the_containers_environment_passes_check_config() {
    let (env, _) = containerfile();
    let mut vars: Vec<(&str, String)> = Vec::new();
    for (k, v) in &env {
        // The image copies deploy/relay/relay.toml to this path.
        let v =
            if v == "/etc/flexdesk-relay/relay.toml" { deploy("relay.toml").display().to_string() } else { v.clone() };
        vars.push((k.as_str(), v));
    }
    let pairs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let out = flexdesk(&pairs).args(["relay", "serve", "--check-config"]).output().unwrap();
    let printed = text(&out);
    assert!(out.status.success(), "{printed}");
    let bind = printed.lines().find(|l| l.starts_with("bind ")).unwrap();
    assert!(bind.contains("\"0.0.0.0:8788\"") && bind.contains("FLEXDESK_RELAY_BIND"), "{bind}");
}

fn free_port() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

#[test]
fn the_containers_healthcheck_tells_a_running_relay_from_a_stopped_one() {
    let (env, cmd) = containerfile();
    assert_eq!(cmd[..3], ["/usr/local/bin/flexdesk", "relay", "health"]);
    let url_at = cmd.iter().position(|a| a == "--url").unwrap() + 1;
    let bind = &env.iter().find(|(k, _)| k == "FLEXDESK_RELAY_BIND").unwrap().1;
    let port = bind.rsplit(':').next().unwrap();
    assert_eq!(
        cmd[url_at],
        format!("http://127.0.0.1:{port}"),
        "the HEALTHCHECK probes another port than the relay binds"
    );

    // The same command against a relay on a free port.
    let dir = tempfile::tempdir().unwrap();
    let addr = free_port();
    let mut relay = flexdesk(&[])
        .args(["relay", "serve", "--bind", &addr.to_string(), "--db"])
        .arg(dir.path().join("relay.sqlite3"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut args = cmd[1..].to_vec();
    args[url_at - 1] = format!("http://{addr}");
    let probe = || flexdesk(&[]).args(&args).output().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let up = loop {
        let out = probe();
        if out.status.success() {
            break out;
        }
        assert!(relay.try_wait().unwrap().is_none(), "the relay exited at start");
        assert!(Instant::now() < deadline, "the health check never passed: {}", text(&out));
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(text(&up).contains("ok: "), "{}", text(&up));

    let term = Command::new("kill").args(["-TERM", &relay.id().to_string()]).status().unwrap();
    assert!(term.success());
    assert!(relay.wait().unwrap().success(), "the relay did not exit 0 on SIGTERM");
    let down = probe();
    assert_eq!(down.status.code(), Some(1), "a stopped relay passed the health check: {}", text(&down));
    assert!(text(&down).contains("did not answer"), "{}", text(&down));
}

#[test]
fn start_failures_name_the_setting_and_where_it_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = flexdesk(&[])
        .args(["relay", "serve", "--bind", &addr, "--db"])
        .arg(dir.path().join("relay.sqlite3"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("bind = {addr} (from command-line flag --bind): choose a free port")),
        "{}",
        text(&out)
    );

    let no_dir = dir.path().join("no/such/dir/relay.sqlite3");
    let out = flexdesk(&[("FLEXDESK_RELAY_DB", &no_dir.display().to_string()), ("FLEXDESK_RELAY_BIND", "127.0.0.1:0")])
        .args(["relay", "serve"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("(from environment variable FLEXDESK_RELAY_DB): the directory must exist"),
        "{}",
        text(&out)
    );
}

#[test]
fn compact_runs_retention_on_demand_and_reports_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("relay.sqlite3");
    let compact = |days: &str| {
        let out = flexdesk(&[]).args(["relay", "compact", "--retention-days", days, "--db"]).arg(&db).output().unwrap();
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    assert_eq!(compact("30")["prunedByAge"], 0, "a fresh database has nothing to prune");
    // Two events as the relay stores them, one 3 days old and one new.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let old = (chrono::Utc::now() - chrono::Duration::days(3)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let new = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    for (key, at) in [("old", &old), ("new", &new)] {
        conn.execute(
            "INSERT INTO events (dedupe_key, event, is_resent, received_at, body) VALUES (?1, 'order.completed', 0, ?2, '{}')",
            [key, at.as_str()],
        )
        .unwrap();
        conn.execute("INSERT INTO dedupe_keys (dedupe_key, seq, received_at) VALUES (?1, 0, ?2)", [key, at.as_str()])
            .unwrap();
    }
    drop(conn);
    let report = compact("1");
    assert_eq!(report["prunedByAge"], 1, "{report}");
    assert_eq!(report["dedupeKeysPruned"], 0, "dedupe ids are kept 7 days: {report}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let left: Vec<String> = conn
        .prepare("SELECT dedupe_key FROM events")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(left, ["new"]);
}

#[test]
fn every_setting_is_documented_in_the_readme_and_the_sample_toml() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let sample = std::fs::read_to_string(deploy("relay.toml")).unwrap();
    for k in flexdesk_relay::settings::KEYS {
        assert!(
            readme.lines().any(|l| l.starts_with('|') && l.contains(&format!("`{}`", k.key))),
            "README's configuration table does not list {}",
            k.key
        );
        let in_sample = if k.secret { format!("{}_file = ", k.key) } else { format!("{} = ", k.key) };
        assert!(sample.contains(&in_sample), "deploy/relay/relay.toml does not show {in_sample:?}");
    }
}
