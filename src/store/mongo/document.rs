//! A collection described once, the MongoDB twin of SQLite's `table!`:
//!
//! - `document!` declares the stored document (its field names and serde defaults) together with
//!   the domain row it maps to; each field converts through [`Field`], so the mapping is written
//!   once instead of a struct, a `From` and a `TryFrom` that repeat every field.
//! - [`Documents`] is the handle an adapter holds: the collection and what a duplicate key on it
//!   means, with the operations every collection shares (insert, by id, by ids, one, newest-first
//!   list and page, update and delete by a filter, count).
//!
//! Adapters keep only what is their own: indexes, the filters of their queries, and the
//! conditional updates (transitions, the points ledger) that are the point of the backend.

use std::marker::PhantomData;

use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{Bson, DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{conflict_on, observe};
use crate::domain::account::{AccountStatus, AdminRole};
use crate::domain::assignment::{RewardStatus, TaskStatus};
use crate::domain::classroom::{Repeat, TaskType};
use crate::domain::content::{PresetType, RuleType};
use crate::domain::notification::NotificationKind;
use crate::domain::payments::{PaymentStatus, ProjectStatus};
use crate::domain::{Id, Millis, Role};
use crate::store::{ListQuery, Page, Platform, Record, Records, StoreError, StoreResult};

/// How a domain value is kept in a document field of type `S`.
pub(crate) trait Field<S>: Sized {
    fn store(&self) -> S;
    /// `Err` describes the stored value that has no domain meaning (a corrupt document).
    fn load(stored: S) -> Result<Self, String>;
}

/// Values stored as they are.
macro_rules! as_is {
    ($($t:ty),+) => {$(
        impl Field<$t> for $t {
            fn store(&self) -> $t {
                self.clone()
            }
            fn load(stored: $t) -> Result<Self, String> {
                Ok(stored)
            }
        }
    )+};
}

as_is!(String, Option<String>, i64, bool);

/// Closed sets of names, stored as their name (`as_str`/`parse`).
macro_rules! as_name {
    ($($t:ty),+) => {$(
        impl Field<String> for $t {
            fn store(&self) -> String {
                self.as_str().to_owned()
            }
            fn load(stored: String) -> Result<Self, String> {
                <$t>::parse(&stored).ok_or_else(|| format!("{stored:?}"))
            }
        }
    )+};
}

as_name!(
    AccountStatus,
    AdminRole,
    Role,
    TaskType,
    Repeat,
    TaskStatus,
    RewardStatus,
    PresetType,
    RuleType,
    NotificationKind,
    ProjectStatus,
    PaymentStatus,
    Platform
);

impl Field<ObjectId> for Id {
    fn store(&self) -> ObjectId {
        self.to_object_id()
    }
    fn load(stored: ObjectId) -> Result<Self, String> {
        Ok(Id::from_object_id(stored))
    }
}

/// Ids kept as hex text (refresh tokens, as the old server wrote them).
impl Field<String> for Id {
    fn store(&self) -> String {
        self.to_hex()
    }
    fn load(stored: String) -> Result<Self, String> {
        Id::parse(&stored).map_err(|_| format!("{stored:?}"))
    }
}

impl Field<DateTime> for Millis {
    fn store(&self) -> DateTime {
        super::date(*self)
    }
    fn load(stored: DateTime) -> Result<Self, String> {
        Ok(super::millis(stored))
    }
}

impl Field<Option<DateTime>> for Option<Millis> {
    fn store(&self) -> Option<DateTime> {
        self.as_ref().map(Field::store)
    }
    fn load(stored: Option<DateTime>) -> Result<Self, String> {
        stored.map(Field::load).transpose()
    }
}

/// The error for a stored value that does not map back to the domain.
pub(crate) fn corrupt(document: &str, field: &str, value: String) -> StoreError {
    StoreError::backend(format!("{document}: unknown {field} {value}"))
}

/// Declares a document struct, `From<&Row>` and `TryFrom<Doc> for Row` from one field list:
/// `field as "storedName": StoredType` (the name defaults to the field's, attributes such as
/// `#[serde(default)]` pass through). Fields the document has and the row does not go in a
/// `stored only` block with the value a new document gets (`fn(&Row) -> T`).
macro_rules! document {
    (
        $(#[$meta:meta])*
        $vis:vis struct $doc:ident for $row:ident {
            $( $(#[$fmeta:meta])* $field:ident $(as $name:literal)?: $stored:ty ),+ $(,)?
        }
        $( stored only {
            $( $(#[$emeta:meta])* $efield:ident $(as $ename:literal)?: $ety:ty = $init:expr ),+ $(,)?
        } )?
    ) => {
        $(#[$meta])*
        #[derive(serde::Serialize, serde::Deserialize)]
        $vis struct $doc {
            $( $(#[$fmeta])* $(#[serde(rename = $name)])? $field: $stored, )+
            $($( $(#[$emeta])* $(#[serde(rename = $ename)])? $efield: $ety, )+)?
        }

        impl From<&$row> for $doc {
            fn from(row: &$row) -> Self {
                $doc {
                    $( $field: $crate::store::mongo::document::Field::store(&row.$field), )+
                    $($( $efield: {
                        let init: fn(&$row) -> $ety = $init;
                        init(row)
                    }, )+)?
                }
            }
        }

        impl TryFrom<$doc> for $row {
            type Error = $crate::store::StoreError;
            fn try_from(d: $doc) -> $crate::store::StoreResult<$row> {
                Ok($row {
                    $( $field: $crate::store::mongo::document::Field::load(d.$field).map_err(
                        |v| $crate::store::mongo::document::corrupt(
                            stringify!($doc), stringify!($field), v,
                        ),
                    )?, )+
                })
            }
        }
    };
}

pub(crate) use document;

/// A row type and its collection, for the adapters written once over several collections.
pub(crate) trait Stored:
    TryFrom<Self::Doc, Error = StoreError> + Send + Sync + Sized + 'static
{
    type Doc: Serialize + DeserializeOwned + Send + Sync + for<'a> From<&'a Self>;
    const COLLECTION: &'static str;
    /// What a duplicate key on the collection is about (entity, field), where it has a unique
    /// index.
    const UNIQUE: Option<(&'static str, &'static str)> = None;
}

/// The documents of `T`'s collection: what a generic adapter implements its port on.
pub(crate) struct Rows<T: Stored> {
    pub docs: Documents<T::Doc, T>,
}

impl<T: Stored> Rows<T> {
    pub fn new(db: &Database) -> Self {
        let docs = Documents::new(db, T::COLLECTION);
        let docs = match T::UNIQUE {
            Some((entity, field)) => docs.unique(entity, field),
            None => docs,
        };
        Rows { docs }
    }
}

#[async_trait::async_trait]
impl<T: Record + Stored> Records<T> for Rows<T> {
    async fn insert(&self, record: &T) -> StoreResult<()> {
        self.docs.insert(T::OPS.insert, record).await
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<T>> {
        self.docs.by_id(T::OPS.by_id, id).await
    }
}

/// One collection, its documents `D` mapping to domain rows `T` (see `document!`).
pub(crate) struct Documents<D: Send + Sync, T> {
    coll: Collection<D>,
    /// What a duplicate key on this collection is about (entity, field), for `Conflict`.
    unique: (&'static str, &'static str),
    row: PhantomData<fn() -> T>,
}

impl<D, T> Documents<D, T>
where
    D: Serialize + DeserializeOwned + Send + Sync + for<'a> From<&'a T>,
    T: TryFrom<D, Error = StoreError> + Send + Sync,
{
    pub fn new(db: &Database, name: &str) -> Self {
        Documents {
            coll: db.collection(name),
            unique: ("a record", "value"),
            row: PhantomData,
        }
    }

    /// Names what a duplicate key on this collection is about.
    pub fn unique(mut self, entity: &'static str, field: &'static str) -> Self {
        self.unique = (entity, field);
        self
    }

    /// The driver's collection, for what is this collection's own.
    pub fn raw(&self) -> &Collection<D> {
        &self.coll
    }

    fn conflict(&self, e: StoreError) -> StoreError {
        conflict_on(e, self.unique.0, self.unique.1)
    }

    pub async fn insert(&self, op: &'static str, row: &T) -> StoreResult<()> {
        observe(op, self.coll.insert_one(D::from(row)))
            .await
            .map(drop)
            .map_err(|e| self.conflict(e))
    }

    /// The document matching `filter`.
    pub async fn one(&self, op: &'static str, filter: Document) -> StoreResult<Option<T>> {
        load(observe(op, self.coll.find_one(filter)).await?)
    }

    pub async fn by_id(&self, op: &'static str, id: &Id) -> StoreResult<Option<T>> {
        super::find_by_id(&self.coll, op, id).await
    }

    /// The documents among `ids` in one query (any order, unknown ids left out).
    pub async fn by_ids(&self, op: &'static str, ids: &[Id]) -> StoreResult<Vec<T>> {
        super::find_by_ids(&self.coll, op, ids).await
    }

    /// Every document matching `filter`, newest first.
    pub async fn list(&self, op: &'static str, filter: Document) -> StoreResult<Vec<T>> {
        super::newest_first(&self.coll, op, filter, None).await
    }

    /// Every document matching `filter`, in `sort` order, at most `limit` of them.
    pub async fn sorted(
        &self,
        op: &'static str,
        filter: Document,
        sort: Document,
        limit: Option<u64>,
    ) -> StoreResult<Vec<T>> {
        let docs: Vec<D> = observe(op, async {
            let find = self.coll.find(filter).sort(sort);
            let find = match limit {
                Some(n) => find.limit(n as i64),
                None => find,
            };
            find.await?.try_collect().await
        })
        .await?;
        docs.into_iter().map(T::try_from).collect()
    }

    /// One page of the documents matching `filter`, newest first.
    pub async fn page(
        &self,
        op: &'static str,
        filter: Document,
        q: &ListQuery,
    ) -> StoreResult<Page<T>> {
        super::page(&self.coll, op, filter, q).await
    }

    /// Applies `update` to the document matching `filter`; the document after it, `None` when
    /// none matched.
    pub async fn update(
        &self,
        op: &'static str,
        filter: Document,
        update: Document,
    ) -> StoreResult<Option<T>> {
        let after = observe(
            op,
            self.coll
                .find_one_and_update(filter, update)
                .return_document(ReturnDocument::After),
        )
        .await
        .map_err(|e| self.conflict(e))?;
        load(after)
    }

    /// The gate of a move that must happen once (money, points, a refresh token's use): a conditional `updateOne` of
    /// the document `id` where `conditions` also hold, then the document as it is after it.
    /// `None` when they did not hold (another writer moved it first) or it is gone. Not
    /// `findAndModify`: jongodb's does not match and write atomically (docs/decisions.md, "A
    /// points move applied twice on jongodb"); `updateOne` does, on both.
    pub async fn gate(
        &self,
        op: &'static str,
        id: impl Into<Bson>,
        mut conditions: Document,
        update: Document,
    ) -> StoreResult<Option<D>> {
        let id: Bson = id.into();
        conditions.insert("_id", id.clone());
        let passed = observe(op, self.coll.update_one(conditions, update))
            .await
            .map_err(|e| self.conflict(e))?;
        if passed.matched_count == 0 {
            return Ok(None);
        }
        observe(op, self.coll.find_one(doc! { "_id": id })).await
    }

    /// Applies `update` to the document `id`; the document after it.
    pub async fn update_by_id(
        &self,
        op: &'static str,
        id: &Id,
        update: Document,
    ) -> StoreResult<Option<T>> {
        self.update(op, doc! { "_id": id.to_object_id() }, update)
            .await
    }

    /// Whether an update of the document `id` with `update` matched it (nothing read back).
    pub async fn set_by_id(
        &self,
        op: &'static str,
        id: &Id,
        update: Document,
    ) -> StoreResult<bool> {
        let r = observe(
            op,
            self.coll
                .update_one(doc! { "_id": id.to_object_id() }, update),
        )
        .await
        .map_err(|e| self.conflict(e))?;
        Ok(r.matched_count == 1)
    }

    /// Deletes the document matching `filter`; the document as it was.
    pub async fn delete(&self, op: &'static str, filter: Document) -> StoreResult<Option<T>> {
        load(observe(op, self.coll.find_one_and_delete(filter)).await?)
    }

    /// How many documents were created in `[from, to)`.
    pub async fn count_created_between(
        &self,
        op: &'static str,
        from: Millis,
        to: Millis,
    ) -> StoreResult<u64> {
        self.count(op, super::created_between(from, to)).await
    }

    pub async fn count(&self, op: &'static str, filter: Document) -> StoreResult<u64> {
        observe(op, self.coll.count_documents(filter)).await
    }
}

/// A found document as its domain row.
pub(crate) fn load<D, T: TryFrom<D, Error = StoreError>>(doc: Option<D>) -> StoreResult<Option<T>> {
    doc.map(T::try_from).transpose()
}
