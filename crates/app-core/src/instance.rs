//! One FlexDesk per data directory: the first start holds an exclusive lock on
//! `instance.lock` for its lifetime and listens on `instance.sock`; a second start finds the
//! lock taken, asks the first to come to the front, and exits.
//!
//! The lock (an OS file lock, released by the kernel when the process dies, even on
//! kill -9) is the source of truth; the socket only carries the "activate" request. A
//! stale socket file left by a crash is replaced by the next first start.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LOCK_FILE: &str = "instance.lock";
const SOCKET_FILE: &str = "instance.sock";
const ACTIVATE: &[u8] = b"activate\n";
const ACK: &[u8] = b"ok\n";

/// What [`claim`] found.
pub enum Claim {
    /// This process is the instance: keep the guard alive; `listen` for activations.
    First(InstanceGuard),
    /// Another FlexDesk holds this data directory.
    AlreadyRunning(OtherInstance),
}

/// What became of the request to the running instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OtherInstance {
    /// It answered and is bringing its window to the front.
    Activated,
    /// It holds the lock but did not answer (starting up, or hung).
    NoAnswer { pid: Option<u32>, detail: String },
}

/// Held by the running instance; dropping it releases the data directory.
pub struct InstanceGuard {
    _lock: File,
    socket: PathBuf,
    listener: Option<UnixListener>,
}

/// Claims `data_dir` for this process, or asks its current owner to come forward.
pub fn claim(data_dir: &Path) -> Result<Claim, String> {
    std::fs::create_dir_all(data_dir)
        .map_err(|e| format!("cannot create the data directory {}: {e}", data_dir.display()))?;
    let lock_path = data_dir.join(LOCK_FILE);
    let mut lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .map_err(|e| format!("cannot open {}: {e}", lock_path.display()))?;
    let socket = data_dir.join(SOCKET_FILE);
    match lock.try_lock() {
        Ok(()) => {
            let _ = lock.set_len(0);
            let _ = write!(lock, "{}", std::process::id());
            let _ = std::fs::remove_file(&socket);
            let listener = UnixListener::bind(&socket)
                .map_err(|e| tracing::warn!(error = %e, path = %socket.display(), "cannot listen for second starts"))
                .ok();
            Ok(Claim::First(InstanceGuard { _lock: lock, socket, listener }))
        }
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            let pid = lock.read_to_string(&mut text).ok().and_then(|_| text.trim().parse().ok());
            Ok(Claim::AlreadyRunning(activate_other(&socket, pid)))
        }
        Err(TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", lock_path.display())),
    }
}

/// The desktop FlexDesk holding `data_dir` (with its pid when it wrote one), asking it
/// nothing and taking nothing: `None` when no instance runs on it. For the CLI's commands
/// that must not run beside the app (a batch upload the app would also resume).
///
/// # Errors
/// The lock file cannot be opened or checked.
pub fn holder(data_dir: &Path) -> Result<Option<Option<u32>>, String> {
    let lock_path = data_dir.join(LOCK_FILE);
    let mut lock = match OpenOptions::new().read(true).write(true).open(&lock_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot open {}: {e}", lock_path.display())),
    };
    match lock.try_lock() {
        // Free: released again when `lock` is dropped here.
        Ok(()) => Ok(None),
        Err(TryLockError::WouldBlock) => {
            let mut text = String::new();
            Ok(Some(lock.read_to_string(&mut text).ok().and_then(|_| text.trim().parse().ok())))
        }
        Err(TryLockError::Error(e)) => Err(format!("cannot check {}: {e}", lock_path.display())),
    }
}

fn activate_other(socket: &Path, pid: Option<u32>) -> OtherInstance {
    let attempt = || -> std::io::Result<()> {
        let mut stream = UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        stream.write_all(ACTIVATE)?;
        let mut answer = [0u8; 3];
        stream.read_exact(&mut answer)?;
        if answer == ACK {
            Ok(())
        } else {
            Err(std::io::Error::other("unexpected answer"))
        }
    };
    // The first instance may still be starting (lock taken, socket not yet bound).
    let mut last = String::new();
    for _ in 0..10 {
        match attempt() {
            Ok(()) => return OtherInstance::Activated,
            Err(e) => last = e.to_string(),
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    OtherInstance::NoAnswer { pid, detail: last }
}

impl InstanceGuard {
    /// Calls `on_activate` (on a background thread) each time a second start asks this
    /// instance to come to the front.
    pub fn listen(&mut self, on_activate: impl Fn() + Send + 'static) {
        let Some(listener) = self.listener.take() else { return };
        let spawned = std::thread::Builder::new().name("flexdesk-instance".into()).spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
                let mut request = [0u8; 9];
                if stream.read_exact(&mut request).is_ok() && request == ACTIVATE {
                    tracing::info!("a second start asked this window to come to the front");
                    on_activate();
                    let _ = stream.write_all(ACK);
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot listen for second starts");
        }
    }
}

impl Drop for InstanceGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// What a second start prints before it exits.
pub fn second_start_message(data_dir: &Path, other: &OtherInstance) -> String {
    match other {
        OtherInstance::Activated => "FlexDesk is already running; its window was brought to the front.".to_string(),
        OtherInstance::NoAnswer { pid, detail } => format!(
            "FlexDesk is already running{} with the data directory {}, but it did not answer ({detail}). \
             Switch to its window, or if it is stuck, end that process and start FlexDesk again.",
            pid.map(|p| format!(" (process {p})")).unwrap_or_default(),
            data_dir.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn a_second_claim_on_the_same_directory_activates_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let Claim::First(mut guard) = claim(dir.path()).unwrap() else { panic!("first claim must win") };
        let seen = Arc::new(AtomicUsize::new(0));
        let s = seen.clone();
        guard.listen(move || {
            s.fetch_add(1, Ordering::SeqCst);
        });
        match claim(dir.path()).unwrap() {
            Claim::AlreadyRunning(OtherInstance::Activated) => {}
            Claim::AlreadyRunning(other) => panic!("not activated: {other:?}"),
            Claim::First(_) => panic!("the lock was granted twice"),
        }
        assert_eq!(seen.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_directory_is_free_again_once_the_first_instance_ends() {
        let dir = tempfile::tempdir().unwrap();
        let Claim::First(guard) = claim(dir.path()).unwrap() else { panic!("first claim must win") };
        drop(guard);
        assert!(matches!(claim(dir.path()).unwrap(), Claim::First(_)));
    }

    #[test]
    fn the_holder_of_a_directory_is_seen_without_being_asked_anything() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(holder(dir.path()).unwrap(), None, "no lock file yet");
        let Claim::First(guard) = claim(dir.path()).unwrap() else { panic!("first claim must win") };
        assert_eq!(holder(dir.path()).unwrap(), Some(Some(std::process::id())));
        drop(guard);
        assert_eq!(holder(dir.path()).unwrap(), None);
        assert!(matches!(claim(dir.path()).unwrap(), Claim::First(_)), "checking took nothing");
    }

    #[test]
    fn another_data_directory_is_another_instance() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let Claim::First(_ga) = claim(a.path()).unwrap() else { panic!("a") };
        assert!(matches!(claim(b.path()).unwrap(), Claim::First(_)));
    }

    #[test]
    fn a_holder_that_never_answers_is_reported_with_its_pid() {
        let dir = tempfile::tempdir().unwrap();
        // Holds the lock but its listener is gone.
        let Claim::First(mut guard) = claim(dir.path()).unwrap() else { panic!("first claim must win") };
        drop(guard.listener.take());
        match claim(dir.path()).unwrap() {
            Claim::AlreadyRunning(other @ OtherInstance::NoAnswer { .. }) => {
                let OtherInstance::NoAnswer { pid, .. } = &other else { unreachable!() };
                assert_eq!(*pid, Some(std::process::id()));
                assert!(second_start_message(dir.path(), &other).contains("did not answer"));
            }
            _ => panic!("expected no answer"),
        }
    }
}
