//! The embedded default: one SQLite file, so that the server runs anywhere with no service to set
//! up. Suited to one instance; run MongoDB for more.
//!
//! rusqlite is synchronous: every call runs on tokio's blocking pool behind one connection (SQLite
//! allows one writer at a time anyway), so a slow query never stalls the async workers.

mod accounts;
mod assignments;
mod classroom;
mod content;
mod files;
mod notifications;
mod students;
mod tokens;
mod uploads;

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, ErrorCode};

use super::{Backend, Store, StoreError, StoreResult};

const NAME: &str = "sqlite";

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
];

#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl Db {
    /// Runs `f` on the blocking pool with the connection, timing it as operation `op`.
    pub async fn call<T: Send + 'static>(
        &self,
        op: &'static str,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let conn = self.conn.clone();
        super::observe(NAME, op, async move {
            tokio::task::spawn_blocking(move || {
                // A panic while holding the lock poisons it; the connection itself is still sound.
                let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
                f(&mut guard)
            })
            .await
            .map_err(|e| StoreError::Backend(format!("sqlite task failed: {e}")))?
            .map_err(map_error)
        })
        .await
    }
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
            StoreError::Backend(e.to_string())
        }
        rusqlite::Error::SqliteFailure(f, _)
            if matches!(f.code, ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) =>
        {
            StoreError::Unavailable(e.to_string())
        }
        _ => StoreError::Backend(e.to_string()),
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
            .call("ping", |c| c.query_row("SELECT 1", [], |_| Ok(())))
            .await
    }

    async fn migrate(&self) -> StoreResult<()> {
        self.db.call("migrate", migrate).await
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
    let conn = tokio::task::spawn_blocking(move || -> anyhow::Result<Connection> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        }
        let conn = Connection::open(&path)
            .map_err(|e| anyhow::anyhow!("cannot open SQLite database {}: {e}", path.display()))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Ok(conn)
    })
    .await??;
    let files = tokio::task::spawn_blocking(move || files::DiskFiles::open(uploads)).await??;
    let db = Db {
        conn: Arc::new(Mutex::new(conn)),
    };
    Ok(Store {
        backend: Arc::new(SqliteBackend { db: db.clone() }),
        teachers: Arc::new(accounts::SqliteTeachers { db: db.clone() }),
        admins: Arc::new(accounts::SqliteAdmins { db: db.clone() }),
        students: Arc::new(students::SqliteStudents { db: db.clone() }),
        refresh_tokens: Arc::new(tokens::SqliteRefreshTokens { db: db.clone() }),
        classes: Arc::new(classroom::SqliteClasses { db: db.clone() }),
        categories: Arc::new(classroom::SqliteCategories { db: db.clone() }),
        tasks: Arc::new(classroom::SqliteTasks { db: db.clone() }),
        rewards: Arc::new(classroom::SqliteRewards { db: db.clone() }),
        task_assignments: Arc::new(assignments::SqliteTaskAssignments { db: db.clone() }),
        reward_assignments: Arc::new(assignments::SqliteRewardAssignments { db: db.clone() }),
        points: Arc::new(assignments::NothingPending),
        notifications: Arc::new(notifications::SqliteNotifications { db: db.clone() }),
        files: Arc::new(files),
        uploads: Arc::new(uploads::SqliteUploads { db: db.clone() }),
        presets: Arc::new(content::SqlitePresets { db: db.clone() }),
        rules: Arc::new(content::SqliteRules { db: db.clone() }),
        feedbacks: Arc::new(content::SqliteFeedbacks { db }),
    })
}

/// One page of `table`'s rows matching `filter`, newest first. `args` bind the filter's `?1..?n`;
/// LIMIT and OFFSET take the next two.
pub(super) fn page<T>(
    c: &Connection,
    table: &str,
    columns: &str,
    filter: &str,
    args: &[&dyn rusqlite::ToSql],
    q: &crate::store::ListQuery,
    from_row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<crate::store::Page<T>> {
    let total: i64 = c.query_row(
        &format!("SELECT COUNT(*) FROM {table} WHERE {filter}"),
        args,
        |r| r.get(0),
    )?;
    if q.is_past(total as u64) {
        return Ok(crate::store::Page {
            items: vec![],
            total: total as u64,
        });
    }
    let (limit, offset) = (q.limit as i64, q.skip() as i64);
    let mut bound = args.to_vec();
    bound.push(&limit);
    bound.push(&offset);
    let n = args.len();
    let items = c
        .prepare(&format!(
            "SELECT {columns} FROM {table} WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT ?{} OFFSET ?{}",
            n + 1,
            n + 2
        ))?
        .query_map(bound.as_slice(), from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(crate::store::Page {
        items,
        total: total as u64,
    })
}

/// The row of `table` whose `column` equals `value`.
pub(super) fn find_by<T>(
    c: &Connection,
    table: &str,
    columns: &str,
    column: &str,
    value: &str,
    from_row: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    use rusqlite::OptionalExtension;
    c.query_row(
        &format!("SELECT {columns} FROM {table} WHERE {column} = ?1"),
        [value],
        from_row,
    )
    .optional()
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
