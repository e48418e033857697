//! Integration tests: one binary (it links once), a module per area.

mod support;

mod cache_contract;
mod dependencies;
mod google;
mod http_edge;
mod lifecycle;
mod store_contract;
