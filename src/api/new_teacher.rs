//! A new teacher account, as both ways of signing up make it (email and password in `teacher`,
//! Google in `google_login`): one place, so that neither imports the other.

use crate::domain::passcode::{self, Purpose};
use crate::domain::{AccountStatus, Id, Teacher};
use crate::state::AppState;

/// A new active teacher with its own sealed pass-code.
pub(crate) fn new_teacher(
    state: &AppState,
    name: String,
    email: String,
    contact: String,
    location: String,
    password_hash: Option<String>,
    profile: Option<String>,
) -> Teacher {
    let now = state.clock.now();
    Teacher {
        id: Id::generate(),
        name,
        email,
        contact,
        location,
        profile,
        status: AccountStatus::Active,
        password_hash,
        passcode_sealed: Some(
            state
                .auth
                .passcodes
                .seal(Purpose::Teacher, &passcode::generate()),
        ),
        created_at: now,
        updated_at: now,
        version: 0,
        token_epoch: 0,
    }
}
