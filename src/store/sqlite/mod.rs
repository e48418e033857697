//! The embedded default: one SQLite file, so that the server runs anywhere with no service to set
//! up. Suited to one instance; run MongoDB for more.
//!
//! Access path (WAL): one writer connection on a thread of its own (one hop per write, through a
//! channel), and read connections from a small pool. Point reads (`read`) run inline on the async worker: they
//! take microseconds, and a hop through the blocking pool would cost more than the query. Reads that
//! may scan many rows (`scan`) take one hop. Readers never wait behind the writer (WAL), and every
//! statement is prepared once per connection (`prepare_cached`).

mod accounts;
mod assignments;
mod classroom;
mod content;
mod files;
mod items;
mod notifications;
mod payments;
mod push;
mod students;
mod table;
mod tokens;
mod uploads;

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, OpenFlags, Params, Row, ToSql};

use super::{Backend, Store, StoreError, StoreResult};
use crate::domain::{Class, Feedback, Id, Millis, Preset, Rule};

pub(crate) use table::{Rows, Table, Tabled, table};

const NAME: &str = "sqlite";

/// Statements kept prepared per connection: every distinct statement the adapter runs fits.
const STATEMENT_CACHE: usize = 256;

/// Read connections kept open between scans (the blocking pool's); more are opened under load and
/// closed after. Short reads on the async workers use a connection of their own thread.
const IDLE_READERS: usize = 8;

/// Versioned schema migrations, applied in order; `PRAGMA user_version` records the last one.
const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_accounts.sql"),
    include_str!("migrations/0002_students_tokens.sql"),
    include_str!("migrations/0003_classroom.sql"),
    include_str!("migrations/0004_assignments.sql"),
    include_str!("migrations/0005_content.sql"),
    include_str!("migrations/0006_earned_points.sql"),
    include_str!("migrations/0007_token_epoch.sql"),
    include_str!("migrations/0008_uploads.sql"),
    include_str!("migrations/0009_payments.sql"),
    include_str!("migrations/0010_push.sql"),
    include_str!("migrations/0011_project_payment_hold.sql"),
];

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Writer,
    readers: Mutex<Vec<Connection>>,
    /// Calls into SQLite (one per `read`, `scan` or `write`), for the query-count tests.
    round_trips: AtomicU64,
}

impl Db {
    /// Runs `f` on the writer's thread with the writer connection, timing it as operation `op`.
    pub async fn write<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
        super::observe(NAME, op, async {
            let (answer, answered) = tokio::sync::oneshot::channel();
            self.inner.writer.run(move |conn| {
                let _ = answer.send(f(conn).map_err(map_error));
            });
            // Closed without an answer: the write panicked (or the thread is gone).
            answered
                .await
                .map_err(|e| StoreError::Backend(Box::new(e)))?
        })
        .await
    }

    /// One statement on the writer; how many rows it changed. The parameters are owned: they cross
    /// to the blocking pool.
    pub async fn execute(
        &self,
        op: &'static str,
        sql: &'static str,
        params: impl Params + Send + 'static,
    ) -> StoreResult<usize> {
        self.write(op, move |c| c.exec(sql, params)).await
    }

    /// Runs a short read (an indexed lookup) inline on the calling worker with a read connection.
    pub async fn read<T>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        self.inner.round_trips.fetch_add(1, Ordering::Relaxed);
        super::observe(NAME, op, async { self.inner.with_own_reader(f) }).await
    }

    /// Runs a read that may visit many rows (a list, a count) on the blocking pool with a read
    /// connection, so that a long scan never holds up an async worker.
    pub async fn scan<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        inner.round_trips.fetch_add(1, Ordering::Relaxed);
        super::observe(NAME, op, async move {
            tokio::task::spawn_blocking(move || inner.with_reader(f))
                .await
                .map_err(|e| StoreError::Backend(Box::new(e)))?
        })
        .await
    }

    pub fn round_trips(&self) -> u64 {
        self.inner.round_trips.load(Ordering::Relaxed)
    }
}

/// A write waiting for the writer's thread.
type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The writer connection, owned by a thread that runs the writes one after another as they arrive.
/// With a hop through tokio's blocking pool and a lock on the connection, concurrent writes each
/// took a blocking thread and queued on the lock (a futex sleep and wake per write, 32 threads
/// under the benchmark's 32 connections); here they queue in the channel, and the thread takes
/// the next one without sleeping while any are waiting.
struct Writer {
    jobs: Option<std::sync::mpsc::Sender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread; it ends, closing the connection, when the last `Db` is dropped.
    fn start(mut conn: Connection) -> std::io::Result<Self> {
        let (jobs, queue) = std::sync::mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                for job in queue {
                    // A write that panics loses its answer (its caller gets an error), not the
                    // thread; the connection itself is still sound.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
                }
            })?;
        Ok(Writer {
            jobs: Some(jobs),
            thread: Some(thread),
        })
    }

    fn run(&self, job: impl FnOnce(&mut Connection) + Send + 'static) {
        // Refused only when the thread is gone: the job, and with it the caller's answer, is
        // dropped, so the caller gets an error.
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(Box::new(job));
        }
    }
}

/// The connection is closed by the time the last `Db` is gone, as when the `Db` held it.
impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.jobs.take());
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

thread_local! {
    /// The read connections of this thread, one per open database: an async worker's short reads
    /// take theirs without a lock (the shared pool's lock, taken twice per query by both workers,
    /// was contended under load: issue 13). The `Weak` names the database; it also keeps its
    /// address from being reused, so a connection is never taken for another database.
    static OWN_READERS: std::cell::RefCell<Vec<(Weak<Inner>, Connection)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl Inner {
    /// Runs `f` on this thread's read connection to this database (opened on first use, closed
    /// with the thread, or at a later read once the database is gone).
    fn with_own_reader<T>(
        self: &Arc<Self>,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T>,
    ) -> StoreResult<T> {
        // Taken out while in use, so that the cell is not borrowed across `f`.
        let own = OWN_READERS.with_borrow_mut(|readers| {
            readers.retain(|(db, _)| db.strong_count() > 0);
            let at = readers
                .iter()
                .position(|(db, _)| std::ptr::eq(db.as_ptr(), Arc::as_ptr(self)))?;
            Some(readers.swap_remove(at))
        });
        let (db, conn) = match own {
            Some(own) => own,
            None => (
                Arc::downgrade(self),
                open_reader(&self.path).map_err(map_error)?,
            ),
        };
        let result = f(&conn).map_err(map_error);
        OWN_READERS.with_borrow_mut(|readers| readers.push((db, conn)));
        result
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let pooled = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match pooled {
            Some(c) => c,
            None => open_reader(&self.path).map_err(map_error)?,
        };
        let result = f(&conn).map_err(map_error);
        let mut idle = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", "ON")
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
            | OpenFlags::SQLITE_OPEN_URI,
    )?;
    configure(&conn)?;
    Ok(conn)
}

/// Statements through each connection's cache: parsed once, then only bound and stepped.
pub(super) trait Cached {
    fn exec(&self, sql: &str, params: impl Params) -> rusqlite::Result<usize>;
    fn one<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T>;
    fn all<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Vec<T>>;
}

impl Cached for Connection {
    fn exec(&self, sql: &str, params: impl Params) -> rusqlite::Result<usize> {
        self.prepare_cached(sql)?.execute(params)
    }

    fn one<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.prepare_cached(sql)?.query_row(params, f)
    }

    fn all<T>(
        &self,
        sql: &str,
        params: impl Params,
        f: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Vec<T>> {
        self.prepare_cached(sql)?.query_map(params, f)?.collect()
    }
}

// Ids are stored as their 24 hex characters (the schema's TEXT columns, unchanged).
impl ToSql for Id {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.to_hex()))
    }
}

impl FromSql for Id {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Text(text) => {
                Id::parse_bytes(text).map_err(|e| FromSqlError::Other(Box::new(e)))
            }
            _ => Err(FromSqlError::InvalidType),
        }
    }
}

impl ToSql for Millis {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.0))
    }
}

impl FromSql for Millis {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        i64::column_result(value).map(Millis)
    }
}

/// The domain's closed sets of names are stored as their names.
macro_rules! stored_as_name {
    ($($t:ty),* $(,)?) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        // A name the domain does not know (edited by hand, or written by a newer version).
        impl FromSql for $t {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                let name = value.as_str()?;
                <$t>::parse(name).ok_or_else(|| {
                    FromSqlError::Other(format!("unexpected {} {name:?}", stringify!($t)).into())
                })
            }
        }
    )*};
}

stored_as_name!(
    crate::domain::Role,
    crate::domain::AccountStatus,
    crate::domain::AdminRole,
    crate::domain::assignment::TaskStatus,
    crate::domain::assignment::RewardStatus,
    crate::domain::classroom::TaskType,
    crate::domain::classroom::Repeat,
    crate::domain::content::PresetType,
    crate::domain::content::RuleType,
    crate::domain::notification::NotificationKind,
    crate::domain::payments::ProjectStatus,
    crate::domain::payments::PaymentStatus,
);

/// A JSON array of ids, bound as one parameter and read with `json_each` (`IN` with any count
/// under one cached statement).
pub(super) fn id_list(ids: &[Id]) -> String {
    let mut out = String::with_capacity(ids.len() * 27 + 2);
    out.push('[');
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(&id.to_hex());
        out.push('"');
    }
    out.push(']');
    out
}

fn map_error(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, Some(msg))
            if f.code == ErrorCode::ConstraintViolation =>
        {
            // "UNIQUE constraint failed: teachers.email", or for a composite key
            // "UNIQUE constraint failed: classes.teacher, classes.class_name" (the last column names it).
            if let Some(target) = msg.strip_prefix("UNIQUE constraint failed: ") {
                let (table, field) = target.split_once('.').unwrap_or((target, "value"));
                return StoreError::Conflict {
                    entity: entity_name(table),
                    field: static_field(field),
                };
            }
            StoreError::Backend(Box::new(e))
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            StoreError::Unavailable(Box::new(e))
        }
        _ => StoreError::Backend(Box::new(e)),
    }
}

fn entity_name(table: &str) -> &'static str {
    match table {
        "teachers" => "a teacher",
        "admins" => "an admin",
        "students" => "a student",
        "classes" => "a class",
        _ => "a record",
    }
}

fn static_field(field: &str) -> &'static str {
    match field.rsplit('.').next().unwrap_or(field) {
        "email" => "email",
        "passcode_lookup" => "passcode",
        "class_name" => "name",
        _ => "value",
    }
}

struct SqliteBackend {
    db: Db,
}

#[async_trait::async_trait]
impl Backend for SqliteBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    async fn ping(&self) -> StoreResult<()> {
        self.db
            .read("ping", |c| c.one("SELECT 1", [], |_| Ok(())))
            .await
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.db.write("migrate", migrate).await
    }

    fn round_trips(&self) -> u64 {
        self.db.round_trips()
    }
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let applied: usize = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(applied) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index + 1)?;
        tx.commit()?;
        tracing::info!(version = index + 1, "applied sqlite migration");
    }
    Ok(())
}

pub async fn open(path: &Path) -> anyhow::Result<Store> {
    let path = path.to_owned();
    // Uploads live beside the database file, so one directory holds all the state.
    let uploads = path.with_file_name("uploads");
    let (conn, path) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        let conn = Connection::open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open SQLite database {}: {e}", path.display()))?;
        configure(&conn)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        Ok((conn, path))
    })
    .await??;
    let files = tokio::task::spawn_blocking(move || files::DiskFiles::open(uploads)).await??;
    let db = Db {
        inner: Arc::new(Inner {
            path,
            writer: Writer::start(conn)?,
            readers: Mutex::new(Vec::new()),
            round_trips: AtomicU64::new(0),
        }),
    };
    Ok(Store {
        backend: Arc::new(SqliteBackend { db: db.clone() }),
        teachers: Arc::new(Rows::new(&db)),
        admins: Arc::new(Rows::new(&db)),
        students: Arc::new(students::SqliteStudents { db: db.clone() }),
        refresh_tokens: Arc::new(tokens::SqliteRefreshTokens { db: db.clone() }),
        classes: Arc::new(Rows::<Class>::new(&db)),
        categories: Arc::new(Rows::new(&db)),
        tasks: Arc::new(Rows::new(&db)),
        rewards: Arc::new(Rows::new(&db)),
        task_assignments: Arc::new(assignments::SqliteTaskAssignments { db: db.clone() }),
        reward_assignments: Arc::new(assignments::SqliteRewardAssignments { db: db.clone() }),
        points: Arc::new(assignments::NothingPending),
        notifications: Arc::new(notifications::SqliteNotifications { db: db.clone() }),
        files: Arc::new(files),
        uploads: Arc::new(uploads::SqliteUploads { db: db.clone() }),
        presets: Arc::new(Rows::<Preset>::new(&db)),
        rules: Arc::new(Rows::<Rule>::new(&db)),
        feedbacks: Arc::new(Rows::<Feedback>::new(&db)),
        payments: Arc::new(payments::SqlitePayments { db: db.clone() }),
        push: Arc::new(push::SqlitePush { db }),
    })
}

/// `%text%` for LIKE, with the wildcard characters of the search text escaped (`ESCAPE '\'`).
pub(crate) fn like_pattern(search: &str) -> String {
    let mut out = String::with_capacity(search.len() + 2);
    out.push('%');
    for c in search.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
