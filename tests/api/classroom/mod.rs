//! Classes, categories, tasks and rewards: the storage contract and the HTTP routes, on both
//! storage adapters.

pub(crate) mod assignments;
mod clock;
mod concurrency;
mod http;
mod live;
mod ownership;
mod points;
mod repeating;
mod store_contract;
mod store_queries;
