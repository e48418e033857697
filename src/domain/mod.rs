//! The rules of EduCoin with no I/O: identities, accounts, passwords, passcodes, validation.

pub mod account;
pub mod assignment;
pub mod classroom;
pub mod content;
pub mod id;
pub mod notification;
pub mod passcode;
pub mod password;
pub mod student;
pub mod time;

pub use account::{AccountStatus, Admin, AdminRole, Role, Teacher};
pub use classroom::{Category, Class, Reward, Task};
pub use content::{Feedback, Preset, Rule};
pub use id::Id;
pub use student::Student;
pub use time::Millis;
