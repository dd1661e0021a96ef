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

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{RelayConfig, TlsFiles};

/// Prefix of every relay environment variable.
pub const ENV_PREFIX: &str = "FLEXDESK_RELAY_";
/// The environment variable naming the TOML file (the `--config` flag wins over it).
pub const CONFIG_ENV: &str = "FLEXDESK_RELAY_CONFIG";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(String),
    Flag(String),
    /// A file holding a secret, named by a `*_file` setting.
    SecretFile(PathBuf),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => write!(f, "default"),
            Source::File(p) => write!(f, "config file {}", p.display()),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Flag(flag) => write!(f, "command-line flag {flag}"),
            Source::SecretFile(p) => write!(f, "file {}", p.display()),
        }
    }
}

/// One documented setting.
#[derive(Debug, Clone, Copy)]
pub struct KeyDoc {
    /// The TOML key; the environment variable is `FLEXDESK_RELAY_` + upper case, the flag
    /// is `--` + the key with dashes.
    pub key: &'static str,
    /// The default, as shown in `--check-config` and the README.
    pub default: &'static str,
    pub help: &'static str,
    /// A secret: only from the environment (or its `_file` key), never from TOML or a flag.
    pub secret: bool,
}

/// Every setting the relay reads, in display order.
pub const KEYS: &[KeyDoc] = &[
    KeyDoc { key: "bind", default: "127.0.0.1:8788", help: "address:port to listen on", secret: false },
    KeyDoc { key: "db", default: "relay.sqlite3", help: "the SQLite database file (created if missing)", secret: false },
    KeyDoc {
        key: "public_host",
        default: "(the request's Host header)",
        help: "host name FlexFactor signs, when a proxy rewrites Host",
        secret: false,
    },
    KeyDoc { key: "tls_cert", default: "(none: plain HTTP)", help: "PEM certificate chain; needs tls_key", secret: false },
    KeyDoc { key: "tls_key", default: "(none)", help: "PEM private key; needs tls_cert", secret: false },
    KeyDoc {
        key: "replay_window_secs",
        default: "300",
        help: "deliveries whose x-fc-date is further from now are refused (10..=3600)",
        secret: false,
    },
    KeyDoc {
        key: "max_body_bytes",
        default: "262144",
        help: "larger webhook bodies get 413 (1024..=16777216)",
        secret: false,
    },
    KeyDoc {
        key: "retention_days",
        default: "30",
        help: "events older than this leave the feed; dedupe ids are kept max(this, 7) days (1..=3650)",
        secret: false,
    },
    KeyDoc {
        key: "max_db_mb",
        default: "0",
        help: "when > 0, the oldest events are dropped so the database stays under this size",
        secret: false,
    },
    KeyDoc {
        key: "maintenance_interval_secs",
        default: "600",
        help: "how often retention, compaction and the WAL checkpoint run (10..=86400)",
        secret: false,
    },
    KeyDoc {
        key: "rejected_keep",
        default: "10000",
        help: "refused deliveries kept for inspection, newest first (0..=1000000)",
        secret: false,
    },
    KeyDoc {
        key: "shutdown_grace_secs",
        default: "30",
        help: "on SIGTERM, how long in-flight requests may take to finish (1..=600)",
        secret: false,
    },
    KeyDoc {
        key: "subscriber_key",
        default: "(required)",
        help: "the FlexFactor webhook subscriber key, base64; env FLEXDESK_RELAY_SUBSCRIBER_KEY or subscriber_key_file",
        secret: true,
    },
    KeyDoc {
        key: "feed_token",
        default: "(required)",
        help: "bearer token dashboards present on /feed, >= 16 characters; env FLEXDESK_RELAY_FEED_TOKEN or feed_token_file",
        secret: true,
    },
];

/// Keys that name a file holding a secret (allowed anywhere, including TOML and flags).
const SECRET_FILE_KEYS: &[&str] = &["subscriber_key_file", "feed_token_file"];

/// The environment variable for a key.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The command-line flag for a key.
pub fn flag_name(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

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

/// A raw value from one layer.
#[derive(Debug, Clone)]
struct Raw {
    text: String,
    source: Source,
}

struct Layers {
    values: BTreeMap<String, Raw>,
    problems: Vec<ConfigProblem>,
    warnings: Vec<String>,
}

impl Layers {
    fn problem(&mut self, key: &str, source: Source, message: impl Into<String>) {
        self.problems.push(ConfigProblem { key: key.to_string(), source, message: message.into() });
    }

    fn source_of(&self, key: &str) -> Source {
        self.values.get(key).map(|r| r.source.clone()).unwrap_or(Source::Default)
    }

    /// The value of `key`, or its default when no layer set it.
    fn text(&self, key: &str, default: &str) -> (String, Source) {
        match self.values.get(key) {
            Some(r) => (r.text.clone(), r.source.clone()),
            None => (default.to_string(), Source::Default),
        }
    }

    fn number(&mut self, key: &str, default: u64, range: std::ops::RangeInclusive<u64>, unit: &str) -> u64 {
        let (text, source) = self.text(key, &default.to_string());
        match text.trim().parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            Ok(n) => {
                self.problem(
                    key,
                    source,
                    format!("{n} is out of range: use {} to {} {unit}", range.start(), range.end()),
                );
                default
            }
            Err(_) => {
                self.problem(
                    key,
                    source,
                    format!("{text:?} is not a whole number of {unit}: write e.g. {key} = {default}"),
                );
                default
            }
        }
    }

    fn optional_path(&mut self, key: &str) -> Option<PathBuf> {
        let raw = self.values.get(key)?.clone();
        if raw.text.trim().is_empty() {
            self.problem(key, raw.source, "the path is empty: give a file path or leave the key out");
            return None;
        }
        Some(PathBuf::from(raw.text.trim()))
    }
}

fn known_key(key: &str) -> bool {
    KEYS.iter().any(|k| k.key == key) || SECRET_FILE_KEYS.contains(&key)
}

fn is_secret(key: &str) -> bool {
    KEYS.iter().any(|k| k.key == key && k.secret)
}

/// Turns a TOML value into the text the other layers also give.
fn toml_text(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn read_toml(path: &Path, flagged: bool, layers: &mut Layers) {
    let source = Source::File(path.to_path_buf());
    let how = if flagged { "--config".to_string() } else { CONFIG_ENV.to_string() };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            layers.problem(
                "config",
                Source::Flag(how),
                format!("cannot read {}: {e}; fix the path or create the file", path.display()),
            );
            return;
        }
    };
    let table: toml::Table = match text.parse() {
        Ok(t) => t,
        Err(e) => {
            let msg = e.to_string();
            layers.problem("config", source, format!("not valid TOML: {}", msg.trim()));
            return;
        }
    };
    for (key, value) in &table {
        if is_secret(key) {
            layers.problem(
                key,
                source.clone(),
                format!(
                    "secrets are not read from the config file; remove it and set {} or {key}_file = \"/path/to/file\"",
                    env_name(key)
                ),
            );
            continue;
        }
        if !known_key(key) {
            layers.problem(
                key,
                source.clone(),
                "unknown key; see `flexdesk relay serve --help` or the README's configuration table".to_string(),
            );
            continue;
        }
        match toml_text(value) {
            Some(text) => {
                layers.values.insert(key.clone(), Raw { text, source: source.clone() });
            }
            None => layers.problem(
                key,
                source.clone(),
                format!("a {} is not accepted here: write a string or a whole number", value.type_str()),
            ),
        }
    }
}

fn read_env(env: &BTreeMap<String, String>, layers: &mut Layers) {
    for (var, value) in env {
        let Some(suffix) = var.strip_prefix(ENV_PREFIX) else { continue };
        if var == CONFIG_ENV {
            continue;
        }
        let key = suffix.to_ascii_lowercase();
        if !known_key(&key) {
            layers.warnings.push(format!("ignoring the unknown environment variable {var}"));
            continue;
        }
        layers.values.insert(key, Raw { text: value.clone(), source: Source::Env(var.clone()) });
    }
}

fn read_flags(flags: &BTreeMap<String, String>, layers: &mut Layers) {
    for (key, value) in flags {
        let source = Source::Flag(flag_name(key));
        if is_secret(key) {
            layers.problem(key, source, "secrets are never taken on the command line; use the environment or a _file");
            continue;
        }
        if !known_key(key) {
            layers.problem(key, source, "unknown setting");
            continue;
        }
        layers.values.insert(key.clone(), Raw { text: value.clone(), source });
    }
}

/// Reads the secret `key` from its environment variable or from the file named by
/// `<key>_file`, whichever layer is higher; both variables at once is an error.
fn secret(layers: &mut Layers, env: &BTreeMap<String, String>, key: &str) -> Option<(String, Source)> {
    let file_key = format!("{key}_file");
    let var = env_name(key);
    let direct = env.get(&var).cloned();
    let file = layers.values.get(&file_key).cloned();
    if let (Some(_), Some(f)) = (&direct, &file) {
        if matches!(f.source, Source::Env(_)) {
            layers.problem(
                key,
                Source::Env(var.clone()),
                format!("set either {var} or {}, not both", env_name(&file_key)),
            );
            return None;
        }
    }
    // A flag naming a file beats the environment; the environment beats a file named in TOML.
    let file_wins = file.as_ref().is_some_and(|f| matches!(f.source, Source::Flag(_))) || direct.is_none();
    if let (Some(f), true) = (file, file_wins) {
        return match std::fs::read_to_string(f.text.trim()) {
            Ok(s) if !s.trim().is_empty() => {
                Some((s.trim().to_string(), Source::SecretFile(PathBuf::from(f.text.trim()))))
            }
            Ok(_) => {
                layers.problem(&file_key, f.source, format!("{} is empty: write the {key} into it", f.text.trim()));
                None
            }
            Err(e) => {
                layers.problem(
                    &file_key,
                    f.source,
                    format!("cannot read {}: {e}; point it at a readable file holding the {key}", f.text.trim()),
                );
                None
            }
        };
    }
    match direct {
        Some(v) if !v.trim().is_empty() => Some((v.trim().to_string(), Source::Env(var))),
        Some(_) => {
            layers.problem(key, Source::Env(var), "is empty: set it to the value or unset it");
            None
        }
        None => {
            layers.problem(
                key,
                Source::Default,
                format!("is required: set {var}, or {key}_file in the config file / {}", env_name(&file_key)),
            );
            None
        }
    }
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
