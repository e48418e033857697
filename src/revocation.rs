//! Ending an account's sessions when its credentials or its access change: refresh tokens are
//! revoked in the store, access tokens die with the old `token_epoch` (checked by
//! `auth::principal::TokenAuthenticator`), and live sockets are disconnected on every replica through
//! the cache's pub/sub (`Realtime::revoke`).

use crate::domain::{AccountStatus, Id};
use crate::state::AppState;
use crate::store::StoreResult;

/// After `account` moved to token epoch `epoch` (a password change or reset, a block): ends its
/// refresh tokens and its sockets of older epochs. A socket opened with a token of the new epoch
/// (a login right after the change) stays.
pub async fn credentials_changed(state: &AppState, account: &Id, epoch: i64) -> StoreResult<()> {
    // Sockets first: their disconnection does not depend on the store answering.
    state.realtime.revoke(account, Some(epoch)).await;
    state.auth.refresh.revoke_account(account).await?;
    // Its devices stop receiving push until they register again after a new login (issue 15).
    state.store.push.forget_account(account).await.map(drop)
}

/// Blocks or unblocks a teacher. Blocking ends every session at once: the access tokens (new
/// epoch; `TokenAuthenticator` also refuses a blocked account), refresh tokens and sockets.
/// `false` when there is no such teacher.
pub async fn set_teacher_status(
    state: &AppState,
    teacher: &Id,
    status: AccountStatus,
) -> StoreResult<bool> {
    let Some(epoch) = state
        .store
        .teachers
        .set_status(teacher, status, state.clock.now())
        .await?
    else {
        return Ok(false);
    };
    credentials_changed(state, teacher, epoch).await?;
    Ok(true)
}
