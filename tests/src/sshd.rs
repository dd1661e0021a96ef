//! A real OpenSSH sshd on loopback for the SFTP tests (started as root with a temporary
//! config, host key and authorized key; openssh-server is installed by scripts/setup.sh).
//! It serves `<dir>/inbound` and `<dir>/outbound`; the client key has [`PASSPHRASE`].

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use flexdesk_batch::SftpSettings;

/// The client key's passphrase.
pub const PASSPHRASE: &str = "correct horse battery";

/// A running sshd, killed on drop.
pub struct Sshd {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `ssh-keygen -t ed25519` into `path` (and `path.pub`).
pub fn keygen(path: &Path, passphrase: &str) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-f"])
        .arg(path)
        .status()
        .expect("ssh-keygen (openssh-client) is installed by scripts/setup.sh");
    assert!(ok.success());
}

/// The user sshd logs us in as (the one running the tests).
pub fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

impl Sshd {
    pub fn start() -> Sshd {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        keygen(&d.join("host_key"), "");
        keygen(&d.join("client_key"), PASSPHRASE);
        std::fs::copy(d.join("client_key.pub"), d.join("authorized_keys")).unwrap();
        std::fs::create_dir_all(d.join("inbound")).unwrap();
        std::fs::create_dir_all(d.join("outbound")).unwrap();
        std::fs::create_dir_all("/run/sshd").unwrap();
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
             StrictModes no\nPidFile {d}/sshd.pid\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\nSubsystem sftp internal-sftp\n\
             LogLevel ERROR\n",
            d = d.display()
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let child = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config"))
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("/usr/sbin/sshd (openssh-server) is installed by scripts/setup.sh");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(10), "sshd did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Sshd { child, dir, port }
    }

    /// The folder holding the keys, the config, `inbound/` and `outbound/`.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The server's host public key (OpenSSH line).
    pub fn host_key(&self) -> String {
        std::fs::read_to_string(self.path().join("host_key.pub")).unwrap().trim().to_string()
    }

    /// Settings that reach this sshd on `port` (its own, or a proxy's) with its host key pinned.
    pub fn settings(&self, port: u16) -> SftpSettings {
        SftpSettings {
            host: "127.0.0.1".into(),
            port,
            user: whoami(),
            key_path: self.path().join("client_key"),
            host_key: self.host_key(),
            inbound_dir: self.path().join("inbound").display().to_string(),
            outbound_dir: self.path().join("outbound").display().to_string(),
        }
    }
}
