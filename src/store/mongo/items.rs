//! Categories, tasks and rewards on MongoDB: one adapter for the three, over their collections
//! (the old server's names; their indexes are made with the classes').

use mongodb::bson::oid::ObjectId;
use mongodb::bson::{DateTime, doc};

use super::classroom::page;
use super::collections::{CATEGORIES, REWARDS, TASKS};
use super::{Rows, Stored, date, document, owned, set_changes};
use crate::domain::{Category, Id, Reward, Task};
use crate::store::{
    Categories, ListQuery, OwnerWrite, Page, PagedItem, PagedItems, Record, StoreResult,
    TeacherItem, TeacherItems,
};

document! {
    pub(crate) struct CategoryDoc for Category {
        id as "_id": ObjectId,
        name: String,
        #[serde(default)]
        image: String,
        teacher: ObjectId,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

impl Stored for Category {
    type Doc = CategoryDoc;
    const COLLECTION: &'static str = CATEGORIES;
}

document! {
    pub(crate) struct TaskDoc for Task {
        id as "_id": ObjectId,
        name: String,
        points: i64,
        category: ObjectId,
        kind as "type": String,
        repeat: String,
        teacher: ObjectId,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

impl Stored for Task {
    type Doc = TaskDoc;
    const COLLECTION: &'static str = TASKS;
}

document! {
    pub(crate) struct RewardDoc for Reward {
        id as "_id": ObjectId,
        name: String,
        #[serde(default)]
        image: String,
        required_points as "requiredPoints": i64,
        teacher: ObjectId,
        created_at as "createdAt": DateTime,
        updated_at as "updatedAt": DateTime,
        #[serde(default)]
        version as "__v": i64,
    }
}

impl Stored for Reward {
    type Doc = RewardDoc;
    const COLLECTION: &'static str = REWARDS;
}

#[async_trait::async_trait]
impl<T: TeacherItem + Stored> TeacherItems<T> for Rows<T> {
    async fn by_ids(&self, ids: &[Id]) -> StoreResult<Vec<T>> {
        self.docs.by_ids(T::OPS.by_ids, ids).await
    }

    /// Applies the patch to the teacher's document, bumping `updatedAt` and `__v`.
    async fn update(&self, write: OwnerWrite<'_>, patch: &T::Patch) -> StoreResult<Option<T>> {
        let mut set = doc! { "updatedAt": date(write.now) };
        set_changes(&mut set, T::changes(patch));
        let own = owned("teacher", write);
        let update = doc! { "$set": set, "$inc": { "__v": 1 } };
        self.docs.update(T::OPS.update, own, update).await
    }
}

#[async_trait::async_trait]
impl Categories for Rows<Category> {
    async fn list_for_teacher(&self, teacher: &Id) -> StoreResult<Vec<Category>> {
        let filter = doc! { "teacher": teacher.to_object_id() };
        self.docs.list(Category::OPS.list, filter).await
    }
}

#[async_trait::async_trait]
impl<T: PagedItem + Stored> PagedItems<T> for Rows<T> {
    async fn list_for_teacher(&self, teacher: &Id, q: &ListQuery) -> StoreResult<Page<T>> {
        page(&self.docs, T::OPS.list, teacher, q, true).await
    }
}

#[cfg(test)]
mod tests {
    use mongodb::bson::doc;

    use super::{TaskDoc, set_changes};
    use crate::domain::classroom::{Repeat, RewardPatch, TaskPatch, TaskType};
    use crate::domain::{Id, Millis, Reward, Task};
    use crate::store::{Record, StoreError};

    /// An edit sets only what it carries, under the stored (camelCase) names.
    #[test]
    fn an_edit_sets_its_fields_by_their_stored_names() {
        let mut set = doc! {};
        let patch = RewardPatch {
            required_points: Some(5),
            ..RewardPatch::default()
        };
        set_changes(&mut set, Reward::changes(&patch));
        assert_eq!(set, doc! { "requiredPoints": 5_i64 });

        let category = Id::generate();
        let patch = TaskPatch {
            category: Some(category.clone()),
            kind: Some(TaskType::Good),
            ..TaskPatch::default()
        };
        let mut set = doc! {};
        set_changes(&mut set, Task::changes(&patch));
        let expected = doc! { "category": category.to_object_id(), "type": "good" };
        assert_eq!(set, expected);
    }

    fn task() -> Task {
        Task {
            id: Id::generate(),
            name: "read".to_owned(),
            points: 5,
            category: Id::generate(),
            kind: TaskType::Good,
            repeat: Repeat::Weekly,
            teacher: Id::generate(),
            created_at: Millis(1_700_000_000_123),
            updated_at: Millis(1_700_000_000_456),
            version: 3,
        }
    }

    /// `document!` writes the old server's field names and reads them back into the same row.
    #[test]
    fn a_task_maps_to_its_stored_names_and_back() {
        let t = task();
        let stored = mongodb::bson::to_document(&TaskDoc::from(&t)).unwrap();
        assert_eq!(stored.get_object_id("_id").unwrap(), t.id.to_object_id());
        assert_eq!(stored.get_str("type").unwrap(), "good");
        assert_eq!(stored.get_str("repeat").unwrap(), "weekly");
        let created = stored.get_datetime("createdAt").unwrap();
        assert_eq!(created.timestamp_millis(), t.created_at.0);
        assert_eq!(stored.get_i64("__v").unwrap(), 3);
        let back: TaskDoc = mongodb::bson::from_document(stored).unwrap();
        assert_eq!(Task::try_from(back).unwrap(), t);
    }

    #[test]
    fn an_unknown_stored_name_is_a_backend_error_naming_the_field() {
        let mut stored = mongodb::bson::to_document(&TaskDoc::from(&task())).unwrap();
        stored.insert("type", "sometimes");
        stored.remove("__v");
        let d: TaskDoc = mongodb::bson::from_document(stored).unwrap();
        assert_eq!(d.version, 0, "a missing __v is version 0");
        match Task::try_from(d) {
            Err(e @ StoreError::Backend(_)) => {
                let detail = e.detail();
                assert!(
                    detail.contains("TaskDoc: unknown kind \"sometimes\""),
                    "{detail}"
                );
            }
            other => panic!("expected a backend error, got {other:?}"),
        }
    }
}
