#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers fail by panicking

use flexdesk_relay::settings::{Settings, SettingsInput, Source};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

const KEY_B64: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="; // "0123456789abcdef0123456789abcdef"
const TOKEN: &str = "feed-token-0123456789-secret";

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn secrets() -> Vec<(&'static str, &'static str)> {
    vec![("FLEXDESK_RELAY_SUBSCRIBER_KEY", KEY_B64), ("FLEXDESK_RELAY_FEED_TOKEN", TOKEN)]
}

fn write_toml(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("relay.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn problems(input: &SettingsInput) -> String {
    Settings::load(input).expect_err("the configuration should have been refused").to_string()
}

#[test]
fn defaults_then_file_then_environment_then_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        write_toml(&dir, "bind = \"0.0.0.0:9000\"\nretention_days = 14\nmax_db_mb = 512\nreplay_window_secs = 120\n");
    let mut e = env(&secrets());
    e.insert("FLEXDESK_RELAY_RETENTION_DAYS".into(), "21".into());
    e.insert("FLEXDESK_RELAY_REPLAY_WINDOW_SECS".into(), "200".into());
    let flags: BTreeMap<String, String> = [("replay_window_secs".to_string(), "60".to_string())].into();
    let s = Settings::load(&SettingsInput { config_flag: Some(file.clone()), env: e, flags }).unwrap();

    assert_eq!(s.bind.to_string(), "0.0.0.0:9000", "from the file");
    assert_eq!(s.source("bind"), Source::File(file.clone()));
    assert_eq!(s.max_db_mb, 512);
    assert_eq!(s.retention_days, 21, "the environment beats the file");
    assert_eq!(s.source("retention_days"), Source::Env("FLEXDESK_RELAY_RETENTION_DAYS".into()));
    assert_eq!(s.replay_window, Duration::from_secs(60), "a flag beats the environment and the file");
    assert_eq!(s.source("replay_window_secs"), Source::Flag("--replay-window-secs".into()));
    assert_eq!(s.max_body_bytes, 256 * 1024, "untouched keys keep their default");
    assert_eq!(s.source("max_body_bytes"), Source::Default);

    let c = s.relay_config();
    assert_eq!(c.retention, Duration::from_secs(21 * 24 * 3600));
    assert_eq!(c.max_db_bytes, Some(512 * 1024 * 1024));
    assert_eq!(c.subscriber_key, b"0123456789abcdef0123456789abcdef");
    assert_eq!(c.feed_token, TOKEN);
}

#[test]
fn the_config_file_can_be_named_by_the_environment_and_the_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let by_env = write_toml(&dir, "retention_days = 9\n");
    let by_flag = dir.path().join("other.toml");
    std::fs::write(&by_flag, "retention_days = 10\n").unwrap();
    let mut e = env(&secrets());
    e.insert("FLEXDESK_RELAY_CONFIG".into(), by_env.display().to_string());
    let s = Settings::load(&SettingsInput { env: e.clone(), ..Default::default() }).unwrap();
    assert_eq!(s.retention_days, 9);
    let s = Settings::load(&SettingsInput { config_flag: Some(by_flag), env: e, ..Default::default() }).unwrap();
    assert_eq!(s.retention_days, 10);
}

#[test]
fn a_secret_written_in_the_toml_file_is_refused_with_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_toml(&dir, &format!("feed_token = \"{TOKEN}\"\nsubscriber_key = \"{KEY_B64}\"\n"));
    let msg = problems(&SettingsInput { config_flag: Some(file), env: env(&secrets()), ..Default::default() });
    assert!(msg.contains("feed_token (from config file"), "{msg}");
    assert!(msg.contains("secrets are not read from the config file"), "{msg}");
    assert!(msg.contains("FLEXDESK_RELAY_FEED_TOKEN or feed_token_file"), "{msg}");
    assert!(msg.contains("subscriber_key (from config file"), "{msg}");
    assert!(!msg.contains(TOKEN), "the error must not echo the secret: {msg}");
}

#[test]
fn secrets_are_never_taken_as_flags() {
    let flags: BTreeMap<String, String> = [("feed_token".to_string(), TOKEN.to_string())].into();
    let msg = problems(&SettingsInput { env: env(&secrets()), flags, ..Default::default() });
    assert!(msg.contains("feed_token (from command-line flag --feed-token): secrets are never taken"), "{msg}");
}

#[test]
fn secrets_come_from_files_named_in_toml_and_the_environment_beats_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("subscriber_key");
    let token_file = dir.path().join("feed_token");
    std::fs::write(&key_file, format!("{KEY_B64}\n")).unwrap();
    std::fs::write(&token_file, "token-from-a-file-0123456789\n").unwrap();
    let file = write_toml(
        &dir,
        &format!("subscriber_key_file = {:?}\nfeed_token_file = {:?}\n", key_file.display(), token_file.display()),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = Settings::load(&SettingsInput { config_flag: Some(file.clone()), ..Default::default() }).unwrap();
    assert_eq!(s.feed_token.expose(), "token-from-a-file-0123456789", "the trailing newline is trimmed");
    assert_eq!(
        s.warnings,
        [format!("{} (feed_token_file) is readable by other users: chmod 600 it", token_file.display())],
        "only the group/world-readable file is flagged"
    );
    assert_eq!(s.source("feed_token"), Source::SecretFile(token_file.clone()));
    assert_eq!(s.subscriber_key.expose().len(), 32);

    let e = env(&[("FLEXDESK_RELAY_FEED_TOKEN", TOKEN)]);
    let s = Settings::load(&SettingsInput { config_flag: Some(file), env: e, ..Default::default() }).unwrap();
    assert_eq!(s.feed_token.expose(), TOKEN);
    assert_eq!(s.source("feed_token"), Source::Env("FLEXDESK_RELAY_FEED_TOKEN".into()));
}

#[test]
fn a_secret_set_both_directly_and_as_a_file_in_the_environment_is_ambiguous() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("feed_token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let mut e = env(&secrets());
    e.insert("FLEXDESK_RELAY_FEED_TOKEN_FILE".into(), token_file.display().to_string());
    let msg = problems(&SettingsInput { env: e, ..Default::default() });
    assert!(msg.contains("set either FLEXDESK_RELAY_FEED_TOKEN or FLEXDESK_RELAY_FEED_TOKEN_FILE, not both"), "{msg}");
}

#[test]
fn every_bad_value_is_reported_at_once_with_its_key_source_and_remedy() {
    let dir = tempfile::tempdir().unwrap();
    let file =
        write_toml(&dir, "retention_days = \"a week\"\nmax_db_mb = 1.5\ncolour = \"blue\"\ntls_cert = \"/x.pem\"\n");
    let mut e = env(&[("FLEXDESK_RELAY_FEED_TOKEN", "short")]);
    e.insert("FLEXDESK_RELAY_REPLAY_WINDOW_SECS".into(), "5".into());
    e.insert("FLEXDESK_RELAY_SUBSCRIBER_KEY_FILE".into(), dir.path().join("missing").display().to_string());
    let flags: BTreeMap<String, String> = [("bind".to_string(), "localhost".to_string())].into();
    let msg = problems(&SettingsInput { config_flag: Some(file), env: e, flags });
    for expected in [
        "retention_days (from config file",
        "\"a week\" is not a whole number of days",
        "max_db_mb (from config file",
        "colour (from config file",
        "unknown key",
        "tls_cert needs tls_key",
        "replay_window_secs (from environment variable FLEXDESK_RELAY_REPLAY_WINDOW_SECS): 5 is out of range",
        "subscriber_key_file (from environment variable FLEXDESK_RELAY_SUBSCRIBER_KEY_FILE): cannot read",
        "feed_token (from environment variable FLEXDESK_RELAY_FEED_TOKEN): is shorter than 16 characters",
        "bind (from command-line flag --bind): \"localhost\" is not an address:port",
    ] {
        assert!(msg.contains(expected), "missing {expected:?} in:\n{msg}");
    }
    assert!(msg.starts_with("the relay configuration has 8 problems"), "{msg}");
}

#[test]
fn missing_secrets_say_which_variable_to_set() {
    let msg = problems(&SettingsInput::default());
    assert!(msg.contains("subscriber_key (from default): is required: set FLEXDESK_RELAY_SUBSCRIBER_KEY"), "{msg}");
    assert!(msg.contains("feed_token (from default): is required: set FLEXDESK_RELAY_FEED_TOKEN"), "{msg}");
}

#[test]
fn invalid_toml_is_reported_with_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_toml(&dir, "bind = \n");
    let msg = problems(&SettingsInput { config_flag: Some(file.clone()), env: env(&secrets()), ..Default::default() });
    assert!(msg.contains(&format!("config (from config file {}): not valid TOML", file.display())), "{msg}");
    let gone = dir.path().join("nope.toml");
    let msg = problems(&SettingsInput { config_flag: Some(gone), env: env(&secrets()), ..Default::default() });
    assert!(msg.contains("config (from command-line flag --config): cannot read"), "{msg}");
}

#[test]
fn the_description_masks_secrets_and_names_sources() {
    let mut e = env(&secrets());
    e.insert("FLEXDESK_RELAY_RETENTON_DAYS".into(), "3".into());
    let s = Settings::load(&SettingsInput { env: e, ..Default::default() }).unwrap();
    let text = s.describe();
    assert!(!text.contains(TOKEN) && !text.contains(KEY_B64), "a secret leaked:\n{text}");
    assert!(format!("{s:?}").contains("<redacted>") && !format!("{s:?}").contains(TOKEN));
    assert!(text.contains("<set, 28 characters, hidden>"), "{text}");
    assert!(text.contains("# environment variable FLEXDESK_RELAY_FEED_TOKEN"), "{text}");
    assert!(text.contains("retention_days             = 30"), "{text}");
    assert!(text.contains("warning: ignoring the unknown environment variable FLEXDESK_RELAY_RETENTON_DAYS"), "{text}");
}
