//! Write (PUT replace, POST partial update) and Write-Composite (iPATCH). Every write is
//! decoded twice: a validation pass that touches nothing, then the apply pass, so a payload
//! with one bad record changes no stored value.

use super::access::Action;
use super::{Defs, Engine, Request};
use crate::codec::{Decoder, Record};
use crate::dm::Caller;
use crate::error::{Error, Result};
use crate::objects::server;
use crate::path::Path;

impl Engine<'_> {
    /// Validates one record of a write: the target exists and may be written by `caller`, the
    /// value has the declared type. Returns the coerced record.
    fn check_record<'p>(
        &self,
        caller: Caller,
        rec: &Record<'p>,
        creating: Option<(u16, u16)>,
    ) -> Result<Record<'p>> {
        let p = rec.path;
        let (oid, inst, rid) = match p.ids() {
            [o, i, r] | [o, i, r, _] => (*o, *i, *r),
            _ => return Err(Error::BadRequest),
        };
        let obj = self.object(oid).ok_or(Error::NotFound)?;
        if creating != Some((oid, inst)) && !obj.has_instance(inst) {
            return Err(Error::NotFound);
        }
        let def = obj.def().resource(rid).ok_or(Error::NotFound)?;
        let remote = matches!(caller, Caller::Server(_) | Caller::Client(_));
        if remote && !def.ops.writable() || def.ops.executable() {
            return Err(Error::MethodNotAllowed);
        }
        if def.multiple != (p.len() == 4) {
            return Err(Error::BadRequest);
        }
        let value = rec.value.coerce(def.data_type).ok_or(Error::BadRequest)?;
        // The object's own limits (ranges, lengths), so that no record is applied when a later
        // one would fail.
        obj.check_write(caller, inst, rid, p.resource_instance_id(), &value)?;
        Ok(Record { path: p, value })
    }

    /// Applies validated records. `replace` clears multiple resources before their first
    /// written instance (PUT semantics).
    #[allow(clippy::too_many_arguments)]
    fn apply_records(
        &mut self,
        caller: Caller,
        format: u16,
        base: &Path,
        payload: &[u8],
        defs: &Defs,
        replace: bool,
        creating: Option<(u16, u16)>,
    ) -> Result<()> {
        let type_of = |p: &Path| defs.type_of(p);
        let mut cleared: heapless::Vec<Path, 16> = heapless::Vec::new();
        for rec in Decoder::new(format, base, payload, &type_of)? {
            let rec = self.check_record(caller, &rec?, creating)?;
            let p = rec.path;
            let (oid, inst, rid) = (p.ids()[0], p.ids()[1], p.ids()[2]);
            let obj = self.object_mut(oid).ok_or(Error::NotFound)?;
            if replace && p.len() == 4 && !cleared.contains(&p.parent()) {
                obj.clear_resource(inst, rid)?;
                cleared
                    .push(p.parent())
                    .map_err(|_| Error::RequestEntityTooLarge)?;
            }
            obj.write(caller, inst, rid, p.resource_instance_id(), &rec.value)?;
        }
        Ok(())
    }

    /// Validates a whole payload without changing anything; returns the number of records.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn validate_payload(
        &self,
        caller: Caller,
        format: u16,
        base: &Path,
        payload: &[u8],
        defs: &Defs,
        within: &Path,
        creating: Option<(u16, u16)>,
    ) -> Result<usize> {
        let type_of = |p: &Path| defs.type_of(p);
        let mut n = 0;
        for rec in Decoder::new(format, base, payload, &type_of)? {
            let rec = rec?;
            if !rec.path.starts_with(within) {
                return Err(Error::BadRequest);
            }
            // Access first: a server must not learn more than 4.01 about what it cannot reach.
            if let (Some(o), Some(i), true) = (
                rec.path.object_id(),
                rec.path.instance_id(),
                within.len() < 2,
            ) {
                self.allowed(caller, Action::Write, o, Some(i))?;
            }
            self.check_record(caller, &rec, creating)?;
            n += 1;
        }
        Ok(n)
    }

    /// Decodes, validates and applies a write payload (shared by Write, Write-Composite,
    /// Create and Bootstrap-Write).
    pub(crate) fn write_payload(
        &mut self,
        caller: Caller,
        format: Option<u16>,
        base: &Path,
        payload: &[u8],
        replace: bool,
        creating: Option<(u16, u16)>,
    ) -> Result<usize> {
        let format = format.ok_or(Error::UnsupportedContentFormat)?;
        let defs = self.defs();
        let n = self.validate_payload(caller, format, base, payload, &defs, base, creating)?;
        self.apply_records(caller, format, base, payload, &defs, replace, creating)?;
        Ok(n)
    }

    /// Write on an instance, resource or resource instance.
    pub(crate) fn write(
        &mut self,
        caller: Caller,
        op: &Request<'_>,
        payload: &[u8],
        replace: bool,
        now: u64,
    ) -> Result<()> {
        let path = op.path;
        let (oid, inst) = (path.ids()[0], path.ids()[1]);
        self.check_instance(caller, Action::Write, oid, inst)?;
        let obj = self.object(oid).ok_or(Error::NotFound)?;
        if let Some(rid) = path.resource_id() {
            let r = obj.def().resource(rid).ok_or(Error::NotFound)?;
            if !r.ops.writable() {
                return Err(Error::MethodNotAllowed);
            }
            if path.len() == 3 && r.multiple && replace {
                // PUT on a multiple resource replaces all its instances.
                let format = op.content_format.ok_or(Error::UnsupportedContentFormat)?;
                let defs = self.defs();
                self.validate_payload(caller, format, &path, payload, &defs, &path, None)?;
                self.object_mut(oid)
                    .ok_or(Error::NotFound)?
                    .clear_resource(inst, rid)?;
                self.apply_records(caller, format, &path, payload, &defs, false, None)?;
                self.after_write(&path, now);
                return Ok(());
            }
        }
        self.write_payload(caller, op.content_format, &path, payload, replace, None)?;
        self.after_write(&path, now);
        Ok(())
    }

    /// Write-Composite: iPATCH on `/` with records anywhere; all validated before any is
    /// applied.
    #[inline(never)] // own frame: the request path's stack stays below 2 KiB (`make size`)
    pub(crate) fn write_composite(
        &mut self,
        caller: Caller,
        op: &Request<'_>,
        payload: &[u8],
        now: u64,
    ) -> Result<()> {
        // The C2C extension: a server's Write-Composite may create C2C object instances.
        #[cfg(feature = "c2c")]
        let created = self.create_c2c_instances(caller, op.content_format, payload)?;
        let written =
            self.write_payload(caller, op.content_format, &Path::ROOT, payload, false, None);
        #[cfg(feature = "c2c")]
        {
            if written.is_err() {
                self.remove_created(&created);
            }
            for &(o, i) in written.as_ref().map_or(&[][..], |_| &created[..]) {
                self.c2c_after_write(&Path::instance(o, i), now);
            }
        }
        written?;
        let format = op.content_format.unwrap_or_default();
        let defs = self.defs();
        let type_of = |p: &Path| defs.type_of(p);
        let mut changed: heapless::Vec<Path, 16> = heapless::Vec::new();
        for rec in Decoder::new(format, &Path::ROOT, payload, &type_of)?.flatten() {
            let _ = changed.push(rec.path);
        }
        for p in &changed {
            self.after_write(p, now);
        }
        Ok(())
    }

    /// Follow-up of a successful write: notifications, and registration updates when a
    /// server's lifetime or binding changed.
    pub(crate) fn after_write(&mut self, path: &Path, now: u64) {
        self.observations.mark_changed(path, now);
        #[cfg(feature = "c2c")]
        self.c2c_after_write(path, now);
        if path.object_id() == Some(crate::objects::access_control::ID) {
            // Rights may have been revoked.
            self.observations.recheck(None);
        }
        if path.object_id() == Some(server::ID) {
            let touches = |r: u16| path.resource_id().is_none_or(|x| x == r);
            if touches(server::res::LIFETIME) || touches(server::res::BINDING) {
                if let Some(s) = path
                    .instance_id()
                    .and_then(|i| self.server.instances.get(i))
                {
                    self.registration.request_update(s.ssid, false, now);
                }
            }
        }
    }
}
