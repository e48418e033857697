//! Work the server does on its own, on a schedule, in every replica (each job is safe to race).

pub mod push_worker;
pub mod reconcile;
pub mod repeat_tasks;
pub mod settle_points;
