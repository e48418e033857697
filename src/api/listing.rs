//! The list routes' one answer: a page of views with its pagination, from a store page.

use crate::http::Json;
use poem_openapi::types::{ParseFromJSON, ToJSON};

use crate::http::{Envelope, Pagination};
use crate::store::{ListQuery, Page};

/// `found`'s items as views, with the pagination of `q` over `found.total`.
pub fn listed<'a, R, V: ParseFromJSON + ToJSON>(
    message: &str,
    q: &ListQuery,
    found: &'a Page<R>,
    view: impl FnMut(&'a R) -> V,
) -> Json<Envelope<Vec<V>>> {
    Envelope::page(
        message,
        found.items.iter().map(view).collect(),
        Pagination::new(q.page, q.limit, found.total),
    )
}
