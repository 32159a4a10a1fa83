//! Create (POST on an object). The instance ID comes from the payload or is the lowest free
//! one; with several servers the new instance gets an Access Control instance owned by the
//! creating server.

use super::access::Action;
use super::{Engine, Request};
use crate::coap::{code, option, MessageBuilder};
use crate::codec::Decoder;
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::path::Path;

impl Engine<'_> {
    /// The instance ID a Create payload names, if any (all records must agree).
    fn create_target(&self, format: u16, oid: u16, payload: &[u8]) -> Result<Option<u16>> {
        let defs = self.defs();
        let type_of = |p: &Path| defs.type_of(p);
        let mut found = None;
        for rec in Decoder::new(format, &Path::object(oid), payload, &type_of)? {
            let i = rec?.path.instance_id().ok_or(Error::BadRequest)?;
            if found.is_some_and(|f| f != i) {
                return Err(Error::BadRequest);
            }
            found = Some(i);
        }
        Ok(found)
    }

    /// Create.
    #[inline(never)] // own frame: the request path's stack stays below 2 KiB (`make size`)
    pub(crate) fn create(
        &mut self,
        caller: Caller,
        op: &Request<'_>,
        payload: &[u8],
        now: u64,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        let oid = op.path.ids()[0];
        // Rights before existence: a requesting client learns nothing more (T0).
        self.allowed(caller, Action::Create, oid, None)?;
        let obj = self.object(oid).ok_or(Error::NotFound)?;
        if matches!(oid, 0..=2) && !matches!(caller, Caller::Bootstrap | Caller::Local) {
            return Err(Error::MethodNotAllowed);
        }
        if !obj.def().multiple && obj.next_instance(None).is_some() {
            return Err(Error::BadRequest);
        }
        let free = obj.free_instance_id().ok_or(Error::ServiceUnavailable)?;
        let (inst, base) = if payload.is_empty() {
            (free, Path::instance(oid, free))
        } else {
            let format = op.content_format.ok_or(Error::UnsupportedContentFormat)?;
            // LwM2M 1.1 names the instance in the payload; 1.0 servers may send bare
            // resources, which then go to the lowest free ID.
            match self.create_target(format, oid, payload) {
                Ok(Some(i)) => (i, Path::object(oid)),
                Ok(None) => (free, Path::instance(oid, free)),
                Err(_) => (free, Path::instance(oid, free)),
            }
        };
        if obj.has_instance(inst) {
            return Err(Error::BadRequest);
        }
        let defs = self.defs();
        if !payload.is_empty() {
            let format = op.content_format.ok_or(Error::UnsupportedContentFormat)?;
            self.validate_payload(
                caller,
                format,
                &base,
                payload,
                &defs,
                &Path::instance(oid, inst),
                Some((oid, inst)),
            )?;
        }
        let obj = self.object_mut(oid).ok_or(Error::NotFound)?;
        obj.create(caller, inst)?;
        let written = if payload.is_empty() {
            Ok(0)
        } else {
            self.write_payload(
                caller,
                op.content_format,
                &base,
                payload,
                true,
                Some((oid, inst)),
            )
        };
        let acl = match (written, caller) {
            (Err(e), _) => Err(e),
            // Paper Figure 2: rights for the new instance, owned by the authorizing server.
            #[cfg(feature = "c2c")]
            (Ok(_), Caller::Client(cid)) => self.client_created(cid, oid, inst),
            (Ok(_), Caller::Server(_)) if !super::registers_instances(oid) => Ok(()),
            (Ok(_), Caller::Server(ssid)) if self.server.instances.len() > 1 => {
                self.acl.add(oid, inst, ssid, 0).map(|_| ())
            }
            (Ok(_), _) => Ok(()),
        };
        if let Err(e) = acl {
            if let Some(o) = self.object_mut(oid) {
                let _ = o.delete(Caller::Local, inst);
            }
            return Err(e);
        }
        if super::registers_instances(oid) {
            self.registration.request_update_all(true, now);
        }
        #[cfg(feature = "c2c")]
        self.c2c_after_write(&Path::instance(oid, inst), now);
        self.observations.mark_changed(&Path::object(oid), now);
        resp.set_code(code::CREATED);
        let mut num = [0u8; 10];
        for id in [oid, inst] {
            let s = super::register::fmt_u32(id.into(), &mut num);
            resp.option(option::LOCATION_PATH, s)
                .map_err(|_| Error::InternalServerError)?;
        }
        Ok(())
    }
}
