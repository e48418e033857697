use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::collections::{ADMINS, TEACHERS};
use super::{Documents, date, document, literal_regex, observe};
use crate::domain::account::{AdminPatch, TeacherPatch};
use crate::domain::{AccountStatus, Admin, Id, Millis, Teacher};
use crate::store::rows::shared_rows;
use crate::store::{Admins, ListQuery, Page, StoreError, StoreResult, Teachers};

document! {
    /// The stored shape: Mongoose's field names, so documents look like the old server's.
    struct TeacherDoc for Teacher {
        id as "_id": ObjectId,
        name: String,
        email: String,
        #[serde(default)]
        contact: String,
        #[serde(default)]
        location: String,
        #[serde(default)]
        profile: Option<String>,
        status: String,
        #[serde(default)]
        password_hash as "passwordHash": Option<String>,
        #[serde(default)]
        passcode_sealed as "passcodeSealed": Option<String>,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
        /// Absent on documents written before it existed: epoch 0, the epoch of their tokens.
        #[serde(default)]
        token_epoch as "tokenEpoch": i64,
    }
}

document! {
    struct AdminDoc for Admin {
        id as "_id": ObjectId,
        name: String,
        email: String,
        #[serde(default)]
        contact: String,
        #[serde(default)]
        location: String,
        #[serde(default)]
        profile: Option<String>,
        role: String,
        password_hash as "passwordHash": String,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
        /// As on teachers.
        #[serde(default)]
        token_epoch as "tokenEpoch": i64,
    }
}

/// `$set` for the fields a patch carries, plus the bookkeeping every update does.
fn patch_update(fields: &[(&str, &Option<String>)], now: Millis) -> Document {
    let mut set = doc! { "updatedAt": date(now) };
    for (name, value) in fields {
        if let Some(v) = value {
            set.insert(*name, v.clone());
        }
    }
    doc! { "$set": set, "$inc": { "__v": 1 } }
}

/// Sets `set` and increments `tokenEpoch` in one update; the new epoch.
async fn bump_epoch<D: Send + Sync>(
    coll: &Collection<D>,
    op: &'static str,
    id: &Id,
    mut set: Document,
    now: Millis,
) -> StoreResult<Option<i64>> {
    set.insert("updatedAt", date(now));
    let after = observe(
        op,
        coll.clone_with_type::<Document>()
            .find_one_and_update(
                doc! { "_id": id.to_object_id() },
                doc! { "$set": set, "$inc": { "tokenEpoch": 1_i64 } },
            )
            .projection(doc! { "tokenEpoch": 1 })
            .return_document(ReturnDocument::After),
    )
    .await?;
    after
        .map(|d| match d.get("tokenEpoch") {
            Some(mongodb::bson::Bson::Int64(n)) => Ok(*n),
            Some(mongodb::bson::Bson::Int32(n)) => Ok(i64::from(*n)),
            other => Err(StoreError::backend(format!(
                "{op}: tokenEpoch is {other:?} after the update"
            ))),
        })
        .transpose()
}

/// What teachers and admins share: the email, a password, a token epoch.
impl<D, T> Documents<D, T>
where
    D: Serialize + DeserializeOwned + Send + Sync + for<'a> From<&'a T>,
    T: TryFrom<D, Error = StoreError> + Send + Sync,
{
    async fn by_email(&self, op: &'static str, email: &str) -> StoreResult<Option<T>> {
        self.one(op, doc! { "email": email }).await
    }

    async fn set_password_hash(
        &self,
        op: &'static str,
        id: &Id,
        hash: &str,
        now: Millis,
    ) -> StoreResult<bool> {
        let set = doc! { "$set": { "passwordHash": hash, "updatedAt": date(now) } };
        self.set_by_id(op, id, set).await
    }

    /// A new password, which ends every session (a new token epoch, returned).
    async fn change_password(
        &self,
        op: &'static str,
        id: &Id,
        hash: &str,
        now: Millis,
    ) -> StoreResult<Option<i64>> {
        bump_epoch(self.raw(), op, id, doc! { "passwordHash": hash }, now).await
    }

    /// Applies the patch's `fields` that are set.
    async fn patch(
        &self,
        op: &'static str,
        id: &Id,
        fields: &[(&str, &Option<String>)],
        now: Millis,
    ) -> StoreResult<Option<T>> {
        self.update_by_id(op, id, patch_update(fields, now)).await
    }
}

pub(super) struct MongoTeachers {
    docs: Documents<TeacherDoc, Teacher>,
}

impl MongoTeachers {
    pub(super) fn new(db: &Database) -> Self {
        MongoTeachers {
            docs: Documents::new(db, TEACHERS).unique("a teacher", "email"),
        }
    }
}

#[async_trait::async_trait]
impl Teachers for MongoTeachers {
    shared_rows!(docs docs, Teacher, "teachers":
        insert, by_id, by_email, set_password_hash, change_password, count_created_between);

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Teacher>> {
        let filter = match &q.search {
            Some(s) => {
                let re = literal_regex(s);
                doc! { "$or": [ { "name": re.clone() }, { "email": re } ] }
            }
            None => doc! {},
        };
        self.docs.page("teachers.list", filter, q).await
    }

    async fn update(&self, id: &Id, p: &TeacherPatch, now: Millis) -> StoreResult<Option<Teacher>> {
        let fields = [
            ("name", &p.name),
            ("contact", &p.contact),
            ("location", &p.location),
            ("profile", &p.profile),
        ];
        self.docs.patch("teachers.update", id, &fields, now).await
    }

    async fn set_status(
        &self,
        id: &Id,
        status: AccountStatus,
        now: Millis,
    ) -> StoreResult<Option<i64>> {
        let set = doc! { "status": status.as_str() };
        bump_epoch(self.docs.raw(), "teachers.set_status", id, set, now).await
    }

    async fn set_passcode_if_missing(&self, id: &Id, sealed: &str) -> StoreResult<bool> {
        let r = observe(
            "teachers.set_passcode_if_missing",
            self.docs.raw().update_one(
                doc! { "_id": id.to_object_id(), "passcodeSealed": null },
                doc! { "$set": { "passcodeSealed": sealed } },
            ),
        )
        .await?;
        Ok(r.modified_count == 1)
    }

    async fn count(&self) -> StoreResult<u64> {
        self.docs.count("teachers.count", doc! {}).await
    }
}

pub(super) struct MongoAdmins {
    docs: Documents<AdminDoc, Admin>,
}

impl MongoAdmins {
    pub(super) fn new(db: &Database) -> Self {
        MongoAdmins {
            docs: Documents::new(db, ADMINS).unique("an admin", "email"),
        }
    }
}

#[async_trait::async_trait]
impl Admins for MongoAdmins {
    shared_rows!(docs docs, Admin, "admins":
        insert, by_id, by_email, set_password_hash, change_password);

    async fn update(&self, id: &Id, p: &AdminPatch, now: Millis) -> StoreResult<Option<Admin>> {
        let fields = [
            ("name", &p.name),
            ("email", &p.email),
            ("contact", &p.contact),
            ("location", &p.location),
            ("profile", &p.profile),
        ];
        self.docs.patch("admins.update", id, &fields, now).await
    }
}
