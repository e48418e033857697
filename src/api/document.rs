//! What poem-openapi cannot derive from a handler's types, added to the OpenAPI document in one
//! place, so that the document says everything the server answers:
//! - every operation that takes a body can answer 413 (the body limit) and 415 (a content type it
//!   does not read): both come from layers before the handler, so its return type cannot say so;
//! - a path `id` is a 24-hex ObjectId (`http::auth::ById` and `path_id` answer 400 for anything
//!   else);
//! - the `Allow` header of a 405, from the same operations.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use poem::endpoint::BoxEndpoint;
use poem::http::Method;
use poem_openapi::OpenApi;
use poem_openapi::registry::{MetaApi, MetaParamIn, MetaSchemaRef, Registry};
use poem_openapi::types::Type;

use crate::http::envelope::ErrorBody;
use crate::http::error::error_response;

/// An ObjectId as the clients send it in a path.
pub const OBJECT_ID_PATTERN: &str = "^[0-9a-fA-F]{24}$";

/// The API `T` with its document completed (see the module's comment).
pub struct Documented<T>(pub T);

impl<T: OpenApi> OpenApi for Documented<T> {
    fn meta() -> Vec<MetaApi> {
        let mut apis = T::meta();
        for op in apis
            .iter_mut()
            .flat_map(|api| api.paths.iter_mut())
            .flat_map(|path| path.operations.iter_mut())
        {
            if op.request.is_some() {
                let responses = &mut op.responses.responses;
                responses.push(error_response(
                    413,
                    "The body is larger than the server accepts (`MAX_BODY_BYTES`).",
                ));
                responses.push(error_response(
                    415,
                    "The body is not of a content type this operation reads.",
                ));
                responses.sort_by_key(|r| r.status);
            }
            for param in &mut op.params {
                if param.in_type == MetaParamIn::Path
                    && param.name == "id"
                    && let MetaSchemaRef::Inline(schema) = &mut param.schema
                {
                    schema.pattern = Some(OBJECT_ID_PATTERN.to_owned());
                }
            }
        }
        apis
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
        ErrorBody::register(registry);
    }

    fn add_routes(self, route_table: &mut HashMap<String, HashMap<Method, BoxEndpoint<'static>>>) {
        self.0.add_routes(route_table);
    }
}

/// One route of the document: its path segments (`None` for a parameter) and methods.
struct Route {
    segments: Vec<Option<String>>,
    allow: String,
}

fn routes() -> &'static [Route] {
    static ROUTES: OnceLock<Vec<Route>> = OnceLock::new();
    ROUTES.get_or_init(|| {
        // One path may be served by operations of several APIs.
        let mut by_path: BTreeMap<String, Vec<Method>> = BTreeMap::new();
        for path in <super::Apis as OpenApi>::meta()
            .into_iter()
            .flat_map(|api| api.paths)
        {
            by_path
                .entry(format!("{}{}", super::BASE, path.path))
                .or_default()
                .extend(path.operations.iter().map(|op| op.method.clone()));
        }
        let mut routes: Vec<Route> = by_path
            .into_iter()
            .map(|(path, methods)| route(&path, methods))
            .collect();
        // Outside the OpenAPI service (app.rs).
        routes.push(route("/api/v1/openapi.json", vec![Method::GET]));
        routes.push(route("/images/:file", vec![Method::GET]));
        routes
    })
}

fn route(path: &str, mut methods: Vec<Method>) -> Route {
    // poem answers HEAD wherever there is a GET.
    if methods.contains(&Method::GET) && !methods.contains(&Method::HEAD) {
        methods.push(Method::HEAD);
    }
    let segments = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| (!(s.starts_with(':') || s.starts_with('{'))).then(|| s.to_owned()))
        .collect();
    let allow = methods
        .iter()
        .map(Method::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    Route { segments, allow }
}

/// The `Allow` header for a 405 on `path`: the methods of the route it matches. A fixed segment
/// wins over a parameter (`/student/profile` over `/student/:id`), as in the router.
pub fn allowed_methods(path: &str) -> Option<&'static str> {
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    routes()
        .iter()
        .filter(|r| {
            r.segments.len() == parts.len()
                && r.segments
                    .iter()
                    .zip(&parts)
                    .all(|(seg, part)| seg.as_deref().is_none_or(|s| s == *part))
        })
        .max_by_key(|r| r.segments.iter().filter(|s| s.is_some()).count())
        .map(|r| r.allow.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_lists_the_methods_of_the_matching_route() {
        assert_eq!(
            allowed_methods("/api/v1/class/0123456789abcdef01234567"),
            Some("GET, PATCH, DELETE, HEAD")
        );
        assert_eq!(
            allowed_methods("/api/v1/student/profile"),
            Some("GET, HEAD")
        );
        assert_eq!(allowed_methods("/api/v1/auth/login"), Some("POST"));
        assert_eq!(allowed_methods("/images/a.png"), Some("GET, HEAD"));
        assert_eq!(allowed_methods("/nope"), None);
    }
}
