//! MongoDB, the production backend (official driver). Uniqueness and state transitions are enforced
//! by indexes and conditional updates, never by read-then-write.

mod accounts;
mod assignments;
mod classroom;
mod collections;
mod content;
mod document;
mod files;
mod items;
mod notifications;
mod payments;
mod points;
mod push;
mod students;
mod tokens;
mod uploads;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use mongodb::bson::{Bson, Document, doc};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::event::EventHandler;
use mongodb::event::command::CommandEvent;
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Database, IndexModel};

use self::collections::{ADMINS, TEACHERS};
use super::{Backend, Change, Changes, Store, StoreError, StoreResult};
use crate::domain::Id;
use crate::ops::breaker::{Breaker, Probing};
pub(crate) use document::{Documents, Rows, Stored, document};

const NAME: &str = "mongodb";
const DEFAULT_DATABASE: &str = "educoin";
const DUPLICATE_KEY: i32 = 11000;

/// Times an operation under this backend's name.
pub(crate) async fn observe<T>(
    op: &'static str,
    fut: impl std::future::IntoFuture<Output = Result<T, mongodb::error::Error>>,
) -> StoreResult<T> {
    super::observe(NAME, op, async move { fut.await.map_err(map_error) }).await
}

fn duplicate_key(e: &mongodb::error::Error) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(m) => m
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|w| w.code == DUPLICATE_KEY)),
        _ => false,
    }
}

fn map_error(e: mongodb::error::Error) -> StoreError {
    if duplicate_key(&e) {
        // The adapter that wrote says which entity and field (see `conflict_on`).
        return StoreError::Conflict {
            entity: "a record",
            field: "value",
        };
    }
    match e.kind.as_ref() {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => StoreError::Unavailable(Box::new(e)),
        _ => StoreError::Backend(Box::new(e)),
    }
}

/// Names what a duplicate-key `Conflict` is about, which `map_error` cannot know.
pub(crate) fn conflict_on(e: StoreError, entity: &'static str, field: &'static str) -> StoreError {
    match e {
        StoreError::Conflict { .. } => StoreError::Conflict { entity, field },
        other => other,
    }
}

/// A ping answers in milliseconds on a healthy server; the breaker's probe gives up after this.
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

struct MongoBackend {
    db: Database,
    /// Shared with the points ledger: whether moves run in transactions (set by `migrate`).
    transactions: Arc<AtomicBool>,
    breaker: Arc<Breaker>,
    /// Commands sent to the server but the health probe's pings (the driver's command monitoring).
    round_trips: Arc<AtomicU64>,
}

async fn ping(db: &Database) -> StoreResult<()> {
    match tokio::time::timeout(
        PROBE_TIMEOUT,
        observe("ping", db.run_command(doc! { "ping": 1 })),
    )
    .await
    {
        Ok(r) => r.map(drop),
        Err(elapsed) => Err(StoreError::Unavailable(Box::new(elapsed))),
    }
}

#[async_trait::async_trait]
impl Backend for MongoBackend {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Always asks the server, open breaker or not, and feeds the breaker: the readiness probe
    /// closes it as soon as the database answers.
    async fn ping(&self) -> StoreResult<()> {
        let result = observe("ping", self.db.run_command(doc! { "ping": 1 }))
            .await
            .map(drop);
        self.breaker.report(result.is_ok());
        result
    }

    fn available(&self) -> bool {
        !self.breaker.is_open()
    }

    fn round_trips(&self) -> u64 {
        self.round_trips.load(Ordering::Relaxed)
    }

    async fn migrate(&self) -> StoreResult<()> {
        let unique_email = || unique_index(doc! { "email": 1 }, "email_unique");
        let newest_first = newest_first_index(doc! {}, "created_at");
        ensure_indexes(&self.db, TEACHERS, [unique_email(), newest_first]).await?;
        ensure_indexes(&self.db, ADMINS, [unique_email()]).await?;
        students::create_indexes(&self.db).await?;
        classroom::create_indexes(&self.db).await?;
        assignments::create_indexes(&self.db).await?;
        notifications::create_indexes(&self.db).await?;
        push::create_indexes(&self.db).await?;
        tokens::create_indexes(&self.db).await?;
        files::migrate(&self.db).await?;
        content::create_indexes(&self.db).await?;
        payments::create_indexes(&self.db).await?;
        let filled = points::backfill_earned_points(&self.db).await?;
        if filled > 0 {
            tracing::info!(
                students = filled,
                "earnedPoints filled in from approved tasks"
            );
        }
        let transactions = points::supports_transactions(&self.db).await?;
        self.transactions.store(transactions, Ordering::Relaxed);
        tracing::info!(
            transactions,
            "points moves run {}",
            if transactions {
                "in transactions"
            } else {
                "as pending moves settled exactly once (no replica set)"
            }
        );
        Ok(())
    }
}

pub async fn open(url: &str) -> anyhow::Result<Store> {
    let mut options = ClientOptions::parse(url)
        .await
        .map_err(|e| anyhow::anyhow!("DATABASE_URL is not a usable MongoDB URL: {}", e.kind))?;
    options.app_name.get_or_insert_with(|| "educoin".to_owned());
    // Fail fast while the database is down instead of holding requests for the driver's 30 s;
    // a URL that sets these keeps its own values.
    options
        .server_selection_timeout
        .get_or_insert(Duration::from_secs(5));
    options
        .connect_timeout
        .get_or_insert(Duration::from_secs(3));
    let round_trips = Arc::new(AtomicU64::new(0));
    options.command_event_handler = Some(EventHandler::callback({
        let round_trips = round_trips.clone();
        move |event: CommandEvent| {
            // The breaker's probe pings every second on its own; it is no request's query.
            if let CommandEvent::Started(started) = event
                && started.command_name != "ping"
            {
                round_trips.fetch_add(1, Ordering::Relaxed);
            }
        }
    }));
    let db_name = options
        .default_database
        .clone()
        .unwrap_or_else(|| DEFAULT_DATABASE.to_owned());
    let client = Client::with_options(options)?;
    let db = client.database(&db_name);
    let transactions = Arc::new(AtomicBool::new(false));
    let ledger = Arc::new(points::Ledger::new(&client, &db, transactions.clone()));
    Ok(Store {
        backend: Arc::new(MongoBackend {
            db: db.clone(),
            transactions,
            round_trips,
            // Requests do not report to it (each adapter talks to the driver directly): it watches
            // the server itself, every second, with a short deadline.
            breaker: Breaker::new(NAME, Probing::Always, {
                let db = db.clone();
                Arc::new(move || {
                    let db = db.clone();
                    Box::pin(async move { ping(&db).await.is_ok() })
                })
            }),
        }),
        teachers: Arc::new(Rows::new(&db)),
        admins: Arc::new(Rows::new(&db)),
        students: Arc::new(students::MongoStudents::new(&db)),
        refresh_tokens: Arc::new(tokens::MongoRefreshTokens::new(&db)),
        classes: Arc::new(classroom::MongoClasses::new(&db)),
        categories: Arc::new(Rows::new(&db)),
        tasks: Arc::new(Rows::new(&db)),
        rewards: Arc::new(Rows::new(&db)),
        notifications: Arc::new(notifications::MongoNotifications::new(&db)),
        files: Arc::new(files::MongoFiles::new(&db)),
        uploads: Arc::new(uploads::MongoUploads::new(&db)),
        presets: Arc::new(content::MongoPresets::new(&db)),
        rules: Arc::new(content::MongoRules::new(&db)),
        feedbacks: Arc::new(content::MongoFeedbacks::new(&db)),
        payments: Arc::new(payments::MongoPayments::new(&db)),
        push: Arc::new(push::MongoPush::new(&db)),
        // The three that move points share the ledger.
        task_assignments: Arc::new(assignments::MongoTaskAssignments::new(&db, &ledger)),
        reward_assignments: Arc::new(assignments::MongoRewardAssignments::new(&db, &ledger)),
        points: Arc::new(assignments::MongoPointsSettlement::new(&db, &ledger)),
    })
}

/// The document with this `_id`, converted to its domain type.
pub(crate) async fn find_by_id<D, T>(
    coll: &mongodb::Collection<D>,
    op: &'static str,
    id: &crate::domain::Id,
) -> StoreResult<Option<T>>
where
    D: serde::de::DeserializeOwned + Send + Sync,
    T: TryFrom<D, Error = StoreError>,
{
    observe(op, coll.find_one(doc! { "_id": id.to_object_id() }))
        .await?
        .map(T::try_from)
        .transpose()
}

/// The documents among `ids` in one query (`$in`; any order, unknown ids left out).
pub(crate) async fn find_by_ids<D, T>(
    coll: &mongodb::Collection<D>,
    op: &'static str,
    ids: &[crate::domain::Id],
) -> StoreResult<Vec<T>>
where
    D: serde::de::DeserializeOwned + Send + Sync,
    T: TryFrom<D, Error = StoreError>,
{
    use futures_util::TryStreamExt;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<_> = ids.iter().map(crate::domain::Id::to_object_id).collect();
    let docs: Vec<D> = observe(op, async {
        coll.find(doc! { "_id": { "$in": ids } })
            .await?
            .try_collect()
            .await
    })
    .await?;
    docs.into_iter().map(T::try_from).collect()
}

/// One page of the documents matching `filter`, newest first (`createdAt`, then `_id`).
pub(crate) async fn page<D, T>(
    coll: &mongodb::Collection<D>,
    op: &'static str,
    filter: mongodb::bson::Document,
    q: &crate::store::ListQuery,
) -> StoreResult<crate::store::Page<T>>
where
    D: serde::de::DeserializeOwned + Send + Sync,
    T: TryFrom<D, Error = StoreError>,
{
    let total = observe(op, coll.count_documents(filter.clone())).await?;
    if q.is_past(total) {
        return Ok(crate::store::Page {
            items: vec![],
            total,
        });
    }
    let items = newest_first(coll, op, filter, Some(q)).await?;
    Ok(crate::store::Page { items, total })
}

/// The documents matching `filter`, newest first: all of them, or one page of `q`.
pub(crate) async fn newest_first<D, T>(
    coll: &mongodb::Collection<D>,
    op: &'static str,
    filter: mongodb::bson::Document,
    q: Option<&crate::store::ListQuery>,
) -> StoreResult<Vec<T>>
where
    D: serde::de::DeserializeOwned + Send + Sync,
    T: TryFrom<D, Error = StoreError>,
{
    use futures_util::TryStreamExt;
    let docs: Vec<D> = observe(op, async {
        let find = coll.find(filter).sort(doc! { "createdAt": -1, "_id": -1 });
        let find = match q {
            Some(q) => find.skip(q.skip()).limit(q.limit as i64),
            None => find,
        };
        find.await?.try_collect().await
    })
    .await?;
    docs.into_iter().map(T::try_from).collect()
}

pub(crate) fn millis(t: mongodb::bson::DateTime) -> crate::domain::Millis {
    crate::domain::Millis(t.timestamp_millis())
}

pub(crate) fn date(m: crate::domain::Millis) -> mongodb::bson::DateTime {
    mongodb::bson::DateTime::from_millis(m.0)
}

/// Adds a patch's field to its `$set` when the patch sets it; an unset field stays as stored.
pub(crate) fn set_some(set: &mut Document, name: &str, value: Option<impl Into<Bson>>) {
    if let Some(value) = value {
        set.insert(name, value.into());
    }
}

/// Adds an edit's [`Changes`] to its `$set`, each under the camelCase of its column name; an
/// unset field stays as stored.
pub(crate) fn set_changes(set: &mut Document, changes: Changes) {
    for (column, change) in changes {
        let name = camel_case(column);
        match change {
            Change::Text(v) => set_some(set, &name, v),
            Change::Number(v) => set_some(set, &name, v),
            Change::Id(v) => set_some(set, &name, v.as_ref().map(Id::to_object_id)),
        }
    }
}

/// `required_points` → `requiredPoints`: the stored names of the old server's documents.
fn camel_case(column: &str) -> String {
    let mut parts = column.split('_');
    let mut name = parts.next().unwrap_or_default().to_owned();
    for part in parts {
        let mut chars = part.chars();
        name.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        name.push_str(chars.as_str());
    }
    name
}

/// Creates `indexes` on collection `name`; one that exists already (same keys, same name) is left
/// as it is, so migrating again changes nothing.
pub(crate) async fn ensure_indexes(
    db: &Database,
    name: &str,
    indexes: impl IntoIterator<Item = IndexModel>,
) -> StoreResult<()> {
    let coll = db.collection::<Document>(name);
    observe("migrate", coll.create_indexes(indexes))
        .await
        .map(drop)
}

/// The filter of an owned document, `field` naming the owner ("teacher", "student",
/// "recipient"): a write to an account's own record names both, so that a request never touches
/// another account's.
pub(crate) fn owned(field: &str, write: crate::store::OwnerWrite<'_>) -> Document {
    let mut filter = doc! { "_id": write.id.to_object_id() };
    filter.insert(field, write.owner.to_object_id());
    filter
}

/// An index named `name` on `keys`.
pub(crate) fn index(keys: Document, name: &str) -> IndexModel {
    named_index(keys, name, false)
}

/// An index named `name` for "newest first" lists filtered on `prefix`'s fields: those, then
/// `createdAt` and `_id` descending (the order every list sorts by).
pub(crate) fn newest_first_index(mut prefix: Document, name: &str) -> IndexModel {
    prefix.insert("createdAt", -1);
    prefix.insert("_id", -1);
    index(prefix, name)
}

/// A unique index named `name` on `keys`.
pub(crate) fn unique_index(keys: Document, name: &str) -> IndexModel {
    named_index(keys, name, true)
}

/// `unique` is always spelled out (also `false`), as the indexes in place were created with it:
/// `createIndexes` must keep seeing the same options for the same name.
fn named_index(keys: Document, name: &str, unique: bool) -> IndexModel {
    let options = IndexOptions::builder()
        .name(name.to_owned())
        .unique(unique)
        .build();
    IndexModel::builder().keys(keys).options(options).build()
}

/// `{createdAt: {$gte: from, $lt: to}}`.
pub(crate) fn created_between(
    from: crate::domain::Millis,
    to: crate::domain::Millis,
) -> mongodb::bson::Document {
    doc! { "createdAt": {
        "$gte": mongodb::bson::DateTime::from_millis(from.0),
        "$lt": mongodb::bson::DateTime::from_millis(to.0),
    } }
}

/// `search` as a case-insensitive regex that matches the text literally.
pub(crate) fn literal_regex(search: &str) -> mongodb::bson::Regex {
    let mut pattern = String::with_capacity(search.len());
    for c in search.chars() {
        if "\\^$.|?*+()[]{}".contains(c) {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    mongodb::bson::Regex {
        pattern,
        options: "i".to_owned(),
    }
}
