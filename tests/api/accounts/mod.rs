//! Issue 3, Must show 1, 2 and 4: every route of the auth, admin, teacher and student groups over real
//! HTTP on both storage adapters, with the clients' exact bodies (CLIENT-CONTRACT §1–3); the access
//! rules; Google sign-in through the real route.
//!
//! Every request goes through `crate::support::http`, which fails the test when any response
//! holds a password hash, a secret key or one of the plain passwords the test has used.

mod access;
mod admin;
mod auth;
mod google_login;
mod revocation;
mod student;
mod teacher;
