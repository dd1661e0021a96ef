//! Benchmark: desktop start-up with a large mirror (DESIGN.md §8: cold start to first rows
//! < 1.5 s, idle memory < 200 MB, with 1M orders).
//!
//! 1. Starts a FlexFactor sandbox holding `orders` orders on a fixed loopback port, **in this
//!    process**, so it stands in for FlexFactor's servers: the app talks to it over HTTP, and
//!    its memory and work are not the app's. Builds (under `target/startup-bench/<orders>`) a
//!    data directory with one real account (environment "sandbox", secret in the real
//!    keychain) whose mirror the real app core backfilled from that sandbox — so every order
//!    in the mirror is known to the API, as for a real merchant.
//! 2. Starts the **release** app (`target/release/flexdesk-app`, or `$FLEXDESK_APP_BIN`)
//!    on it `runs` times. Start-up = from just before `spawn` to the moment the UI reports,
//!    two animation frames after its first rows were rendered, through the
//!    `first_rows_shown` command (written to `$FLEXDESK_STARTUP_PROBE`). Before each cold run
//!    the OS page cache is dropped (needs root), so the binary, the libraries and the mirror
//!    are read from disk.
//! 3. After `idle_secs` of idling, memory of the app and every process under it (WebKit's
//!    web and network processes): summed PSS (shared pages divided among the processes that
//!    map them, so the sum is what the app occupies; the verdict) and summed RSS.
//!
//! Last, for comparison, the memory of WebKitGTK's own MiniBrowser on `about:blank` (the
//! floor under any WebKitGTK app here).
//!
//! With `demo` as an argument it measures the Demo account as shipped instead (a fresh data
//! directory; the app creates the account and runs its sandbox and relay in-process).
//!
//! Needs a display, D-Bus and an unlocked keyring, like the end-to-end tests:
//! ```text
//! cargo build --release -p flexdesk-app && cargo build --release -p flexdesk-tests --bin startup_bench
//! dbus-run-session -- bash -c 'printf x | gnome-keyring-daemon --unlock --components=secrets >/dev/null;
//!   xvfb-run -a -s "-screen 0 1280x800x24" target/release/startup_bench [orders=1000000] [runs=5] [idle_secs=20] [demo]'
//! ```

use anyhow::{bail, Context, Result};
use chrono::{TimeZone, Utc};
use flexdesk_core::dto::{EnvironmentDto, NewAccount};
use flexdesk_core::{AppCore, CoreConfig};
use flexdesk_secrets::KeychainStore;
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The sandbox's port: fixed, because the account saved in the data directory points at it.
const SANDBOX_PORT: u16 = 4611;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn unix_ms() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default()
}

/// The sandbox standing in for FlexFactor, with `orders` orders over a year of history.
async fn start_sandbox(orders: usize) -> Result<Sandbox> {
    let t = Instant::now();
    let anchor = Utc.with_ymd_and_hms(2026, 11, 23, 12, 0, 0).single().context("anchor")?;
    let mut config = SandboxConfig::demo(7, anchor, SandboxCredentials::new("bench-key", "bench-secret"));
    config.order_count = orders;
    config.history_days = 365;
    config.bind = SocketAddr::from((Ipv4Addr::LOCALHOST, SANDBOX_PORT));
    let sandbox = Sandbox::start(config).await.context("starting the sandbox")?;
    eprintln!(
        "sandbox with {} orders at {} in {:.1} s",
        sandbox.order_count(),
        sandbox.base_url(),
        t.elapsed().as_secs_f64()
    );
    Ok(sandbox)
}

/// A data directory whose active account is backed by `sandbox`, its mirror backfilled by the
/// real app core. Built once; reused on request (FLEXDESK_BENCH_REUSE=1), because the secret
/// lives in the keyring of the session that built it.
async fn prepare(orders: usize, sandbox: &Sandbox) -> Result<PathBuf> {
    let dir = repo_root().join(format!("target/startup-bench/account-{orders}"));
    let done = dir.join(".ready");
    if done.exists() && std::env::var_os("FLEXDESK_BENCH_REUSE").is_some() {
        eprintln!("reusing {}", dir.display());
        return Ok(dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let t = Instant::now();
    let mut config = CoreConfig::new(dir.clone(), Arc::new(KeychainStore::new()));
    config.background_sync = false;
    let core = AppCore::open(config)?;
    let account = core
        .add_account(NewAccount {
            name: "Bench merchant".into(),
            environment: EnvironmentDto::Sandbox,
            base_url: sandbox.base_url(),
            mid: sandbox.mid().to_string(),
            app_key: "bench-key".into(),
            app_secret: "bench-secret".into(),
        })
        .await
        .context("adding the account (is the keyring unlocked?)")?;
    core.sync_once().await?;
    let total = core.app_status()?.total_rows;
    core.shutdown().await;
    drop(core);
    eprintln!("account {} backfilled with {total} orders in {:.1} s", account.id, t.elapsed().as_secs_f64());
    let conn = rusqlite::Connection::open(dir.join("mirror.sqlite3"))?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    eprintln!("mirror ready: {total} orders, {} MB", std::fs::metadata(dir.join("mirror.sqlite3"))?.len() / 1_048_576);
    std::fs::write(&done, total.to_string())?;
    Ok(dir)
}

/// A fresh data directory: the app creates the Demo account at its first start.
fn prepare_demo() -> Result<PathBuf> {
    let dir = repo_root().join("target/startup-bench/demo");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// One process of the app's tree: pid, name, RSS and PSS in kB.
type Process = (u32, String, u64, u64);

/// Memory (kB) of `root` and all its descendants: summed RSS (counts shared library pages
/// once per process) and summed PSS (shares each shared page among the processes using it,
/// so the sum is what the app really occupies), with the per-process figures.
fn tree_memory_kb(root: u32) -> (u64, u64, Vec<Process>) {
    let mut parent = std::collections::HashMap::new();
    let mut info = std::collections::HashMap::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for e in entries.flatten() {
            let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
            let Ok(status) = std::fs::read_to_string(e.path().join("status")) else { continue };
            let get =
                |key: &str| status.lines().find(|l| l.starts_with(key)).map(|l| l[key.len()..].trim().to_string());
            let ppid = get("PPid:").and_then(|v| v.parse::<u32>().ok()).unwrap_or(0);
            let rss = get("VmRSS:").and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok()).unwrap_or(0);
            let name = get("Name:").unwrap_or_default();
            let pss = std::fs::read_to_string(e.path().join("smaps_rollup"))
                .ok()
                .and_then(|t| t.lines().find(|l| l.starts_with("Pss:"))?.split_whitespace().nth(1)?.parse::<u64>().ok())
                .unwrap_or(rss);
            parent.insert(pid, ppid);
            info.insert(pid, (name, rss, pss));
        }
    }
    let in_tree = |mut pid: u32| {
        while pid != 0 {
            if pid == root {
                return true;
            }
            pid = *parent.get(&pid).unwrap_or(&0);
        }
        false
    };
    let mut members: Vec<Process> = info
        .iter()
        .filter(|(pid, _)| in_tree(**pid))
        .map(|(pid, (name, rss, pss))| (*pid, name.clone(), *rss, *pss))
        .collect();
    members.sort();
    (members.iter().map(|m| m.2).sum(), members.iter().map(|m| m.3).sum(), members)
}

/// With `$FLEXDESK_BENCH_SMAPS` set to a folder: copies each process's `/proc/<pid>/smaps`
/// there (as `<pid>-<name>.smaps`), to see which mappings the memory is in.
fn keep_smaps(members: &[Process]) {
    let Some(dir) = std::env::var_os("FLEXDESK_BENCH_SMAPS").map(PathBuf::from) else { return };
    let _ = std::fs::create_dir_all(&dir);
    for (pid, name, _, _) in members {
        if let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/smaps")) {
            let _ = std::fs::write(dir.join(format!("{pid}-{name}.smaps")), text);
        }
    }
}

fn drop_caches() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

struct Run {
    start_ms: u128,
    rss_mb: f64,
    pss_mb: f64,
}

fn run_once(app: &Path, data_dir: &Path, idle: Duration, cold: bool) -> Result<Run> {
    let probe = std::env::temp_dir().join(format!("flexdesk-startup-probe-{}", std::process::id()));
    let _ = std::fs::remove_file(&probe);
    if cold && !drop_caches() {
        bail!("cannot drop the page cache (not root?)");
    }
    let t0 = unix_ms();
    let mut child = Command::new(app)
        .env("FLEXDESK_DATA_DIR", data_dir)
        .env("FLEXDESK_STARTUP_PROBE", &probe)
        .env("FLEXDESK_DEMO_TRAFFIC", "0")
        .env("FLEXDESK_LOG", std::env::var("FLEXDESK_LOG").unwrap_or_else(|_| "warn".into()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", app.display()))?;
    let started = Instant::now();
    let shown = loop {
        if let Ok(text) = std::fs::read_to_string(&probe) {
            if let Some(ms) = text.split_whitespace().next().and_then(|v| v.parse::<u128>().ok()) {
                break ms;
            }
        }
        if let Some(status) = child.try_wait()? {
            bail!("the app exited before showing rows: {status}");
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            bail!("no rows shown within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    std::thread::sleep(idle);
    let (rss_kb, pss_kb, members) = tree_memory_kb(child.id());
    keep_smaps(&members);
    for (pid, name, rss, pss) in &members {
        eprintln!(
            "    pid {pid:>7} {name:<24} RSS {:>7.1} MB  PSS {:>7.1} MB",
            *rss as f64 / 1024.0,
            *pss as f64 / 1024.0
        );
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.wait();
    let _ = std::fs::remove_file(&probe);
    // The app must have released the data directory before the next run.
    std::thread::sleep(Duration::from_millis(500));
    Ok(Run { start_ms: shown.saturating_sub(t0), rss_mb: rss_kb as f64 / 1024.0, pss_mb: pss_kb as f64 / 1024.0 })
}

/// WebKitGTK's own MiniBrowser showing `about:blank` in a window of the same size, with the
/// same WebKit environment the app sets (compositing off): the memory any WebKitGTK app
/// occupies on this machine before its own code and page, for comparison.
fn webkit_floor(idle: Duration) -> Result<()> {
    let mini = Path::new("/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser");
    if !mini.is_file() {
        println!("WebKitGTK floor: {} not installed, skipped", mini.display());
        return Ok(());
    }
    let mut child = Command::new(mini)
        .args(["--geometry=1280x800", "about:blank"])
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", mini.display()))?;
    std::thread::sleep(idle);
    let (rss_kb, pss_kb, members) = tree_memory_kb(child.id());
    keep_smaps(&members);
    for (pid, name, rss, pss) in &members {
        eprintln!(
            "    pid {pid:>7} {name:<24} RSS {:>7.1} MB  PSS {:>7.1} MB",
            *rss as f64 / 1024.0,
            *pss as f64 / 1024.0
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "WebKitGTK floor (MiniBrowser, about:blank, compositing off): PSS {:.0} MB, summed RSS {:.0} MB",
        pss_kb as f64 / 1024.0,
        rss_kb as f64 / 1024.0
    );
    Ok(())
}

fn summary(label: &str, runs: &[Run]) {
    let mut s: Vec<u128> = runs.iter().map(|r| r.start_ms).collect();
    s.sort();
    let mut m: Vec<f64> = runs.iter().map(|r| r.rss_mb).collect();
    m.sort_by(f64::total_cmp);
    let mut p: Vec<f64> = runs.iter().map(|r| r.pss_mb).collect();
    p.sort_by(f64::total_cmp);
    let max_start = *s.last().unwrap_or(&0);
    let max_pss = p.last().copied().unwrap_or(0.0);
    println!(
        "{label}: start to first rows median {} ms, max {} ms (target < 1500 ms: {}); idle memory of the app and its \
         WebKit processes: PSS median {:.0} MB, max {:.0} MB (target < 200 MB: {}); summed RSS median {:.0} MB",
        s[s.len() / 2],
        max_start,
        if max_start < 1500 { "PASS" } else { "FAIL" },
        p[p.len() / 2],
        max_pss,
        if max_pss < 200.0 { "PASS" } else { "FAIL" },
        m[m.len() / 2],
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let demo = std::env::args().skip(1).any(|a| a == "demo");
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let orders = args.first().copied().unwrap_or(1_000_000);
    let runs = args.get(1).copied().unwrap_or(5).max(1);
    let idle = Duration::from_secs(args.get(2).copied().unwrap_or(20) as u64);
    if std::env::var_os("DISPLAY").is_none() {
        bail!("no DISPLAY: run under xvfb-run (see the header of tests/src/bin/startup_bench.rs)");
    }
    let app = std::env::var_os("FLEXDESK_APP_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/release/flexdesk-app"));
    if !app.is_file() {
        bail!("{} missing: cargo build --release -p flexdesk-app", app.display());
    }
    let (sandbox, data_dir, what) = if demo {
        (None, prepare_demo()?, "the Demo account (20,000 orders, sandbox and relay in-process)".to_string())
    } else {
        let sandbox = start_sandbox(orders).await?;
        let dir = prepare(orders, &sandbox).await?;
        (Some(sandbox), dir, format!("a {orders}-order mirror of a sandbox account"))
    };
    println!("start-up benchmark: {} with {what}, {runs} runs, {} s idle", app.display(), idle.as_secs());
    let cold_possible = drop_caches();
    let mut warm = Vec::new();
    let mut cold = Vec::new();
    for i in 0..runs {
        let r = run_once(&app, &data_dir, idle, false)?;
        println!(
            "  warm run {}: first rows after {} ms, idle PSS {:.0} MB, RSS {:.0} MB",
            i + 1,
            r.start_ms,
            r.pss_mb,
            r.rss_mb
        );
        warm.push(r);
        if cold_possible {
            let r = run_once(&app, &data_dir, idle, true)?;
            println!(
                "  cold run {} (page cache dropped): first rows after {} ms, idle PSS {:.0} MB, RSS {:.0} MB",
                i + 1,
                r.start_ms,
                r.pss_mb,
                r.rss_mb
            );
            cold.push(r);
        }
    }
    drop(sandbox);
    webkit_floor(idle)?;
    summary("warm (files in the page cache)", &warm);
    if !cold.is_empty() {
        summary("cold (page cache dropped before each start)", &cold);
    } else {
        println!("cold runs skipped: cannot drop the page cache without root");
    }
    Ok(())
}
