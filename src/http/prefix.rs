//! `/api/v1/…` handed straight to the API service, as `Route::nest("/api/v1", service)` would
//! hand it, without the outer route tree's match and nest wrapper (issue 13: the nested route
//! trees were the largest part of `/health`'s cost below our layers). The outer tree still
//! serves everything else, including the paths under the prefix that it routes elsewhere.

use std::sync::Arc;

use poem::http::uri::PathAndQuery;
use poem::http::{StatusCode, Uri};
use poem::{Endpoint, IntoResponse, PathPattern, Request, Response};

/// The API service under `prefix`, in front of the `rest` of the routes (which nest the same
/// service there too, for the paths this does not take).
pub struct Prefixed<A, R> {
    prefix: &'static str,
    /// Paths under the prefix that `rest` routes to another endpoint (relative to the prefix).
    elsewhere: &'static [&'static str],
    /// The prefix as poem's nest records it for the route label (`/api/v1` + `/health`).
    pattern: PathPattern,
    api: A,
    rest: R,
}

impl<A, R> Prefixed<A, R> {
    pub fn new(prefix: &'static str, elsewhere: &'static [&'static str], api: A, rest: R) -> Self {
        let pattern = PathPattern(Arc::from(prefix));
        Prefixed {
            prefix,
            elsewhere,
            pattern,
            api,
            rest,
        }
    }

    /// The path after the prefix, when it is this layer's to route.
    fn takes<'p>(&self, path: &'p str) -> Option<&'p str> {
        let rest = path.strip_prefix(self.prefix)?;
        let under = rest.len() > 1 && rest.starts_with('/');
        let other = self
            .elsewhere
            .iter()
            .any(|e| rest == *e || rest.strip_prefix(e).is_some_and(|r| r.starts_with('/')));
        (under && !other).then_some(rest)
    }
}

impl<A: Endpoint, R: Endpoint> Endpoint for Prefixed<A, R> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        if self.takes(req.uri().path()).is_none() {
            return Ok(self.rest.call(req).await?.into_response());
        }
        // What poem's nest does: the prefix is cut from the URI the service sees (its query kept),
        // and the route label is the prefix followed by the service's own pattern.
        let stripped = {
            let mut parts = std::mem::take(req.uri_mut()).into_parts();
            let path_and_query = parts
                .path_and_query
                .as_ref()
                .map_or("/", PathAndQuery::as_str);
            parts.path_and_query = path_and_query[self.prefix.len()..].parse().ok();
            Uri::from_parts(parts).map_err(|_| poem::Error::from_status(StatusCode::BAD_REQUEST))?
        };
        *req.uri_mut() = stripped;
        req.set_data(self.pattern.clone());
        match self.api.call(req).await {
            Ok(r) => {
                let mut resp = r.into_response();
                if resp.data::<PathPattern>().is_none() {
                    resp.set_data(self.pattern.clone());
                }
                Ok(resp)
            }
            Err(mut e) => {
                if e.data::<PathPattern>().is_none() {
                    e.set_data(self.pattern.clone());
                }
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_paths_the_nest_would_get() {
        let p = Prefixed::new("/api/v1", &["/openapi.json", "/test"], (), ());
        assert_eq!(p.takes("/api/v1/health"), Some("/health"));
        assert_eq!(p.takes("/api/v1/testing"), Some("/testing"));
        assert_eq!(p.takes("/api/v1/category/abc"), Some("/category/abc"));
        for other in [
            "/api/v1",
            "/api/v1/",
            "/api/v1x/health",
            "/api/v1/openapi.json",
            "/api/v1/test",
            "/api/v1/test/reset",
            "/images/a.png",
            "/api/docs",
        ] {
            assert_eq!(p.takes(other), None, "{other}");
        }
    }
}
