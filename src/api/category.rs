//! `/category/*`: a teacher's task categories (name and icon).

use crate::http::Json;
use poem_openapi::param::Path;
use poem_openapi::{Object, OpenApi};

use super::ApiTags;
use super::owned::patched;
use super::views::CategoryView;
use crate::domain::classroom::CategoryPatch;
use crate::domain::{Category, Id, ImageRef, Name, Teacher};
use crate::http::auth::Auth;
use crate::http::fields::{Required, Text};
use crate::http::input::{parse, parse_optional, path_id};
use crate::http::{ApiResult, Envelope};
use crate::state::AppState;

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
    async fn list(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth<Teacher>,
    ) -> ApiResult<Json<Envelope<Vec<CategoryView>>>> {
        let all = state
            .store
            .categories
            .list_for_teacher(&auth.who.id)
            .await?;
        Ok(Envelope::ok(
            "Categories retrieved successfully",
            all.iter().map(CategoryView::from).collect(),
        ))
    }

    /// Creates a category.
    #[oai(path = "/category/create-category", method = "post")]
    async fn create(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth<Teacher>,
        body: Json<CreateCategoryBody>,
    ) -> ApiResult<Json<Envelope<CategoryView>>> {
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
        Ok(Envelope::ok(
            "Category created successfully",
            CategoryView::from(&category),
        ))
    }

    /// Edits `name` and `image`; the rest of an echoed category is ignored.
    #[oai(path = "/category/:id", method = "patch")]
    async fn update(
        &self,
        state: poem::web::Data<&AppState>,
        auth: Auth<Teacher>,
        id: Path<String>,
        body: Json<UpdateCategoryBody>,
    ) -> ApiResult<Json<Envelope<CategoryView>>> {
        let id = path_id("category", &id)?;
        let patch = CategoryPatch {
            name: parse_optional::<Name>("name", body.name.as_deref())?.map(String::from),
            image: parse_optional::<ImageRef>("image", body.image.as_deref())?.map(String::from),
        };
        let updated = patched::<Category>(&state, &auth.who.id, &id, &patch).await?;
        Ok(Envelope::ok(
            "Category updated successfully",
            CategoryView::from(&updated),
        ))
    }
}
