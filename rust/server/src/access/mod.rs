//! Client-to-client access requests: the `/ac` interface with its checks ([`ac`]), the
//! worker that installs and revokes (`worker`), the policy ([`policy`]), accounts, grants
//! and credentials ([`c2c`]), the grant state file ([`state`]) and the per-requester rate
//! limit ([`limit`]).
//!
//! Bottom up: [`limit`], [`policy`]; [`c2c`] (on [`policy`]); [`state`] (on [`c2c`]); [`ac`]
//! (checks, on all of them and the shared state); `worker` (on [`ac`]).

pub mod ac;
pub mod c2c;
pub mod limit;
pub mod policy;
pub mod state;
pub(crate) mod worker;
