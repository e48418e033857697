//! Integration tests: one binary (it links once), a module per area.

mod support;

mod accounts;
mod cache_contract;
mod classroom;
mod content;
mod dependencies;
mod env_examples;
mod files_contract;
mod google;
mod http_edge;
mod images;
mod lifecycle;
mod login_limits;
mod password_reset;
mod realtime;
mod store_contract;
mod supply_chain;
