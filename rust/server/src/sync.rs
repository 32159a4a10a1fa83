//! Lock helper.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, ignoring poisoning.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking holder cannot leave the registry half-updated in a way that matters more
    // than losing the server, so poisoning is ignored.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
