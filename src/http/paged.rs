//! `page: Paged<'_, Teacher>` as a list route's first parameter: the caller (an [`Auth`], checked
//! first: 401/400/403) and the `page` it asks for, as [`ById`](super::auth::ById) is the caller
//! and the id of a route on one record. A list route then reads
//! `list(&self, page: Paged<'_, Teacher>, search: QueryText)` and builds its query with
//! [`Paged::query`]. poem-openapi names a parameter after the handler's argument, which is why
//! that argument is `page`; in the document it is the same optional `page` query parameter and
//! the same security scheme as before.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaParamIn, MetaSchemaRef, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::auth::{Auth, Guard};
use super::input::{QueryText, list_query};
use crate::store::ListQuery;

pub struct Paged<'a, G: Guard> {
    pub auth: Auth<'a, G>,
    page: Option<String>,
}

impl<G: Guard> Paged<'_, G> {
    /// The list query of this page, filtered by `search` (see [`list_query`]).
    pub fn query(&self, search: Option<&str>) -> ListQuery {
        list_query(self.page.as_deref(), search)
    }
}

impl<'a, G: Guard + 'static> ApiExtractor<'a> for Paged<'a, G> {
    const TYPES: &'static [ApiExtractorType] = &[
        ApiExtractorType::Parameter,
        ApiExtractorType::SecurityScheme,
    ];
    const PARAM_IS_REQUIRED: bool = <QueryText as ApiExtractor<'a>>::PARAM_IS_REQUIRED;
    type ParamType = <QueryText as ApiExtractor<'a>>::ParamType;
    type ParamRawType = <QueryText as ApiExtractor<'a>>::ParamRawType;

    fn register(registry: &mut Registry) {
        <Auth<'a, G> as ApiExtractor>::register(registry);
        <QueryText as ApiExtractor>::register(registry);
    }

    fn param_in() -> Option<MetaParamIn> {
        <QueryText as ApiExtractor>::param_in()
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        <QueryText as ApiExtractor>::param_schema_ref()
    }

    fn security_schemes() -> Vec<&'static str> {
        <Auth<'a, G> as ApiExtractor>::security_schemes()
    }

    async fn from_request(
        req: &'a Request,
        body: &mut RequestBody,
        opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let auth = Auth::from_request(req, body, Default::default()).await?;
        let page = QueryText::from_request(req, body, opts).await?.0;
        Ok(Paged { auth, page })
    }
}
