//! A FlexFactor merchant on loopback for the batch tests: a sandbox (HTTP API) with its
//! SFTP endpoint, the merchant's SSH key (with a passphrase), and CSVs of failed rebills
//! whose cards are vaulted at that sandbox.

use std::path::PathBuf;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use flexdesk_core::dto::{EnvironmentDto, NewAccount};
use flexfactor_client::{ClientConfig, FlexFactorClient};
use flexfactor_sandbox::{Sandbox, SandboxConfig, SandboxCredentials, SftpConfig, SftpEndpoint};
use flexfactor_wire::{CreditCard, TokenizePaymentMethod, TokenizeRequest};

pub const APP_KEY: &str = "merchant-app-key";
pub const APP_SECRET: &str = "merchant-app-secret-0123456789";
/// The merchant's SSH key passphrase.
pub const KEY_PASSPHRASE: &str = "merchant key phrase";

pub struct Merchant {
    pub sandbox: Sandbox,
    pub sftp: SftpEndpoint,
    /// The SSH key pair (`id_ed25519`, `id_ed25519.pub`) and the endpoint's folders (`server/`).
    pub dir: tempfile::TempDir,
}

impl Merchant {
    /// Starts the sandbox and an SFTP endpoint that picks up uploads every `poll_every`.
    pub async fn start(poll_every: Duration) -> Merchant {
        let anchor = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let mut config = SandboxConfig::demo(7, anchor, SandboxCredentials::new(APP_KEY, APP_SECRET));
        config.order_count = 30;
        let sandbox = Sandbox::start(config).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        crate::sshd::keygen(&dir.path().join("id_ed25519"), KEY_PASSPHRASE);
        let public = std::fs::read_to_string(dir.path().join("id_ed25519.pub")).unwrap();
        let mut sftp_config = SftpConfig::new(dir.path().join("server"), vec![public]);
        sftp_config.poll_every = poll_every;
        let sftp = sandbox.start_sftp(sftp_config).await.unwrap();
        Merchant { sandbox, sftp, dir }
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("id_ed25519")
    }

    /// A second endpoint on the same folders that processes uploads every 200 ms (for
    /// tests whose first endpoint never does).
    pub async fn start_processing(&self) -> SftpEndpoint {
        let public = std::fs::read_to_string(self.dir.path().join("id_ed25519.pub")).unwrap();
        let mut config = SftpConfig::new(self.dir.path().join("server"), vec![public]);
        config.poll_every = Duration::from_millis(200);
        self.sandbox.start_sftp(config).await.unwrap()
    }

    /// The custom account FlexDesk adds for this merchant.
    pub fn account(&self) -> NewAccount {
        NewAccount {
            name: "Loopback merchant".into(),
            environment: EnvironmentDto::Custom,
            base_url: self.sandbox.base_url(),
            mid: self.sandbox.mid().to_string(),
            app_key: APP_KEY.into(),
            app_secret: APP_SECRET.into(),
        }
    }

    /// A billing-system CSV of `rows` failed rebills (`<prefix>-<n>` invoice ids), each card
    /// tokenized at the sandbox.
    pub async fn rebills_csv(&self, prefix: &str, rows: usize) -> String {
        let client = FlexFactorClient::new(ClientConfig::new(self.sandbox.base_url(), APP_KEY, APP_SECRET)).unwrap();
        let failed = (Utc::now() - chrono::Duration::hours(3)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut csv = String::from("invoice_id,psp_txn_id,amount_cents,currency,failed_at,email,card_token\n");
        for i in 0..rows {
            let card = TokenizeRequest {
                payment_method: TokenizePaymentMethod {
                    email: Some(format!("{prefix}{i}@example.com")),
                    sense_key: None,
                    credit_card: CreditCard {
                        first_name: "Rebill".into(),
                        last_name: format!("Customer {i}"),
                        number: "4000002760003184".into(),
                        verification_value: "123".into(),
                        month: Some("09".into()),
                        year: Some("2030".into()),
                    },
                },
            };
            let answer = client.tokenize(self.sandbox.mid(), self.sandbox.tokenization_key(), &card).await.unwrap();
            let token = answer.token().unwrap();
            let amount = 1200 + i * 100;
            csv.push_str(&format!(
                "{prefix}-{i},psp-{prefix}-{i},{amount},USD,{failed},{prefix}{i}@example.com,{token}\n"
            ));
        }
        csv
    }

    /// How many of the sandbox's orders carry this merchant order id.
    pub fn orders_with_external_id(&self, id: &str) -> usize {
        self.sandbox.orders_snapshot().iter().filter(|o| o.external_order_id.as_deref() == Some(id)).count()
    }
}
