use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Documents, created_between, date, document, literal_regex, observe};
use crate::domain::account::{AdminPatch, TeacherPatch};
use crate::domain::{AccountStatus, Admin, Id, Millis, Teacher};
use crate::store::rows::shared_rows;
use crate::store::{Admins, ListQuery, Page, StoreError, StoreResult, Teachers};

pub(super) const TEACHERS: &str = "teachers";
pub(super) const ADMINS: &str = "admins";

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

/// What teachers and admins share: the by-email lookup, the patch, the password and the epoch.
struct Accounts<D: Send + Sync, T> {
    docs: Documents<D, T>,
    /// The operation names, `<collection>.<operation>`.
    ops: AccountOps,
}

struct AccountOps {
    by_email: &'static str,
    update: &'static str,
    set_password_hash: &'static str,
    change_password: &'static str,
}

impl<D, T> Accounts<D, T>
where
    D: Serialize + DeserializeOwned + Send + Sync + for<'a> From<&'a T>,
    T: TryFrom<D, Error = StoreError> + Send + Sync,
{
    async fn by_email(&self, email: &str) -> StoreResult<Option<T>> {
        self.docs
            .one(self.ops.by_email, doc! { "email": email })
            .await
    }

    async fn update(
        &self,
        id: &Id,
        fields: &[(&str, &Option<String>)],
        now: Millis,
    ) -> StoreResult<Option<T>> {
        let update = patch_update(fields, now);
        self.docs.update_by_id(self.ops.update, id, update).await
    }

    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool> {
        let set = doc! { "$set": { "passwordHash": hash, "updatedAt": date(now) } };
        self.docs
            .set_by_id(self.ops.set_password_hash, id, set)
            .await
    }

    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>> {
        let set = doc! { "passwordHash": hash };
        bump_epoch(self.docs.raw(), self.ops.change_password, id, set, now).await
    }
}

pub(super) struct MongoTeachers {
    accounts: Accounts<TeacherDoc, Teacher>,
}

impl MongoTeachers {
    pub(super) fn new(db: &Database) -> Self {
        MongoTeachers {
            accounts: Accounts {
                docs: Documents::new(db, TEACHERS).unique("a teacher", "email"),
                ops: AccountOps {
                    by_email: "teachers.by_email",
                    update: "teachers.update",
                    set_password_hash: "teachers.set_password_hash",
                    change_password: "teachers.change_password",
                },
            },
        }
    }
}

#[async_trait::async_trait]
impl Teachers for MongoTeachers {
    shared_rows!(docs accounts.docs, Teacher, "teachers": insert, by_id);

    async fn by_email(&self, email: &str) -> StoreResult<Option<Teacher>> {
        self.accounts.by_email(email).await
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Teacher>> {
        let filter = match &q.search {
            Some(s) => {
                let re = literal_regex(s);
                doc! { "$or": [ { "name": re.clone() }, { "email": re } ] }
            }
            None => doc! {},
        };
        self.accounts.docs.page("teachers.list", filter, q).await
    }

    async fn update(&self, id: &Id, p: &TeacherPatch, now: Millis) -> StoreResult<Option<Teacher>> {
        let fields = [
            ("name", &p.name),
            ("contact", &p.contact),
            ("location", &p.location),
            ("profile", &p.profile),
        ];
        self.accounts.update(id, &fields, now).await
    }

    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool> {
        self.accounts.set_password_hash(id, hash, now).await
    }

    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>> {
        self.accounts.change_password(id, hash, now).await
    }

    async fn set_status(
        &self,
        id: &Id,
        status: AccountStatus,
        now: Millis,
    ) -> StoreResult<Option<i64>> {
        let set = doc! { "status": status.as_str() };
        bump_epoch(
            self.accounts.docs.raw(),
            "teachers.set_status",
            id,
            set,
            now,
        )
        .await
    }

    async fn set_passcode_if_missing(&self, id: &Id, sealed: &str) -> StoreResult<bool> {
        let r = observe(
            "teachers.set_passcode_if_missing",
            self.accounts.docs.raw().update_one(
                doc! { "_id": id.to_object_id(), "passcodeSealed": null },
                doc! { "$set": { "passcodeSealed": sealed } },
            ),
        )
        .await?;
        Ok(r.modified_count == 1)
    }

    async fn count(&self) -> StoreResult<u64> {
        self.accounts.docs.count("teachers.count", doc! {}).await
    }

    async fn count_created_between(&self, from: Millis, to: Millis) -> StoreResult<u64> {
        let filter = created_between(from, to);
        self.accounts
            .docs
            .count("teachers.count_created_between", filter)
            .await
    }
}

pub(super) struct MongoAdmins {
    accounts: Accounts<AdminDoc, Admin>,
}

impl MongoAdmins {
    pub(super) fn new(db: &Database) -> Self {
        MongoAdmins {
            accounts: Accounts {
                docs: Documents::new(db, ADMINS).unique("an admin", "email"),
                ops: AccountOps {
                    by_email: "admins.by_email",
                    update: "admins.update",
                    set_password_hash: "admins.set_password_hash",
                    change_password: "admins.change_password",
                },
            },
        }
    }
}

#[async_trait::async_trait]
impl Admins for MongoAdmins {
    shared_rows!(docs accounts.docs, Admin, "admins": insert, by_id);

    async fn by_email(&self, email: &str) -> StoreResult<Option<Admin>> {
        self.accounts.by_email(email).await
    }

    async fn update(&self, id: &Id, p: &AdminPatch, now: Millis) -> StoreResult<Option<Admin>> {
        let fields = [
            ("name", &p.name),
            ("email", &p.email),
            ("contact", &p.contact),
            ("location", &p.location),
            ("profile", &p.profile),
        ];
        self.accounts.update(id, &fields, now).await
    }

    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool> {
        self.accounts.set_password_hash(id, hash, now).await
    }

    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>> {
        self.accounts.change_password(id, hash, now).await
    }
}
