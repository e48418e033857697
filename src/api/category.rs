//! `/category/*`: a teacher's task categories (name and icon).

use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::owned::patched;
use super::views::CategoryView;
use crate::domain::classroom::CategoryPatch;
use crate::domain::{Category, Id, ImageRef, Name, Teacher};
use crate::http::auth::{Auth, ById};
use crate::http::fields::{Required, Text};
use crate::http::input::{parse, parse_optional};
use crate::http::{Reply, ok};

pub struct CategoryApi;

#[derive(Object)]
struct CreateCategoryBody {
    name: Required<Text>,
    /// An image path (`/images/...`), file name or http(s) URL; at most 500 characters.
    image: Required<Text>,
}

/// The app echoes the whole category back; only these fields are read.
#[derive(Object)]
struct UpdateCategoryBody {
    name: Option<Text>,
    image: Option<Text>,
}

#[OpenApi(tag = "ApiTags::Category")]
impl CategoryApi {
    /// All the teacher's categories, newest first (not paginated).
    #[oai(path = "/category", method = "get")]
    async fn list(&self, auth: Auth<'_, Teacher>) -> Reply<Vec<CategoryView>> {
        let all = auth.state.store.categories.list_for_teacher(&auth.who.id);
        let views = all
            .await?
            .iter()
            .map(CategoryView::from)
            .collect::<Vec<_>>();
        ok("Categories retrieved successfully", views)
    }

    /// Creates a category.
    #[oai(path = "/category/create-category", method = "post")]
    async fn create(&self, auth: Auth<'_, Teacher, CreateCategoryBody>) -> Reply<CategoryView> {
        let (state, body) = (auth.state, &auth.body);
        let name: Name = parse("name", body.name.as_deref())?;
        let image: ImageRef = parse("image", body.image.as_deref())?;
        let now = state.clock.now();
        let category = Category {
            id: Id::generate(),
            name: name.into(),
            image: image.into(),
            teacher: auth.who.id.clone(),
            created_at: now,
            updated_at: now,
            version: 0,
        };
        state.store.categories.insert(&category).await?;
        ok("Category created successfully", &category)
    }

    /// Edits `name` and `image`; the rest of an echoed category is ignored.
    #[oai(path = "/category/:id", method = "patch")]
    async fn update(
        &self,
        id: ById<'_, Teacher, Category, UpdateCategoryBody>,
    ) -> Reply<CategoryView> {
        let ById { auth, id, .. } = id;
        let body = &auth.body;
        let patch = CategoryPatch {
            name: parse_optional::<Name>("name", body.name.as_deref())?.map(String::from),
            image: parse_optional::<ImageRef>("image", body.image.as_deref())?.map(String::from),
        };
        let updated = patched::<Category>(&auth, &id, &patch).await?;
        ok("Category updated successfully", &updated)
    }
}
