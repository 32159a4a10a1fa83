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
        let obj = self.object(oid).ok_or(Error::NotFound)?;
        self.allowed(caller, Action::Delete, oid, Some(inst))?;
        if matches!(oid, 0 | 1) && !matches!(caller, Caller::Bootstrap | Caller::Local) {
            return Err(Error::MethodNotAllowed);
        }
        if !obj.has_instance(inst) {
            return Err(Error::NotFound);
        }
        self.object_mut(oid)
            .ok_or(Error::NotFound)?
            .delete(caller, inst)?;
        self.forget_instance(oid, inst);
        self.registration.request_update_all(true, now);
        self.observations.mark_changed(&Path::object(oid), now);
        Ok(())
    }

    /// Drops ACLs, observations and attributes of a deleted instance.
    pub(crate) fn forget_instance(&mut self, oid: u16, inst: u16) {
        if oid != crate::objects::access_control::ID {
            self.acl.remove_for(oid, inst);
        }
        let p = Path::instance(oid, inst);
        self.observations.remove_under(&p);
        self.attributes.remove_under(&p);
    }
}
