//! Accounts: which FlexFactor merchant account(s) this mirror holds. No secrets here.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row};

use crate::error::{MirrorError, SqlContext};
use crate::Mirror;

/// Which FlexFactor environment an account talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// The embedded Demo account on the in-process sandbox.
    Demo,
    Sandbox,
    Production,
    Custom,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Demo => "demo",
            Environment::Sandbox => "sandbox",
            Environment::Production => "production",
            Environment::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Environment> {
        match s {
            "demo" => Some(Environment::Demo),
            "sandbox" => Some(Environment::Sandbox),
            "production" => Some(Environment::Production),
            "custom" => Some(Environment::Custom),
            _ => None,
        }
    }
}

/// A configured account. The AppSecret is in the keychain under the account id.
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub id: String,
    pub name: String,
    pub environment: Environment,
    /// The API root (`…/v1`). For the Demo account this is a placeholder: the in-process
    /// sandbox gets a new loopback port on every start.
    pub base_url: String,
    pub mid: String,
    /// The public AppKey (not a secret per the API docs).
    pub app_key: String,
    /// Demo only: the seed and anchor of the deterministic sandbox history.
    pub demo_seed: Option<u64>,
    pub demo_anchor: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl Account {
    /// An account other than the Demo (no seeded history), created now.
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        environment: Environment,
        base_url: impl Into<String>,
        mid: impl Into<String>,
        app_key: impl Into<String>,
    ) -> Account {
        Account {
            id: id.into(),
            name: name.into(),
            environment,
            base_url: base_url.into(),
            mid: mid.into(),
            app_key: app_key.into(),
            demo_seed: None,
            demo_anchor: None,
            created_at: Utc::now(),
        }
    }
}

const ACTIVE_ACCOUNT: &str = "active_account";
const COLUMNS: &str = "id, name, environment, base_url, mid, app_key, demo_seed, demo_anchor, created_at";

fn read_account(r: &Row<'_>) -> rusqlite::Result<Account> {
    let env: String = r.get(2)?;
    let parse_time =
        |s: Option<String>| s.and_then(|s| DateTime::parse_from_rfc3339(&s).ok()).map(|d| d.with_timezone(&Utc));
    Ok(Account {
        id: r.get(0)?,
        name: r.get(1)?,
        environment: Environment::parse(&env).unwrap_or(Environment::Custom),
        base_url: r.get(3)?,
        mid: r.get(4)?,
        app_key: r.get(5)?,
        demo_seed: r.get::<_, Option<i64>>(6)?.map(|s| s as u64),
        demo_anchor: parse_time(r.get(7)?),
        created_at: parse_time(Some(r.get(8)?)).unwrap_or_default(),
    })
}

impl Mirror {
    pub fn insert_account(&self, a: &Account) -> Result<(), MirrorError> {
        self.conn
            .execute(
                "INSERT INTO accounts (id, name, environment, base_url, mid, app_key, demo_seed, demo_anchor, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                rusqlite::params![
                    a.id,
                    a.name,
                    a.environment.as_str(),
                    a.base_url,
                    a.mid,
                    a.app_key,
                    a.demo_seed.map(|s| s as i64),
                    a.demo_anchor.map(|d| d.to_rfc3339()),
                    a.created_at.to_rfc3339(),
                ],
            )
            .op("saving an account")?;
        Ok(())
    }

    pub fn delete_account(&self, id: &str) -> Result<(), MirrorError> {
        self.conn.execute("DELETE FROM accounts WHERE id = ?1", [id]).op("deleting an account")?;
        Ok(())
    }

    /// All accounts, oldest first.
    pub fn accounts(&self) -> Result<Vec<Account>, MirrorError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM accounts ORDER BY created_at, id"))
            .op("listing accounts")?;
        let rows = stmt.query_map([], read_account).op("listing accounts")?;
        rows.collect::<Result<Vec<_>, _>>().op("reading accounts")
    }

    pub fn account(&self, id: &str) -> Result<Option<Account>, MirrorError> {
        self.conn
            .query_row(&format!("SELECT {COLUMNS} FROM accounts WHERE id = ?1"), [id], read_account)
            .optional()
            .op("reading an account")
    }

    /// The active account: the one chosen last, else the oldest.
    pub fn active_account(&self) -> Result<Option<Account>, MirrorError> {
        if let Some(id) = self.setting(ACTIVE_ACCOUNT)? {
            if let Some(a) = self.account(&id)? {
                return Ok(Some(a));
            }
        }
        Ok(self.accounts()?.into_iter().next())
    }

    pub fn set_active_account(&self, id: &str) -> Result<(), MirrorError> {
        self.set_setting(ACTIVE_ACCOUNT, id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(id: &str, env: Environment) -> Account {
        Account {
            id: id.into(),
            name: format!("Account {id}"),
            environment: env,
            base_url: "https://api-sandbox.flexfactor.io/v1".into(),
            mid: "mid".into(),
            app_key: "key".into(),
            demo_seed: Some(7),
            demo_anchor: Some(Utc::now()),
            created_at: Utc::now(),
        }
    }

    #[test]
    fn accounts_round_trip_and_the_chosen_one_is_active() {
        let m = Mirror::open_in_memory().unwrap();
        assert_eq!(m.active_account().unwrap(), None);
        let a = account("a", Environment::Demo);
        let b = account("b", Environment::Production);
        m.insert_account(&a).unwrap();
        m.insert_account(&b).unwrap();
        assert_eq!(m.active_account().unwrap().unwrap().id, "a");
        m.set_active_account("b").unwrap();
        let active = m.active_account().unwrap().unwrap();
        assert_eq!(active.environment, Environment::Production);
        assert_eq!(active.demo_seed, Some(7));
        assert_eq!(m.accounts().unwrap().len(), 2);
    }
}
