use futures_util::TryStreamExt;
use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, Document, doc};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};

use super::{conflict_on, created_between, date, find_by_id, literal_regex, observe};
use crate::domain::account::{AdminPatch, TeacherPatch};
use crate::domain::{AccountStatus, Admin, AdminRole, Id, Millis, Teacher};
use crate::store::{Admins, ListQuery, Page, StoreError, StoreResult, Teachers};

pub(super) const TEACHERS: &str = "teachers";
pub(super) const ADMINS: &str = "admins";

/// The stored shape: Mongoose's field names, so documents look like the old server's.
#[derive(Serialize, Deserialize)]
struct TeacherDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    email: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    profile: Option<String>,
    status: String,
    #[serde(rename = "passwordHash", default)]
    password_hash: Option<String>,
    #[serde(rename = "passcodeSealed", default)]
    passcode_sealed: Option<String>,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
    /// Absent on documents written before it existed: epoch 0, the epoch of their tokens.
    #[serde(rename = "tokenEpoch", default)]
    token_epoch: i64,
}

impl From<&Teacher> for TeacherDoc {
    fn from(t: &Teacher) -> Self {
        TeacherDoc {
            id: t.id.to_object_id(),
            name: t.name.clone(),
            email: t.email.clone(),
            contact: t.contact.clone(),
            location: t.location.clone(),
            profile: t.profile.clone(),
            status: t.status.as_str().to_owned(),
            password_hash: t.password_hash.clone(),
            passcode_sealed: t.passcode_sealed.clone(),
            created_at: DateTime::from_millis(t.created_at.0),
            updated_at: DateTime::from_millis(t.updated_at.0),
            version: t.version,
            token_epoch: t.token_epoch,
        }
    }
}

impl TryFrom<TeacherDoc> for Teacher {
    type Error = StoreError;
    fn try_from(d: TeacherDoc) -> StoreResult<Teacher> {
        Ok(Teacher {
            id: Id::from_object_id(d.id),
            status: AccountStatus::parse(&d.status).ok_or_else(|| {
                StoreError::backend(format!("teacher {}: unknown status {:?}", d.id, d.status))
            })?,
            name: d.name,
            email: d.email,
            contact: d.contact,
            location: d.location,
            profile: d.profile,
            password_hash: d.password_hash,
            passcode_sealed: d.passcode_sealed,
            created_at: Millis(d.created_at.timestamp_millis()),
            updated_at: Millis(d.updated_at.timestamp_millis()),
            version: d.version,
            token_epoch: d.token_epoch,
        })
    }
}

#[derive(Serialize, Deserialize)]
struct AdminDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    name: String,
    email: String,
    #[serde(default)]
    contact: String,
    #[serde(default)]
    location: String,
    #[serde(default)]
    profile: Option<String>,
    role: String,
    #[serde(rename = "passwordHash")]
    password_hash: String,
    #[serde(rename = "createdAt")]
    created_at: DateTime,
    #[serde(rename = "updatedAt")]
    updated_at: DateTime,
    #[serde(rename = "__v", default)]
    version: i64,
    /// Absent on documents written before it existed: epoch 0, the epoch of their tokens.
    #[serde(rename = "tokenEpoch", default)]
    token_epoch: i64,
}

impl From<&Admin> for AdminDoc {
    fn from(a: &Admin) -> Self {
        AdminDoc {
            id: a.id.to_object_id(),
            name: a.name.clone(),
            email: a.email.clone(),
            contact: a.contact.clone(),
            location: a.location.clone(),
            profile: a.profile.clone(),
            role: a.role.as_str().to_owned(),
            password_hash: a.password_hash.clone(),
            created_at: DateTime::from_millis(a.created_at.0),
            updated_at: DateTime::from_millis(a.updated_at.0),
            version: a.version,
            token_epoch: a.token_epoch,
        }
    }
}

impl TryFrom<AdminDoc> for Admin {
    type Error = StoreError;
    fn try_from(d: AdminDoc) -> StoreResult<Admin> {
        Ok(Admin {
            id: Id::from_object_id(d.id),
            role: AdminRole::parse(&d.role).ok_or_else(|| {
                StoreError::backend(format!("admin {}: unknown role {:?}", d.id, d.role))
            })?,
            name: d.name,
            email: d.email,
            contact: d.contact,
            location: d.location,
            profile: d.profile,
            password_hash: d.password_hash,
            created_at: Millis(d.created_at.timestamp_millis()),
            updated_at: Millis(d.updated_at.timestamp_millis()),
            version: d.version,
            token_epoch: d.token_epoch,
        })
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

pub(super) fn convert<D, T: TryFrom<D, Error = StoreError>>(
    doc: Option<D>,
) -> StoreResult<Option<T>> {
    doc.map(T::try_from).transpose()
}

pub(super) struct MongoTeachers {
    coll: Collection<TeacherDoc>,
}

impl MongoTeachers {
    pub(super) fn new(db: &Database) -> Self {
        MongoTeachers {
            coll: db.collection(TEACHERS),
        }
    }
}

#[async_trait::async_trait]
impl Teachers for MongoTeachers {
    async fn insert(&self, t: &Teacher) -> StoreResult<()> {
        observe("teachers.insert", self.coll.insert_one(TeacherDoc::from(t)))
            .await
            .map(drop)
            .map_err(|e| conflict_on(e, "a teacher", "email"))
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Teacher>> {
        find_by_id(&self.coll, "teachers.by_id", id).await
    }

    async fn by_email(&self, email: &str) -> StoreResult<Option<Teacher>> {
        convert(
            observe(
                "teachers.by_email",
                self.coll.find_one(doc! { "email": email }),
            )
            .await?,
        )
    }

    async fn list(&self, q: &ListQuery) -> StoreResult<Page<Teacher>> {
        let filter = match &q.search {
            Some(s) => {
                let re = literal_regex(s);
                doc! { "$or": [ { "name": re.clone() }, { "email": re } ] }
            }
            None => doc! {},
        };
        let total = observe("teachers.count", self.coll.count_documents(filter.clone())).await?;
        if q.is_past(total) {
            return Ok(Page {
                items: vec![],
                total,
            });
        }
        let docs: Vec<TeacherDoc> = observe("teachers.list", async {
            self.coll
                .find(filter)
                .sort(doc! { "createdAt": -1, "_id": -1 })
                .skip(q.skip())
                .limit(q.limit as i64)
                .await?
                .try_collect()
                .await
        })
        .await?;
        Ok(Page {
            items: docs
                .into_iter()
                .map(Teacher::try_from)
                .collect::<StoreResult<_>>()?,
            total,
        })
    }

    async fn update(&self, id: &Id, p: &TeacherPatch, now: Millis) -> StoreResult<Option<Teacher>> {
        let update = patch_update(
            &[
                ("name", &p.name),
                ("contact", &p.contact),
                ("location", &p.location),
                ("profile", &p.profile),
            ],
            now,
        );
        convert(
            observe(
                "teachers.update",
                self.coll
                    .find_one_and_update(doc! { "_id": id.to_object_id() }, update)
                    .return_document(ReturnDocument::After),
            )
            .await?,
        )
    }

    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool> {
        let r = observe(
            "teachers.set_password_hash",
            self.coll.update_one(
                doc! { "_id": id.to_object_id() },
                doc! { "$set": { "passwordHash": hash, "updatedAt": date(now) } },
            ),
        )
        .await?;
        Ok(r.matched_count == 1)
    }

    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>> {
        bump_epoch(
            &self.coll,
            "teachers.change_password",
            id,
            doc! { "passwordHash": hash },
            now,
        )
        .await
    }

    async fn set_status(
        &self,
        id: &Id,
        status: AccountStatus,
        now: Millis,
    ) -> StoreResult<Option<i64>> {
        bump_epoch(
            &self.coll,
            "teachers.set_status",
            id,
            doc! { "status": status.as_str() },
            now,
        )
        .await
    }

    async fn set_passcode_if_missing(&self, id: &Id, sealed: &str) -> StoreResult<bool> {
        let r = observe(
            "teachers.set_passcode_if_missing",
            self.coll.update_one(
                doc! { "_id": id.to_object_id(), "passcodeSealed": null },
                doc! { "$set": { "passcodeSealed": sealed } },
            ),
        )
        .await?;
        Ok(r.modified_count == 1)
    }

    async fn count(&self) -> StoreResult<u64> {
        observe("teachers.count", self.coll.count_documents(doc! {})).await
    }

    async fn count_created_between(&self, from: Millis, to: Millis) -> StoreResult<u64> {
        observe(
            "teachers.count_created_between",
            self.coll.count_documents(created_between(from, to)),
        )
        .await
    }
}

pub(super) struct MongoAdmins {
    coll: Collection<AdminDoc>,
}

impl MongoAdmins {
    pub(super) fn new(db: &Database) -> Self {
        MongoAdmins {
            coll: db.collection(ADMINS),
        }
    }
}

#[async_trait::async_trait]
impl Admins for MongoAdmins {
    async fn insert(&self, a: &Admin) -> StoreResult<()> {
        observe("admins.insert", self.coll.insert_one(AdminDoc::from(a)))
            .await
            .map(drop)
            .map_err(|e| conflict_on(e, "an admin", "email"))
    }

    async fn by_id(&self, id: &Id) -> StoreResult<Option<Admin>> {
        find_by_id(&self.coll, "admins.by_id", id).await
    }

    async fn by_email(&self, email: &str) -> StoreResult<Option<Admin>> {
        convert(
            observe(
                "admins.by_email",
                self.coll.find_one(doc! { "email": email }),
            )
            .await?,
        )
    }

    async fn update(&self, id: &Id, p: &AdminPatch, now: Millis) -> StoreResult<Option<Admin>> {
        let update = patch_update(
            &[
                ("name", &p.name),
                ("email", &p.email),
                ("contact", &p.contact),
                ("location", &p.location),
                ("profile", &p.profile),
            ],
            now,
        );
        convert(
            observe(
                "admins.update",
                self.coll
                    .find_one_and_update(doc! { "_id": id.to_object_id() }, update)
                    .return_document(ReturnDocument::After),
            )
            .await
            .map_err(|e| conflict_on(e, "an admin", "email"))?,
        )
    }

    async fn set_password_hash(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<bool> {
        let r = observe(
            "admins.set_password_hash",
            self.coll.update_one(
                doc! { "_id": id.to_object_id() },
                doc! { "$set": { "passwordHash": hash, "updatedAt": date(now) } },
            ),
        )
        .await?;
        Ok(r.matched_count == 1)
    }

    async fn change_password(&self, id: &Id, hash: &str, now: Millis) -> StoreResult<Option<i64>> {
        bump_epoch(
            &self.coll,
            "admins.change_password",
            id,
            doc! { "passwordHash": hash },
            now,
        )
        .await
    }
}
