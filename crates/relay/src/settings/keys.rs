//! The documented settings: names, defaults, where each comes from.

use std::fmt;
use std::path::PathBuf;

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
pub(crate) const SECRET_FILE_KEYS: &[&str] = &["subscriber_key_file", "feed_token_file"];

/// The environment variable for a key.
pub fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase())
}

/// The command-line flag for a key.
pub fn flag_name(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}
