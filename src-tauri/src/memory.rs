//! Handing freed heap memory back to the OS while the app idles.
//!
//! glibc keeps memory a thread freed in that thread's arena for reuse; a sync of a large
//! account allocates and frees pages of API JSON on the runtime's worker threads, so an idle
//! app would otherwise keep megabytes it no longer uses (about 8 MB with a 1M-order mirror,
//! measured by calling it from gdb in an idle app). `malloc_trim` returns the free pages. It is
//! cheap (with a 1M-order mirror: about 0.5 ms the first time, 75 µs at idle after that, as
//! logged at trace level by `startup_bench` runs), so it simply runs every 10 s.

use std::time::Duration;

/// How often free heap memory is handed back.
const EVERY: Duration = Duration::from_secs(10);

pub fn trim_periodically() {
    tauri::async_runtime::spawn(async move {
        let mut tick = tokio::time::interval(EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate: skip it, start-up is still busy
        loop {
            tick.tick().await;
            trim();
        }
    });
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointers and only walks glibc's own arenas, under their
    // locks; it is safe to call from any thread at any time.
    let started = std::time::Instant::now();
    let released = unsafe { libc::malloc_trim(0) } == 1;
    tracing::trace!(released, micros = started.elapsed().as_micros() as u64, "free heap memory returned to the OS");
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
