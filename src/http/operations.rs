//! The API's operations routed in the server's own route tree, each at its full path
//! (`/api/v1/class/:id`), instead of poem-openapi's service nested under the prefix. The service
//! is a route tree of its own behind three layers (the query extraction, a response mapping, a
//! boxed endpoint), and nested, every request also rebuilt its URI without the prefix and its route
//! label with it (a `format!` and an `Arc<str>`): about a fifth of `/health`'s instructions
//! (issue 13). Here one radix match finds the operation and the label is the route's own pattern.
//! What the service did per request is kept: the query string is handed to the operation as the
//! pairs its `Query` parameters read, `HEAD` is answered by `GET` without the body, and a method the
//! path lacks is poem's 405 (`Guard` adds `Allow`).

use std::collections::HashMap;

use poem::endpoint::BoxEndpoint;
use poem::error::MethodNotAllowedError;
use poem::http::Method;
use poem::{Endpoint, Request, Response, Route};
use poem_openapi::__private::UrlQuery;
use poem_openapi::OpenApi;

/// Adds every operation of `api` to `routes` at `prefix` followed by the operation's path.
pub fn mount(mut routes: Route, prefix: &str, api: impl OpenApi) -> Route {
    let mut table = HashMap::new();
    api.add_routes(&mut table);
    for (path, methods) in table {
        routes = routes.at(
            format!("{prefix}{path}"),
            Operations {
                methods: methods.into_iter().collect(),
            },
        );
    }
    routes
}

/// The operations of one path, by method.
struct Operations {
    methods: Vec<(Method, BoxEndpoint<'static>)>,
}

impl Operations {
    fn find(&self, method: &Method) -> Option<&BoxEndpoint<'static>> {
        self.methods
            .iter()
            .find(|(m, _)| m == method)
            .map(|(_, ep)| ep)
    }
}

impl Endpoint for Operations {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        // As poem-openapi's service does (an unreadable query is no pairs); without a query
        // string there is nothing to parse.
        let pairs = match req.uri().query() {
            Some(_) => req.params().unwrap_or_default(),
            None => Vec::new(),
        };
        req.extensions_mut().insert(UrlQuery(pairs));
        if let Some(ep) = self.find(req.method()) {
            return ep.call(req).await;
        }
        // poem's `RouteMethod`: a path without its own HEAD answers it as GET, without the body.
        match self.find(&Method::GET) {
            Some(ep) if req.method() == Method::HEAD => {
                req.set_method(Method::GET);
                let mut resp = ep.call(req).await?;
                resp.set_body(());
                Ok(resp)
            }
            _ => Err(MethodNotAllowedError.into()),
        }
    }
}
