use mongodb::Collection;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;

use super::collections::{ADMINS, TEACHERS};
use super::{Rows, Stored, date, document, literal_regex, observe, set_changes};
use crate::domain::{AccountStatus, Admin, Id, Millis, Teacher};
use crate::store::rows::shared_rows;
use crate::store::{
    Account, Accounts, Changes, ListQuery, Page, StoreError, StoreResult, Teachers,
};

document! {
    /// The stored shape: Mongoose's field names, so documents look like the old server's.
    pub(crate) struct TeacherDoc for Teacher {
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
    pub(crate) struct AdminDoc for Admin {
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
fn patch_update(changes: Changes, now: Millis) -> Document {
    let mut set = doc! { "updatedAt": date(now) };
    set_changes(&mut set, changes);
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

impl Stored for Teacher {
    type Doc = TeacherDoc;
    const COLLECTION: &'static str = TEACHERS;
    const UNIQUE: Option<(&'static str, &'static str)> = Some(("a teacher", "email"));
}

impl Stored for Admin {
    type Doc = AdminDoc;
    const COLLECTION: &'static str = ADMINS;
    const UNIQUE: Option<(&'static str, &'static str)> = Some(("an admin", "email"));
}

#[async_trait::async_trait]
impl<A: Account + Stored> Accounts<A> for Rows<A> {
    async fn by_email(&self, email: &str) -> StoreResult<Option<A>> {
        self.docs
            .one(A::OPS.by_email, doc! { "email": email })
            .await
    }

    /// Applies the patch's fields that are set.
    async fn update(&self, id: &Id, p: &A::Patch, now: Millis) -> StoreResult<Option<A>> {
        let update = patch_update(A::changes(p), now);
        self.docs.update_by_id(A::OPS.update, id, update).await
    }

    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool> {
        let set = doc! { "$set": { "passwordHash": hash, "updatedAt": date(now) } };
        self.docs.set_by_id(A::OPS.set_password_hash, id, set).await
    }

    /// A new password, which ends every session (a new token epoch, returned).
    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>> {
        let (op, set) = (A::OPS.change_password, doc! { "passwordHash": hash });
        bump_epoch(self.docs.raw(), op, id, set, now).await
    }
}

#[async_trait::async_trait]
impl Teachers for Rows<Teacher> {
    shared_rows!(docs docs, Teacher, "teachers": count_created_between);

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
