//! The SFTP upload protocol against a real OpenSSH sshd on loopback (started here, as
//! root, with a temporary config, host key and authorized key; installed by
//! scripts/setup.sh). Includes a TCP proxy that cuts the connection mid-upload.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use flexdesk_batch::{BatchError, SftpClient, UploadOutcome};
use flexdesk_tests::sshd::{keygen, Sshd, PASSPHRASE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| b"0123456789abcdef{}[],:\"\n"[i % 24]).collect()
}

fn list(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Forwards 127.0.0.1:<port> to `target`; the first connection is cut after `cut_after`
/// client→server bytes, later ones pass through.
async fn cutting_proxy(target: u16, cut_after: u64) -> (u16, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let cut = Arc::new(AtomicBool::new(false));
    let cut_flag = cut.clone();
    tokio::spawn(async move {
        let mut first = true;
        while let Ok((mut client, _)) = listener.accept().await {
            let mut server = TcpStream::connect(("127.0.0.1", target)).await.unwrap();
            let limit = if first { Some(cut_after) } else { None };
            first = false;
            let cut_flag = cut_flag.clone();
            tokio::spawn(async move {
                let (mut cr, mut cw) = client.split();
                let (mut sr, mut sw) = server.split();
                let sent = AtomicU64::new(0);
                let up = async {
                    let mut buf = vec![0u8; 8192];
                    loop {
                        let n = match cr.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        if let Some(limit) = limit {
                            if sent.fetch_add(n as u64, Ordering::SeqCst) + n as u64 > limit {
                                cut_flag.store(true, Ordering::SeqCst);
                                return; // drop both directions: the connection is cut
                            }
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                };
                let down = tokio::io::copy(&mut sr, &mut cw);
                tokio::select! { _ = up => {}, _ = down => {} }
            });
        }
    });
    (port, cut)
}

/// Records every size ever seen under the final name (polled every 2 ms).
fn watch_final(path: PathBuf) -> (Arc<AtomicBool>, std::thread::JoinHandle<Vec<u64>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        while !s.load(Ordering::SeqCst) {
            if let Ok(m) = std::fs::metadata(&path) {
                if seen.last() != Some(&m.len()) {
                    seen.push(m.len());
                }
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        seen
    });
    (stop, handle)
}

#[tokio::test]
async fn upload_appears_only_under_its_final_name_and_is_never_sent_twice() {
    let sshd = Sshd::start();
    let s = sshd.settings(sshd.port);
    let client = SftpClient::connect(&s, Some(PASSPHRASE)).await.unwrap();
    let bytes = payload(300_000);
    let mut calls = 0;
    let out =
        client.upload(&s.inbound_dir, &s.outbound_dir, "evaluate_a.json", &bytes, |_, _| calls += 1).await.unwrap();
    assert_eq!(out, UploadOutcome::Uploaded { resumed_at: 0 });
    assert!(calls > 10, "progress is reported per chunk");
    assert_eq!(list(&sshd.path().join("inbound")), vec!["evaluate_a.json"]);
    assert_eq!(std::fs::read(sshd.path().join("inbound/evaluate_a.json")).unwrap(), bytes);
    let again = client.upload(&s.inbound_dir, &s.outbound_dir, "evaluate_a.json", &bytes, |_, _| {}).await.unwrap();
    assert_eq!(again, UploadOutcome::AlreadyThere);
    // Once the server answered (and removed the input), it is still not sent again.
    std::fs::remove_file(sshd.path().join("inbound/evaluate_a.json")).unwrap();
    std::fs::write(sshd.path().join("outbound/evaluate_a_response.json"), b"[]").unwrap();
    let third = client.upload(&s.inbound_dir, &s.outbound_dir, "evaluate_a.json", &bytes, |_, _| {}).await.unwrap();
    assert_eq!(third, UploadOutcome::AlreadyThere);
    assert!(list(&sshd.path().join("inbound")).is_empty());
    assert_eq!(client.fetch_response(&s.outbound_dir, "evaluate_a.json").await.unwrap().as_deref(), Some(&b"[]"[..]));
    client.close().await;
}

#[tokio::test]
async fn a_partial_file_that_is_not_the_start_of_the_new_bytes_is_sent_again_from_the_beginning() {
    let sshd = Sshd::start();
    let s = sshd.settings(sshd.port);
    let bytes = payload(300_000);
    // Left by an earlier attempt whose header (access token) has been renewed since.
    let mut stale = bytes[..100_000].to_vec();
    stale[10] ^= 0x20;
    std::fs::write(sshd.path().join("inbound/.evaluate_renewed.json.part"), &stale).unwrap();
    let client = SftpClient::connect(&s, Some(PASSPHRASE)).await.unwrap();
    let out = client.upload(&s.inbound_dir, &s.outbound_dir, "evaluate_renewed.json", &bytes, |_, _| {}).await.unwrap();
    assert_eq!(out, UploadOutcome::Uploaded { resumed_at: 0 });
    assert_eq!(std::fs::read(sshd.path().join("inbound/evaluate_renewed.json")).unwrap(), bytes);
    // The start of the same bytes is resumed.
    std::fs::write(sshd.path().join("inbound/.evaluate_same.json.part"), &bytes[..100_000]).unwrap();
    let out = client.upload(&s.inbound_dir, &s.outbound_dir, "evaluate_same.json", &bytes, |_, _| {}).await.unwrap();
    assert_eq!(out, UploadOutcome::Uploaded { resumed_at: 100_000 });
    assert_eq!(std::fs::read(sshd.path().join("inbound/evaluate_same.json")).unwrap(), bytes);
    client.close().await;
}

#[tokio::test]
async fn a_wrong_host_key_sends_nothing() {
    let sshd = Sshd::start();
    let mut s = sshd.settings(sshd.port);
    keygen(&sshd.path().join("other"), "");
    s.host_key = std::fs::read_to_string(sshd.path().join("other.pub")).unwrap();
    let err = SftpClient::connect(&s, Some(PASSPHRASE)).await.err().expect("must fail");
    assert!(matches!(err, BatchError::HostKeyMismatch { .. }), "{err}");
    // A SHA256 fingerprint of the right key is accepted.
    let right = std::fs::read_to_string(sshd.path().join("host_key.pub")).unwrap();
    let key = flexdesk_batch::ssh_keys::PublicKey::from_openssh(right.trim()).unwrap();
    s.host_key = flexdesk_batch::fingerprint(&key);
    SftpClient::connect(&s, Some(PASSPHRASE)).await.unwrap().close().await;
}

#[tokio::test]
async fn a_wrong_passphrase_or_unknown_key_is_refused() {
    let sshd = Sshd::start();
    let s = sshd.settings(sshd.port);
    let err = SftpClient::connect(&s, Some("wrong")).await.err().expect("must fail");
    assert!(matches!(err, BatchError::Key { .. }), "{err}");
    let mut other = s.clone();
    keygen(&sshd.path().join("stranger"), "");
    other.key_path = sshd.path().join("stranger");
    let err = SftpClient::connect(&other, None).await.err().expect("must fail");
    assert!(matches!(err, BatchError::AuthRejected { .. }), "{err}");
}

#[tokio::test]
async fn a_cut_connection_leaves_no_final_file_and_the_retry_uploads_exactly_once() {
    let sshd = Sshd::start();
    let bytes = payload(1_500_000);
    let (proxy_port, cut) = cutting_proxy(sshd.port, 400_000).await;
    let final_path = sshd.path().join("inbound/evaluate_cut.json");
    let (stop, watcher) = watch_final(final_path.clone());

    let s = sshd.settings(proxy_port);
    let client = SftpClient::connect(&s, Some(PASSPHRASE)).await.unwrap();
    let mut high = 0;
    let first = client.upload(&s.inbound_dir, &s.outbound_dir, "evaluate_cut.json", &bytes, |n, _| high = n).await;
    let err = first.expect_err("the cut upload must fail");
    assert!(err.is_transient(), "{err}");
    assert!(cut.load(Ordering::SeqCst));
    assert!(high < bytes.len() as u64);
    assert!(!final_path.exists(), "nothing under the final name after the cut");
    let partial = std::fs::metadata(sshd.path().join("inbound/.evaluate_cut.json.part")).map(|m| m.len()).unwrap_or(0);
    assert!(partial < bytes.len() as u64);

    // The retry (through the proxy again, which now passes everything) resumes.
    let client = SftpClient::connect(&s, Some(PASSPHRASE)).await.unwrap();
    let out = client.upload(&s.inbound_dir, &s.outbound_dir, "evaluate_cut.json", &bytes, |_, _| {}).await.unwrap();
    // sshd may still have written packets it had received before the cut: resume at its size.
    let UploadOutcome::Uploaded { resumed_at } = out else { panic!("expected an upload, got {out:?}") };
    assert!(resumed_at >= partial && resumed_at > 0 && resumed_at < bytes.len() as u64, "resumed at {resumed_at}");
    let again = client.upload(&s.inbound_dir, &s.outbound_dir, "evaluate_cut.json", &bytes, |_, _| {}).await.unwrap();
    assert_eq!(again, UploadOutcome::AlreadyThere);
    client.close().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    stop.store(true, Ordering::SeqCst);
    let sizes = watcher.join().unwrap();
    assert_eq!(sizes, vec![bytes.len() as u64], "the final name only ever held the whole file");
    assert_eq!(std::fs::read(&final_path).unwrap(), bytes);
    assert_eq!(list(&sshd.path().join("inbound")), vec!["evaluate_cut.json"]);
}
