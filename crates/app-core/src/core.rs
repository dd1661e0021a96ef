//! [`AppCore`]: the API the shell and the CLI call.

use chrono::Utc;
use flexdesk_mirror::{Account, Environment, Mirror, OrderFilter};
use flexdesk_secrets::{account_key, Secret, SecretStore};
use flexdesk_sync::SyncReport;
use flexfactor_client::{ClientConfig, FlexFactorClient};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;

use crate::demo::{create_demo_account, start_demo_relay, start_demo_sandbox, APP_SECRET, DEMO_ORDER_COUNT};
use crate::dto::{
    AccountView, AppStatus, JobProgress, NewAccount, OrderPage, OrderQuery, OrderRow, RelayStatus, SyncPhase,
    SyncStatus,
};
use crate::session::{feed_loop, initial_status, refresh_loop, run_sync, sync_loop, Session};
use crate::{CoreError, IpcError};

/// The settings key of the poll interval (seconds).
const POLL_INTERVAL: &str = "poll_interval_secs";

/// An account's relay (URL, feed token), or its URL and why the token could not be read.
type RelaySettings = (Option<(String, String)>, Option<(String, IpcError)>);

/// The keychain purpose of an account's relay feed token.
pub(crate) const RELAY_TOKEN: &str = "relay-token";

/// How the core is set up by its host (the desktop shell, the CLI, a test).
pub struct CoreConfig {
    /// Where the mirror (`mirror.sqlite3`) lives.
    pub data_dir: PathBuf,
    /// The keychain (tests may pass another store).
    pub secrets: Arc<dyn SecretStore>,
    /// Orders in the Demo history.
    pub demo_order_count: usize,
    /// Time between background syncs.
    pub poll_interval: Duration,
    /// Run the sync loop in the background (the desktop app) or only on demand (the CLI).
    pub background_sync: bool,
    /// Demo only: new orders per minute from the sandbox's live traffic generator (0: off).
    pub demo_traffic_per_minute: u32,
    /// Mirror files up to this size are checked whole before opening; larger ones get their
    /// irreplaceable tables checked first and the rest in the background.
    pub whole_check_max_bytes: u64,
    /// A window will report its first rows (`first_rows_shown`): at start-up, background
    /// work waits for them, at most a few seconds (the desktop app; off for the CLI).
    pub first_screen_gate: bool,
    /// How long that wait lasts at most when no first rows are reported.
    pub first_screen_grace: Duration,
    /// How long after an unanswered refund request FlexDesk waits before an unchanged
    /// refunded total counts as proof that the refund was not made (and it may be resent):
    /// FlexFactor may still be processing a request whose answer was lost.
    pub refund_quiet_period: Duration,
    /// How long an upload waits for FlexFactor's response files, checking every half
    /// second, before it says there is no response yet.
    pub batch_response_wait: Duration,
    /// After that wait: how often FlexDesk looks again for the responses of batches that
    /// are uploaded but unanswered, as long as it runs (FlexFactor may answer a day later).
    pub batch_recheck_every: Duration,
}

/// The default [`CoreConfig::refund_quiet_period`]: longer than the API client's request
/// timeout, with a margin.
pub const REFUND_QUIET_PERIOD: Duration = Duration::from_secs(90);

impl CoreConfig {
    pub fn new(data_dir: PathBuf, secrets: Arc<dyn SecretStore>) -> CoreConfig {
        CoreConfig {
            data_dir,
            secrets,
            demo_order_count: DEMO_ORDER_COUNT,
            poll_interval: Duration::from_secs(60),
            background_sync: true,
            demo_traffic_per_minute: 6,
            whole_check_max_bytes: crate::system::WHOLE_CHECK_MAX_BYTES,
            first_screen_gate: false,
            first_screen_grace: crate::session::FIRST_SCREEN_GRACE,
            refund_quiet_period: REFUND_QUIET_PERIOD,
            batch_response_wait: crate::batches::RESPONSE_WAIT,
            batch_recheck_every: crate::batches::RECHECK_EVERY,
        }
    }
}

pub(crate) struct Inner {
    pub config: CoreConfig,
    pub db_path: PathBuf,
    reader: Mutex<Mirror>,
    status: Mutex<StatusState>,
    session: tokio::sync::Mutex<Option<Session>>,
    count_cache: Mutex<Option<(CountKey, u64)>>,
    /// Bumped after every write to the mirror by the sync or feed tasks.
    pub changes: tokio::sync::watch::Sender<u64>,
    /// SFTP batches: the draft being composed, the Demo SFTP endpoint.
    pub batches: crate::batches::BatchRuntime,
    /// What the user must be told about this start (a rebuilt mirror), until dismissed.
    pub startup_notice: Mutex<Option<crate::system_dto::StartupNotice>>,
    /// Opted-in desktop notifications, for the shell to show.
    pub notices: tokio::sync::broadcast::Sender<crate::system_dto::DesktopNotice>,
    /// True once the UI has drawn its first rows (see `first_rows_shown`): the first
    /// background sync waits for it, briefly, so start-up draws from the mirror first.
    pub first_screen: tokio::sync::watch::Sender<bool>,
    /// One lock per money-moving intent (by its key): every window shares this core, so a
    /// "Check again" in one waits for a send in flight in another instead of judging the
    /// refund absent while it is still on its way.
    pub intent_locks: Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

/// What a cached filtered count is valid for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CountKey {
    account_id: String,
    /// The filter without its window.
    filter: String,
    data_version: i64,
}

/// Turns the UI's query into the mirror's filter; a malformed time is a clear error.
/// The mirror's filter for `query`; `unreadable` becomes the orders FlexFactor refused to show
/// at their last re-read, as the sync engine keeps them for the account.
pub(crate) fn order_filter(query: &OrderQuery, mirror: &Mirror, account_id: &str) -> Result<OrderFilter, CoreError> {
    let keys = match query.unreadable {
        Some(true) => Some(flexdesk_sync::refused_orders(mirror, account_id)?),
        _ => None,
    };
    let time = |name: &str, v: &Option<String>| -> Result<Option<chrono::DateTime<Utc>>, CoreError> {
        match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => chrono::DateTime::parse_from_rfc3339(s).map(|d| Some(d.with_timezone(&Utc))).map_err(|_| {
                CoreError::InvalidInput(format!(
                    "{name} must be an RFC 3339 time such as 2026-11-01T00:00:00Z, not {s:?}"
                ))
            }),
        }
    };
    let text = |v: &Option<String>| v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    Ok(OrderFilter {
        state: query.state.map(Into::into),
        states: query.states.iter().flatten().map(|s| (*s).into()).collect(),
        search: text(&query.search),
        is_mit: query.is_mit,
        created_from: time("createdFrom", &query.created_from)?,
        created_to: time("createdTo", &query.created_to)?,
        placed_from: time("placedFrom", &query.placed_from)?,
        placed_to: time("placedTo", &query.placed_to)?,
        amount_min: query.amount_min,
        amount_max: query.amount_max,
        site_id: text(&query.site_id),
        decline_code: text(&query.decline_code),
        currency: text(&query.currency),
        keys,
        sort: query.sort.unwrap_or_default().into(),
        after: query.after.clone().map(Into::into),
        offset: u64::from(query.offset),
        limit: u64::from(query.limit.clamp(1, 1000)),
    })
}

#[derive(Default)]
struct StatusState {
    generation: u64,
    account: Option<AccountView>,
    sync: SyncStatus,
    relay: RelayStatus,
    job: Option<JobProgress>,
    setup_error: Option<IpcError>,
}

impl Inner {
    pub(crate) fn reader(&self) -> Result<MutexGuard<'_, Mirror>, CoreError> {
        self.reader.lock().map_err(|_| CoreError::Internal("the mirror reader lock was poisoned".into()))
    }

    fn status(&self) -> MutexGuard<'_, StatusState> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Time between background syncs: the user's setting, else the configured default.
    pub fn poll_interval(&self) -> Duration {
        self.reader()
            .ok()
            .and_then(|r| r.setting(POLL_INTERVAL).ok().flatten())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(self.config.poll_interval)
    }

    /// True when the active session follows a webhook relay.
    pub fn relay_configured(&self) -> bool {
        self.status().relay.configured
    }

    /// Tells subscribers (the shell, which tells the UI) that the mirror changed.
    pub fn notify_changed(&self) {
        self.changes.send_modify(|v| *v += 1);
    }

    /// Applies `f` to the relay status if `generation` is still the active session.
    pub fn update_relay(&self, generation: u64, f: impl FnOnce(&mut RelayStatus)) {
        let mut st = self.status();
        if st.generation == generation {
            f(&mut st.relay);
        }
    }

    /// Applies `f` to the sync status if `generation` is still the active session.
    pub fn update_sync(&self, generation: u64, f: impl FnOnce(&mut SyncStatus)) {
        let mut st = self.status();
        if st.generation == generation {
            f(&mut st.sync);
        }
    }
}

/// The app core. Cheap to clone; all methods take `&self`.
#[derive(Clone)]
pub struct AppCore {
    inner: Arc<Inner>,
}

impl AppCore {
    /// Opens the mirror in `config.data_dir` (creating it). Starts nothing yet.
    pub fn open(config: CoreConfig) -> Result<AppCore, CoreError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            CoreError::Internal(format!("cannot create the data directory {}: {e}", config.data_dir.display()))
        })?;
        let db_path = config.data_dir.join("mirror.sqlite3");
        let opened = crate::system::open_mirror_checked(&db_path, config.whole_check_max_bytes)?;
        let check_rest_later = opened.check_rest_later;
        let reader = opened.mirror;
        let core = AppCore {
            inner: Arc::new(Inner {
                config,
                db_path,
                reader: Mutex::new(reader),
                status: Mutex::new(StatusState::default()),
                session: tokio::sync::Mutex::new(None),
                count_cache: Mutex::new(None),
                changes: tokio::sync::watch::channel(0).0,
                batches: Default::default(),
                startup_notice: Mutex::new(opened.notice),
                notices: tokio::sync::broadcast::channel(64).0,
                first_screen: tokio::sync::watch::channel(false).0,
                intent_locks: Mutex::new(std::collections::HashMap::new()),
            }),
        };
        if check_rest_later {
            crate::system::check_whole_file_later(core.clone());
        }
        Ok(core)
    }

    /// The active account's id and API client (for actions).
    pub(crate) async fn session_parts(&self) -> Result<(String, Arc<FlexFactorClient>), CoreError> {
        let slot = self.inner.session.lock().await;
        let s = slot.as_ref().ok_or(CoreError::NoAccount)?;
        Ok((s.account.id.clone(), s.client.clone()))
    }

    /// The core around its shared state (background tasks hold only the state).
    pub(crate) fn from_inner(inner: Arc<Inner>) -> AppCore {
        AppCore { inner }
    }

    /// The keychain and core internals the batch module needs.
    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// The Demo sandbox's shared state, when the active account is the Demo account.
    pub(crate) async fn demo_sandbox_state(&self) -> Option<flexfactor_sandbox::SandboxState> {
        self.inner.session.lock().await.as_ref().and_then(|s| s.sandbox.as_ref().map(|sb| sb.state()))
    }

    /// The relay feed the active session follows.
    pub(crate) async fn feed_config(&self) -> Option<(String, String)> {
        self.inner.session.lock().await.as_ref().and_then(|s| s.feed.clone())
    }

    /// A new writer connection to the mirror (actions write, then drop it).
    pub(crate) fn writer(&self) -> Result<Mirror, CoreError> {
        Ok(Mirror::open(&self.inner.db_path)?)
    }

    /// Runs `f` on the shared reader connection.
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&Mirror) -> Result<T, CoreError>) -> Result<T, CoreError> {
        let reader = self.inner.reader()?;
        f(&reader)
    }

    /// The active account's id, from the live session status.
    pub(crate) fn active_account_id(&self) -> Result<String, CoreError> {
        self.inner.status().account.as_ref().map(|a| a.id.clone()).ok_or(CoreError::NoAccount)
    }

    /// Who is acting: the operator name from settings, else the OS user name.
    pub fn operator(&self) -> String {
        self.inner
            .reader()
            .ok()
            .and_then(|r| r.setting("operator_name").ok().flatten())
            .filter(|n| !n.trim().is_empty())
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| "operator".into())
    }

    /// Sets (or clears) the long-running job shown with a progress bar.
    pub(crate) fn set_job(&self, job: Option<(&str, u64, u64)>) {
        self.inner.status().job = job.map(|(kind, done, total)| JobProgress { kind: kind.to_string(), done, total });
        self.inner.notify_changed();
    }

    /// Seconds between background syncs.
    pub fn poll_interval_secs(&self) -> u64 {
        self.inner.poll_interval().as_secs()
    }

    /// Sets the time between background syncs (15 s to 1 h); the next wait uses it.
    pub async fn set_poll_interval_secs(&self, secs: u64) -> Result<(), CoreError> {
        if !(15..=3600).contains(&secs) {
            return Err(CoreError::InvalidInput("The poll interval must be between 15 seconds and 1 hour.".into()));
        }
        self.inner.reader()?.set_setting(POLL_INTERVAL, &secs.to_string())?;
        if let Some(s) = self.inner.session.lock().await.as_ref() {
            s.trigger.notify_one();
        }
        Ok(())
    }

    /// Tells push subscribers the mirror changed (after an action).
    pub(crate) fn changed(&self) {
        self.inner.notify_changed();
    }

    /// Fires whenever the sync or the relay feed changed the mirror (for push updates).
    pub fn subscribe_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.changes.subscribe()
    }

    pub fn data_dir(&self) -> &std::path::Path {
        &self.inner.config.data_dir
    }

    /// Opens the active account, creating the Demo account when there is none. A failure
    /// is also kept as the status's `setup_error` for the UI.
    #[tracing::instrument(skip_all, err)]
    pub async fn start(&self) -> Result<AccountView, CoreError> {
        let result = self.start_inner().await;
        if let Err(e) = &result {
            self.inner.status().setup_error = Some(e.to_ipc());
        }
        if result.is_ok() && self.inner.config.background_sync {
            // Money-moving intents left open by a crash or a dropped answer are settled now
            // (re-read first; a refund is resent only when provably absent).
            let core = self.clone();
            tokio::spawn(async move {
                match core.resolve_open_actions().await {
                    Ok(done) if !done.is_empty() => tracing::info!(settled = done.len(), "open actions re-checked"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not re-check open actions"),
                }
            });
        }
        result
    }

    async fn start_inner(&self) -> Result<AccountView, CoreError> {
        let existing = self.inner.reader()?.active_account()?;
        let account = match existing {
            Some(a) => a,
            None => {
                let demo = create_demo_account(self.inner.config.secrets.as_ref(), Utc::now())?;
                let reader = self.inner.reader()?;
                reader.insert_account(&demo)?;
                reader.set_active_account(&demo.id)?;
                tracing::info!(account = %demo.id, "created the Demo account");
                demo
            }
        };
        self.activate(account).await
    }

    /// Makes `account` the live one: reads its secret, starts its sandbox (Demo), builds
    /// the client and starts syncing.
    async fn activate(&self, account: Account) -> Result<AccountView, CoreError> {
        {
            // At start the screens can already read this account's mirror while its client,
            // sandbox (Demo) and relay come up: the first rows do not wait for them, nor for
            // a keychain that turns out to be locked.
            let mut st = self.inner.status();
            if st.account.is_none() {
                st.account = Some(AccountView::from_account(&account, None));
            }
        }
        let secret = self.inner.config.secrets.get(&account_key(&account.id, APP_SECRET))?;
        if account.environment == Environment::Demo {
            // The Demo's sandbox seeds its orders when it starts: after the first screen.
            crate::session::after_first_screen(&self.inner, &account.id).await;
        }
        let mut slot = self.inner.session.lock().await;
        *slot = None; // stop the previous session first (its sandbox frees its port)
        match self.start_session(&mut slot, account.clone(), &secret).await {
            Ok(view) => Ok(view),
            Err(e) => {
                // The previous session is stopped: the status bar shows this account and why
                // it is not syncing, not the old one as if all were well.
                tracing::warn!(account = %account.id, error = %e, "the account could not start");
                let sync = self.inner.reader().map(|r| initial_status(&r, &account.id)).unwrap_or_default();
                let mut st = self.inner.status();
                st.generation += 1;
                st.account = Some(AccountView::from_account(&account, None));
                st.sync = SyncStatus { phase: SyncPhase::Error, last_error: Some(e.to_ipc()), ..sync };
                st.relay = RelayStatus::default();
                Err(e)
            }
        }
    }

    /// Starts `account`'s session in `slot` (emptied by the caller): its sandbox and relay
    /// (Demo), client, status and loops.
    async fn start_session(
        &self,
        slot: &mut Option<Session>,
        account: Account,
        secret: &Secret,
    ) -> Result<AccountView, CoreError> {
        let sandbox = match account.environment {
            Environment::Demo => Some(start_demo_sandbox(&account, secret, self.inner.config.demo_order_count).await?),
            _ => None,
        };
        let demo_relay = match &sandbox {
            Some(sb) => {
                let relay = start_demo_relay(&self.inner.config.data_dir, sb).await?;
                if self.inner.config.demo_traffic_per_minute > 0 {
                    sb.start_traffic(self.inner.config.demo_traffic_per_minute);
                }
                Some(relay)
            }
            None => None,
        };
        // A relay whose token cannot be read (a restored backup, another machine, a locked
        // keychain) leaves the account polling, with the relay shown offline and why.
        let (feed, relay_problem) = match &demo_relay {
            Some(d) => (Some((d.relay.base_url(), d.feed_token.clone())), None),
            None => self.relay_settings(&account.id)?,
        };
        let base_url = sandbox.as_ref().map(|s| s.base_url()).unwrap_or_else(|| account.base_url.clone());
        let client = Arc::new(FlexFactorClient::new(ClientConfig::new(
            base_url.clone(),
            account.app_key.clone(),
            secret.expose().to_string(),
        ))?);
        let view = AccountView::from_account(&account, Some(&base_url));
        let generation = {
            let mut st = self.inner.status();
            st.generation += 1;
            st.account = Some(view.clone());
            st.sync = initial_status(&*self.inner.reader()?, &account.id);
            st.relay = match &relay_problem {
                Some((url, error)) => RelayStatus {
                    configured: true,
                    url: Some(url.clone()),
                    last_error: Some(error.clone()),
                    ..Default::default()
                },
                None => RelayStatus {
                    configured: feed.is_some(),
                    url: feed.as_ref().map(|f| f.0.clone()),
                    ..Default::default()
                },
            };
            st.setup_error = None;
            st.generation
        };
        // Built before any task starts: a failure here leaves no loop running unowned.
        let feed_client = match (&feed, self.inner.config.background_sync) {
            (Some((url, token)), true) => Some(flexdesk_sync::FeedClient::new(url, token)?),
            _ => None,
        };
        let trigger = Arc::new(Notify::new());
        let task = self.inner.config.background_sync.then(|| {
            tokio::spawn(sync_loop(self.inner.clone(), generation, account.id.clone(), client.clone(), trigger.clone()))
        });
        let (feed_task, refresh_task) = match feed_client {
            Some(feed_client) => {
                let refresh = Arc::new(Notify::new());
                let refresh_task = tokio::spawn(refresh_loop(
                    self.inner.clone(),
                    generation,
                    account.id.clone(),
                    client.clone(),
                    refresh.clone(),
                ));
                let feed_task = tokio::spawn(feed_loop(
                    self.inner.clone(),
                    generation,
                    account.id.clone(),
                    feed_client,
                    trigger.clone(),
                    refresh,
                ));
                (Some(feed_task), Some(refresh_task))
            }
            None => (None, None),
        };
        *slot = Some(Session {
            account,
            client,
            sandbox,
            demo_relay,
            feed,
            generation,
            trigger,
            task,
            feed_task,
            refresh_task,
        });
        tracing::info!(account = %view.id, base_url = %view.base_url, "account active");
        Ok(view)
    }

    /// The status bar's facts and any setup problem.
    pub fn app_status(&self) -> Result<AppStatus, CoreError> {
        let (account, sync, relay, job, setup_error) = {
            let st = self.inner.status();
            (st.account.clone(), st.sync.clone(), st.relay.clone(), st.job.clone(), st.setup_error.clone())
        };
        let reader = self.inner.reader()?;
        let total_rows = match &account {
            Some(a) => reader.order_count(&a.id)?,
            None => 0,
        };
        let data_version = reader.data_version()?;
        Ok(AppStatus { account, sync, relay, job, total_rows, data_version, setup_error })
    }

    /// A window of the active account's orders, filtered and searched.
    pub fn list_orders(&self, query: &OrderQuery) -> Result<OrderPage, CoreError> {
        let account_id = self.inner.status().account.as_ref().map(|a| a.id.clone()).ok_or(CoreError::NoAccount)?;
        let reader = self.inner.reader()?;
        let filter = order_filter(query, &reader, &account_id)?;
        // Counting a filter over a large mirror costs more than a window, and the virtual
        // table asks for many windows of one filter: count once per filter and data version.
        let key = CountKey {
            account_id: account_id.clone(),
            filter: format!("{:?}", OrderFilter { offset: 0, limit: 0, after: None, ..filter.clone() }),
            data_version: reader.data_version()?,
        };
        let cached = {
            let cache = self.inner.count_cache.lock().unwrap_or_else(|p| p.into_inner());
            cache.as_ref().filter(|(k, _)| *k == key).map(|(_, n)| *n)
        };
        let total = match cached {
            Some(n) => n,
            None => {
                let n = reader.count_orders(&account_id, &filter)?;
                *self.inner.count_cache.lock().unwrap_or_else(|p| p.into_inner()) = Some((key, n));
                n
            }
        };
        let rows = reader.order_window(&account_id, &filter)?;
        let next = match rows.last() {
            Some(last) if rows.len() as u64 >= filter.limit => {
                Some(flexdesk_mirror::OrderCursor::after(filter.sort, last).into())
            }
            _ => None,
        };
        Ok(OrderPage { total, offset: query.offset, rows: rows.into_iter().map(OrderRow::from).collect(), next })
    }

    pub fn list_accounts(&self) -> Result<Vec<AccountView>, CoreError> {
        let live = self.inner.status().account.clone();
        let accounts = self.inner.reader()?.accounts()?;
        Ok(accounts
            .iter()
            .map(|a| {
                let live_url = live.as_ref().filter(|l| l.id == a.id).map(|l| l.base_url.as_str());
                AccountView::from_account(a, live_url)
            })
            .collect())
    }

    /// Checks the credentials against the API, stores the secret in the keychain, saves
    /// the account and makes it active. On any failure nothing is saved.
    #[tracing::instrument(skip_all, err, fields(name = %input.name, base_url = %input.base_url))]
    pub async fn add_account(&self, input: NewAccount) -> Result<AccountView, CoreError> {
        validate(&input)?;
        let client = FlexFactorClient::new(ClientConfig::new(
            input.base_url.trim(),
            input.app_key.trim(),
            input.app_secret.clone(),
        ))?;
        client.authenticate().await?;
        let account = Account::new(
            new_account_id("acct"),
            input.name.trim(),
            input.environment.into(),
            client.base_url(),
            input.mid.trim(),
            input.app_key.trim(),
        );
        self.inner.config.secrets.set(&account_key(&account.id, APP_SECRET), &Secret::new(input.app_secret))?;
        {
            let reader = self.inner.reader()?;
            reader.insert_account(&account)?;
            reader.set_active_account(&account.id)?;
        }
        self.audit_credential_change(
            &account.id,
            format!("account {:?} added ({}, {})", account.name, account.environment.as_str(), account.base_url),
        )?;
        self.activate(account).await
    }

    /// Logs a credential change (never the secret itself) to the audit log.
    fn audit_credential_change(&self, account_id: &str, detail: String) -> Result<(), CoreError> {
        let mut w = Mirror::open(&self.inner.db_path)?;
        w.append_audit(&flexdesk_mirror::AuditDraft {
            account_id: Some(account_id.to_string()),
            operator: self.operator(),
            action: "credential_change".into(),
            target: Some(account_id.to_string()),
            detail,
        })?;
        Ok(())
    }

    pub async fn switch_account(&self, account_id: &str) -> Result<AccountView, CoreError> {
        let account = self
            .inner
            .reader()?
            .account(account_id)?
            .ok_or_else(|| CoreError::InvalidInput(format!("there is no account {account_id}")))?;
        self.inner.reader()?.set_active_account(&account.id)?;
        self.activate(account).await
    }

    /// Asks the background sync to run now.
    pub async fn sync_now(&self) -> Result<(), CoreError> {
        let slot = self.inner.session.lock().await;
        let session = slot.as_ref().ok_or(CoreError::NoAccount)?;
        session.trigger.notify_one();
        Ok(())
    }

    /// Runs one sync of the active account to the end (the CLI and tests).
    pub async fn sync_once(&self) -> Result<SyncReport, CoreError> {
        let (generation, account_id, client) = {
            let slot = self.inner.session.lock().await;
            let s = slot.as_ref().ok_or(CoreError::NoAccount)?;
            (s.generation, s.account.id.clone(), s.client.clone())
        };
        run_sync(&self.inner, generation, &account_id, &client).await
    }

    /// Points the active account at a webhook relay (URL and feed token; the token goes to
    /// the keychain). The feed is read once first: a wrong URL or token saves nothing.
    pub async fn configure_relay(&self, url: &str, token: &str) -> Result<RelayStatus, CoreError> {
        let account = self.inner.reader()?.active_account()?.ok_or(CoreError::NoAccount)?;
        if account.environment == Environment::Demo {
            return Err(CoreError::InvalidInput("The Demo account has its own built-in relay.".into()));
        }
        let url = url.trim().trim_end_matches('/');
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(CoreError::InvalidInput("The relay URL must start with https://".into()));
        }
        let feed = flexdesk_sync::FeedClient::new(url, token.trim())?;
        feed.poll(0, Duration::ZERO, 1).await?;
        self.inner.config.secrets.set(&account_key(&account.id, RELAY_TOKEN), &Secret::new(token.trim()))?;
        self.inner.reader()?.set_setting(&format!("relay_url:{}", account.id), url)?;
        self.audit_credential_change(
            &account.id,
            format!("webhook relay set to {url} (feed token stored in the keychain)"),
        )?;
        self.activate(account).await?;
        Ok(self.inner.status().relay.clone())
    }

    /// The account's relay (URL and feed token), or the URL and why its token could not be
    /// read (the account then syncs by polling alone).
    fn relay_settings(&self, account_id: &str) -> Result<RelaySettings, CoreError> {
        let Some(url) = self.inner.reader()?.setting(&format!("relay_url:{account_id}"))? else {
            return Ok((None, None));
        };
        match self.inner.config.secrets.get(&account_key(account_id, RELAY_TOKEN)) {
            Ok(token) => Ok((Some((url, token.expose().to_string())), None)),
            Err(e) => {
                tracing::warn!(error = %e, "the relay's feed token could not be read; webhooks are not followed");
                let e = CoreError::from(e);
                let message = match &e {
                    CoreError::Secret(flexdesk_secrets::SecretError::NotFound { .. }) => {
                        "The relay's feed token for this account is not in the OS keychain (a restored backup, or \
                         another computer). Orders still update by polling; to follow webhooks again, enter the \
                         relay URL and feed token in Settings."
                            .to_string()
                    }
                    other => format!(
                        "The relay's feed token could not be read: {} Orders still update by polling.",
                        other.user_message()
                    ),
                };
                Ok((None, Some((url, IpcError { code: e.code(), message }))))
            }
        }
    }

    /// Stops the sync and feed tasks, the scheduled looks for batch responses, the Demo
    /// sandbox and its relay.
    pub async fn shutdown(&self) {
        self.stop_batch_rechecks();
        let session = self.inner.session.lock().await.take();
        if let Some(mut s) = session {
            for t in [s.task.take(), s.feed_task.take(), s.refresh_task.take()].into_iter().flatten() {
                t.abort();
            }
            if let Some(sb) = s.sandbox.take() {
                sb.shutdown().await;
            }
            if let Some(r) = s.demo_relay.take() {
                r.relay.shutdown().await;
            }
        }
    }
}

fn validate(input: &NewAccount) -> Result<(), CoreError> {
    let missing: Vec<&str> = [
        ("name", &input.name),
        ("base URL", &input.base_url),
        ("MID", &input.mid),
        ("AppKey", &input.app_key),
        ("AppSecret", &input.app_secret),
    ]
    .iter()
    .filter(|(_, v)| v.trim().is_empty())
    .map(|(n, _)| *n)
    .collect();
    if !missing.is_empty() {
        return Err(CoreError::InvalidInput(format!("Please fill in: {}.", missing.join(", "))));
    }
    if !(input.base_url.trim().starts_with("https://") || input.base_url.trim().starts_with("http://")) {
        return Err(CoreError::InvalidInput(
            "The base URL must start with https:// (for example https://api-sandbox.flexfactor.io/v1).".into(),
        ));
    }
    Ok(())
}

/// A new account's id: `prefix`, a dash and 12 random hex digits (48 bits; an account id
/// only has to be unique among the accounts of one mirror). Every order row and index entry
/// of the mirror carries it, so it is kept short: a full UUID's 32 digits cost about 140
/// bytes per order across the table and its indexes.
pub(crate) fn new_account_id(prefix: &str) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}-{}", &random[..12])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_account_ids_are_short_distinct_and_carry_their_prefix() {
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| new_account_id("acct")).collect();
        assert_eq!(ids.len(), 1000);
        for id in &ids {
            let hex = id.strip_prefix("acct-").unwrap();
            assert_eq!(hex.len(), 12, "{id}");
            assert!(hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{id}");
        }
    }
}
