//! Delete (DELETE on an instance). The instance's ACL, observations and attributes go with it.

use super::access::Action;
use super::Engine;
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::path::Path;

impl Engine<'_> {
    /// Delete.
    pub(crate) fn delete(&mut self, caller: Caller, path: &Path, now: u64) -> Result<()> {
        let [oid, inst] = *path.ids() else {
            return Err(Error::MethodNotAllowed);
        };
        // Server accounts are removed by the bootstrap server only.
        if oid == 1 && !matches!(caller, Caller::Bootstrap | Caller::Local) {
            return Err(Error::MethodNotAllowed);
        }
        self.check_instance(caller, Action::Delete, oid, inst)?;
        #[cfg(feature = "c2c")]
        let account = self.account_of(oid, inst);
        self.object_mut(oid)
            .ok_or(Error::NotFound)?
            .delete(caller, inst)?;
        self.forget_instance(oid, inst);
        // A server deleting an account revokes it at once (T2).
        #[cfg(feature = "c2c")]
        if let Some(cid) = account {
            self.close_client(cid);
        }
        if super::registers_instances(oid) {
            self.registration.request_update_all(true, now);
        }
        self.observations.mark_changed(&Path::object(oid), now);
        Ok(())
    }

    /// Drops ACLs and attributes of a deleted instance; its observers get an error notification
    /// with the next poll.
    pub(crate) fn forget_instance(&mut self, oid: u16, inst: u16) {
        if oid != crate::objects::access_control::ID {
            self.acl.remove_for(oid, inst);
        }
        #[cfg(feature = "c2c")]
        if oid == crate::c2c::CLIENT_ACCESS_CONTROL {
            self.observations.recheck(None);
        } else {
            self.c2c.acl.remove_for(oid, inst);
        }
        let p = Path::instance(oid, inst);
        self.observations.recheck(Some(&p));
        self.attributes.remove_under(&p);
    }
}
