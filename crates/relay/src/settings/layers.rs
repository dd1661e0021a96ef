//! Reading the layers (TOML file, environment, flags) into raw text values, and the secrets.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::keys::{env_name, flag_name, Source, CONFIG_ENV, ENV_PREFIX, KEYS, SECRET_FILE_KEYS};
use super::ConfigProblem;

/// A raw value from one layer.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub(crate) text: String,
    pub(crate) source: Source,
}

pub(crate) struct Layers {
    pub(crate) values: BTreeMap<String, Raw>,
    pub(crate) problems: Vec<ConfigProblem>,
    pub(crate) warnings: Vec<String>,
}

impl Layers {
    pub(crate) fn problem(&mut self, key: &str, source: Source, message: impl Into<String>) {
        self.problems.push(ConfigProblem { key: key.to_string(), source, message: message.into() });
    }

    pub(crate) fn source_of(&self, key: &str) -> Source {
        self.values.get(key).map(|r| r.source.clone()).unwrap_or(Source::Default)
    }

    /// The value of `key`, or its default when no layer set it.
    pub(crate) fn text(&self, key: &str, default: &str) -> (String, Source) {
        match self.values.get(key) {
            Some(r) => (r.text.clone(), r.source.clone()),
            None => (default.to_string(), Source::Default),
        }
    }

    pub(crate) fn number(&mut self, key: &str, default: u64, range: std::ops::RangeInclusive<u64>, unit: &str) -> u64 {
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

    pub(crate) fn optional_path(&mut self, key: &str) -> Option<PathBuf> {
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

pub(crate) fn read_toml(path: &Path, flagged: bool, layers: &mut Layers) {
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

pub(crate) fn read_env(env: &BTreeMap<String, String>, layers: &mut Layers) {
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

pub(crate) fn read_flags(flags: &BTreeMap<String, String>, layers: &mut Layers) {
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

fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map(|m| m.permissions().mode() & 0o077 != 0).unwrap_or(false)
}

/// Reads the secret `key` from its environment variable or from the file named by
/// `<key>_file`, whichever layer is higher; both variables at once is an error.
pub(crate) fn secret(layers: &mut Layers, env: &BTreeMap<String, String>, key: &str) -> Option<(String, Source)> {
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
                let path = PathBuf::from(f.text.trim());
                if readable_by_others(&path) {
                    layers
                        .warnings
                        .push(format!("{} ({file_key}) is readable by other users: chmod 600 it", path.display()));
                }
                Some((s.trim().to_string(), Source::SecretFile(path)))
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
