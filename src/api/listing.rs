//! The list routes' one answer: a page of views with its pagination, from a store page.

use poem_openapi::types::{ParseFromJSON, ToJSON};

use crate::http::{Envelope, Pagination, Reply};
use crate::store::{ListQuery, Page};

/// `found`'s items as their views `V` (the handler's return type names it), with the pagination
/// of `q` over `found.total`.
pub fn listed<'a, R, V>(message: &str, q: &ListQuery, found: &'a Page<R>) -> Reply<Vec<V>>
where
    V: From<&'a R> + ParseFromJSON + ToJSON,
{
    listed_as(message, q, found, V::from)
}

/// [`listed`] for views that need more than the record (`view` builds each).
pub fn listed_as<'a, R, V: ParseFromJSON + ToJSON>(
    message: &str,
    q: &ListQuery,
    found: &'a Page<R>,
    view: impl FnMut(&'a R) -> V,
) -> Reply<Vec<V>> {
    Ok(Envelope::page(
        message,
        found.items.iter().map(view).collect(),
        Pagination::new(q.page, q.limit, found.total),
    ))
}
