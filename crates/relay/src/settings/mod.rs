//! Layered relay settings for `flexdesk relay serve`.
//!
//! Precedence, lowest first: built-in defaults < the TOML file (`--config <path>` or
//! `FLEXDESK_RELAY_CONFIG`) < environment variables `FLEXDESK_RELAY_<KEY>` < command-line
//! flags. Secrets (the webhook subscriber key and the feed token) come only from the
//! environment or from a file named by `<secret>_file`; a secret written into the TOML file
//! itself is refused, and no secret is ever taken as a command-line argument.
//!
//! Every refused value is reported with its key, where it came from and what to do; all
//! problems are reported at once, not only the first.

mod keys;
mod layers;

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use keys::{env_name, flag_name, KeyDoc, Source, CONFIG_ENV, ENV_PREFIX, KEYS};
use layers::{read_env, read_flags, read_toml, secret, Layers, Raw};

use crate::{RelayConfig, TlsFiles};

/// One refused value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub key: String,
    pub source: Source,
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (from {}): {}", self.key, self.source, self.message)
    }
}

/// Everything wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigProblem>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "the relay configuration has {n} problem{}:", if n == 1 { "" } else { "s" })?;
        for p in &self.0 {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// What [`Settings::load`] reads: the process environment and flags are passed in so tests
/// can supply their own.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    /// `--config <path>`.
    pub config_flag: Option<PathBuf>,
    /// The environment (only `FLEXDESK_RELAY_*` variables are looked at).
    pub env: BTreeMap<String, String>,
    /// Command-line flags that were given, by key (`bind`, `retention_days`, …).
    pub flags: BTreeMap<String, String>,
}

impl SettingsInput {
    /// The `FLEXDESK_RELAY_*` variables of this process.
    pub fn process_env() -> BTreeMap<String, String> {
        std::env::vars().filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect()
    }
}

/// A secret value whose `Debug` does not print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted>")
    }
}

/// The effective relay settings, with where each value came from.
#[derive(Debug, Clone)]
pub struct Settings {
    pub config_file: Option<PathBuf>,
    pub bind: SocketAddr,
    pub db: PathBuf,
    pub public_host: Option<String>,
    pub tls: Option<TlsFiles>,
    pub replay_window: Duration,
    pub max_body_bytes: usize,
    pub retention_days: u64,
    pub max_db_mb: u64,
    pub maintenance_interval: Duration,
    pub rejected_keep: u64,
    pub shutdown_grace: Duration,
    pub subscriber_key: Secret<Vec<u8>>,
    pub feed_token: Secret<String>,
    sources: BTreeMap<String, Source>,
    /// Non-fatal findings (e.g. an unknown `FLEXDESK_RELAY_*` variable).
    pub warnings: Vec<String>,
}

impl Settings {
    /// Applies the layers and validates every value.
    pub fn load(input: &SettingsInput) -> Result<Settings, ConfigErrors> {
        let mut layers = Layers { values: BTreeMap::new(), problems: Vec::new(), warnings: Vec::new() };
        let config_file = match (&input.config_flag, input.env.get(CONFIG_ENV)) {
            (Some(p), _) => Some((p.clone(), true)),
            (None, Some(p)) if !p.trim().is_empty() => Some((PathBuf::from(p.trim()), false)),
            _ => None,
        };
        if let Some((path, flagged)) = &config_file {
            read_toml(path, *flagged, &mut layers);
        }
        read_env(&input.env, &mut layers);
        read_flags(&input.flags, &mut layers);

        let (bind_text, bind_source) = layers.text("bind", "127.0.0.1:8788");
        let bind = match bind_text.trim().parse::<SocketAddr>() {
            Ok(a) => a,
            Err(_) => {
                layers.problem(
                    "bind",
                    bind_source,
                    format!("{bind_text:?} is not an address:port; write e.g. 0.0.0.0:8788 or [::]:8788"),
                );
                SocketAddr::from(([127, 0, 0, 1], 8788))
            }
        };
        let (db_text, db_source) = layers.text("db", "relay.sqlite3");
        if db_text.trim().is_empty() {
            layers.problem("db", db_source, "the database path is empty: give a file path");
        }
        let db = PathBuf::from(db_text.trim());
        let public_host = match layers.values.get("public_host").cloned() {
            Some(r) if r.text.trim().is_empty() || r.text.contains(['/', ' ']) => {
                layers.problem(
                    "public_host",
                    r.source,
                    format!("{:?} is not a host name; write e.g. relay.example.com (no scheme, no path)", r.text),
                );
                None
            }
            Some(r) => Some(r.text.trim().to_string()),
            None => None,
        };
        let tls = match (layers.optional_path("tls_cert"), layers.optional_path("tls_key")) {
            (Some(cert_pem), Some(key_pem)) => {
                for (key, path) in [("tls_cert", &cert_pem), ("tls_key", &key_pem)] {
                    if let Err(e) = std::fs::metadata(path) {
                        let source = layers.source_of(key);
                        layers.problem(key, source, format!("cannot read {}: {e}; fix the path", path.display()));
                    }
                }
                Some(TlsFiles { cert_pem, key_pem })
            }
            (Some(_), None) => {
                let source = layers.source_of("tls_cert");
                layers.problem("tls_cert", source, "tls_cert needs tls_key as well (or remove both for plain HTTP)");
                None
            }
            (None, Some(_)) => {
                let source = layers.source_of("tls_key");
                layers.problem("tls_key", source, "tls_key needs tls_cert as well (or remove both for plain HTTP)");
                None
            }
            (None, None) => None,
        };
        let replay_window = Duration::from_secs(layers.number("replay_window_secs", 300, 10..=3600, "seconds"));
        let max_body_bytes = layers.number("max_body_bytes", 256 * 1024, 1024..=16 * 1024 * 1024, "bytes") as usize;
        let retention_days = layers.number("retention_days", 30, 1..=3650, "days");
        let max_db_mb = layers.number("max_db_mb", 0, 0..=10_000_000, "megabytes");
        let maintenance_interval =
            Duration::from_secs(layers.number("maintenance_interval_secs", 600, 10..=86_400, "seconds"));
        let rejected_keep = layers.number("rejected_keep", 10_000, 0..=1_000_000, "deliveries");
        let shutdown_grace = Duration::from_secs(layers.number("shutdown_grace_secs", 30, 1..=600, "seconds"));

        let subscriber_key = match secret(&mut layers, &input.env, "subscriber_key") {
            Some((b64, source)) => match flexfactor_wire::webhook::decode_key(&b64) {
                Ok(key) => {
                    layers.values.insert("subscriber_key".into(), Raw { text: String::new(), source });
                    key
                }
                Err(e) => {
                    layers.problem(
                        "subscriber_key",
                        source,
                        format!("{e}; paste the base64 key exactly as the FlexFactor portal shows it"),
                    );
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let feed_token = match secret(&mut layers, &input.env, "feed_token") {
            Some((token, source)) if token.chars().count() < 16 => {
                layers.problem(
                    "feed_token",
                    source,
                    "is shorter than 16 characters: use a long random token (e.g. `openssl rand -hex 32`)",
                );
                String::new()
            }
            Some((token, source)) => {
                layers.values.insert("feed_token".into(), Raw { text: String::new(), source });
                token
            }
            None => String::new(),
        };
        if !layers.problems.is_empty() {
            return Err(ConfigErrors(layers.problems));
        }
        let sources = layers.values.iter().map(|(k, r)| (k.clone(), r.source.clone())).collect();
        Ok(Settings {
            config_file: config_file.map(|(p, _)| p),
            bind,
            db,
            public_host,
            tls,
            replay_window,
            max_body_bytes,
            retention_days,
            max_db_mb,
            maintenance_interval,
            rejected_keep,
            shutdown_grace,
            subscriber_key: Secret(subscriber_key),
            feed_token: Secret(feed_token),
            sources,
            warnings: layers.warnings,
        })
    }

    /// Where `key`'s effective value came from.
    pub fn source(&self, key: &str) -> Source {
        self.sources.get(key).cloned().unwrap_or(Source::Default)
    }

    /// The relay configuration these settings describe.
    pub fn relay_config(&self) -> RelayConfig {
        let mut c = RelayConfig::new(self.db.clone(), self.subscriber_key.0.clone(), self.feed_token.0.clone());
        c.bind = self.bind;
        c.public_host = self.public_host.clone();
        c.tls = self.tls.clone();
        c.replay_window = self.replay_window;
        c.max_body_bytes = self.max_body_bytes;
        c.retention = Duration::from_secs(self.retention_days * 24 * 3600);
        c.max_db_bytes = (self.max_db_mb > 0).then_some(self.max_db_mb * 1024 * 1024);
        c.maintenance_interval = self.maintenance_interval;
        c.rejected_keep = self.rejected_keep;
        c.shutdown_grace = self.shutdown_grace;
        c
    }

    /// The effective configuration as TOML-like lines, each with its source; secrets are
    /// shown only as "set" with their size.
    pub fn describe(&self) -> String {
        let path = |p: &Path| format!("{:?}", p.display().to_string());
        let mut rows: Vec<(&str, String)> = vec![
            ("bind", format!("\"{}\"", self.bind)),
            ("db", path(&self.db)),
            ("public_host", self.public_host.as_ref().map(|h| format!("{h:?}")).unwrap_or_else(|| "# unset".into())),
            ("tls_cert", self.tls.as_ref().map(|t| path(&t.cert_pem)).unwrap_or_else(|| "# unset".into())),
            ("tls_key", self.tls.as_ref().map(|t| path(&t.key_pem)).unwrap_or_else(|| "# unset".into())),
            ("replay_window_secs", self.replay_window.as_secs().to_string()),
            ("max_body_bytes", self.max_body_bytes.to_string()),
            ("retention_days", self.retention_days.to_string()),
            ("max_db_mb", self.max_db_mb.to_string()),
            ("maintenance_interval_secs", self.maintenance_interval.as_secs().to_string()),
            ("rejected_keep", self.rejected_keep.to_string()),
            ("shutdown_grace_secs", self.shutdown_grace.as_secs().to_string()),
        ];
        rows.push(("subscriber_key", format!("\"<set, {} bytes, hidden>\"", self.subscriber_key.0.len())));
        rows.push(("feed_token", format!("\"<set, {} characters, hidden>\"", self.feed_token.0.chars().count())));
        let mut out = String::from("# flexdesk relay: effective configuration\n");
        match &self.config_file {
            Some(p) => out.push_str(&format!("# config file: {}\n", p.display())),
            None => out.push_str("# config file: none\n"),
        }
        for (key, value) in rows {
            out.push_str(&format!("{key:<26} = {value:<40} # {}\n", self.source(key)));
        }
        let week = 7u64.max(self.retention_days);
        out.push_str(&format!("# dedupe ids are kept {week} days\n"));
        for w in &self.warnings {
            out.push_str(&format!("# warning: {w}\n"));
        }
        out
    }
}
