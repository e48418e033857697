//! The rules of EduCoin with no I/O: identities, accounts, passwords, passcodes, and the values
//! clients send, each a type built only by parsing (see [`invalid`] for how a refusal reads).

pub mod account;
pub mod assignment;
pub mod classroom;
pub mod content;
pub mod email;
pub mod id;
pub mod image_ref;
pub mod invalid;
pub(crate) mod named;
pub mod notification;
pub mod passcode;
pub mod password;
pub mod payments;
pub mod points;
pub mod student;
pub mod text;
mod text_value;
pub mod time;

pub use account::{AccountStatus, Admin, AdminRole, Role, Teacher};
pub use classroom::{Category, Class, Reward, Task};
pub use content::{Feedback, Preset, Rule};
pub use email::Email;
pub use id::Id;
pub use image_ref::ImageRef;
pub use invalid::Invalid;
pub use passcode::Passcode;
pub use password::NewPassword;
pub use points::{Price, TaskPoints};
pub use student::Student;
pub use text::{Detail, FeedbackText, Name};
pub use time::Millis;
