//! Integration tests: one binary (it links once), a module per area.

mod support;

mod accounts;
mod cache_contract;
mod classroom;
mod concurrent_guesses;
mod content;
mod dependencies;
mod env_examples;
mod faults;
mod files_contract;
mod google;
mod hashing_memory;
mod http_edge;
mod images;
mod input_edges;
mod jongodb_probe;
mod lifecycle;
mod login_limits;
mod password_reset;
mod payments;
mod payments_contract;
mod ports_contract;
mod push;
mod realtime;
mod role_matrix;
mod schemathesis;
mod store_contract;
mod supply_chain;
mod telemetry;
