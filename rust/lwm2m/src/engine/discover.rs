//! Discover (GET with Accept: application/link-format): the object, its instances and
//! resources (with `dim` for multiple resources), each with the attributes the asking server
//! set at that level.

use super::access::DISCOVER;
use super::read::respond_windowed;
use super::Engine;
use crate::coap::{content_format as cf, Block, MessageBuilder};
use crate::codec::link::{write_link, LinkAttr};
use crate::codec::Writer;
use crate::dm::{Caller, Object};
use crate::error::{Error, Result};
use crate::path::Path;

impl Engine<'_> {
    /// Discover.
    #[inline(never)] // measured: smaller outlined than inlined into its caller
    pub(crate) fn discover(
        &mut self,
        caller: Caller,
        path: &Path,
        block2: Option<Block>,
        resp: &mut MessageBuilder<'_>,
    ) -> Result<()> {
        if path.is_root() || path.len() == 4 {
            return Err(Error::MethodNotAllowed);
        }
        self.check_read_target_discover(caller, path)?;
        let obj = self.object(path.ids()[0]).ok_or(Error::NotFound)?;
        // A link list longer than the response buffer goes out block-wise, like a Read.
        respond_windowed(cf::LINK_FORMAT, block2, None, resp, &mut |w| {
            self.discover_links(w, caller, obj, path)
        })
    }

    fn check_read_target_discover(&self, caller: Caller, path: &Path) -> Result<()> {
        // Discover reveals structure, not values: unreadable resources are still listed,
        // but the instance must be accessible.
        let res = path.resource_id().map(|_| path.truncated(2));
        self.check_target(caller, DISCOVER, &res.unwrap_or(*path))?;
        if let Some(rid) = path.resource_id() {
            let obj = self.object(path.ids()[0]).ok_or(Error::NotFound)?;
            if obj.def().resource(rid).is_none() || !obj.has_resource(path.ids()[1], rid) {
                return Err(Error::NotFound);
            }
        }
        Ok(())
    }

    fn discover_links(
        &self,
        w: &mut Writer<'_>,
        caller: Caller,
        obj: &dyn Object,
        path: &Path,
    ) -> Result<()> {
        let oid = path.ids()[0];
        let mut first = true;
        let mut link = |w: &mut Writer<'_>, p: &Path, extra: Option<LinkAttr<'_>>| -> Result<()> {
            let mut list: heapless::Vec<LinkAttr<'_>, 9> = heapless::Vec::new();
            if let Some(e) = extra {
                let _ = list.push(e);
            }
            self.push_link_attrs(caller, p, &mut list);
            write_link(w, first, p, &list)?;
            first = false;
            Ok(())
        };
        if path.len() == 1 {
            let ver = obj.def().version.map(|v| LinkAttr::Token("ver", v));
            link(w, path, ver)?;
        }
        let mut cur = None;
        while let Some(inst) = obj.next_instance(cur) {
            cur = Some(inst);
            if path.instance_id().is_some_and(|i| i != inst)
                || self.allowed(caller, DISCOVER, oid, Some(inst)).is_err()
            {
                continue;
            }
            let ip = Path::instance(oid, inst);
            if path.len() <= 2 {
                link(w, &ip, None)?;
            }
            for r in obj.def().resources {
                if path.resource_id().is_some_and(|x| x != r.id) || !obj.has_resource(inst, r.id) {
                    continue;
                }
                let rp = Path::resource(oid, inst, r.id);
                let dim = if r.multiple {
                    let mut n = 0u64;
                    let mut c = None;
                    while let Some(ri) = obj.next_resource_instance(inst, r.id, c) {
                        c = Some(ri);
                        n += 1;
                    }
                    Some(LinkAttr::Uint("dim", n))
                } else {
                    None
                };
                link(w, &rp, dim)?;
                if r.multiple && path.len() == 3 {
                    let mut c = None;
                    while let Some(ri) = obj.next_resource_instance(inst, r.id, c) {
                        c = Some(ri);
                        let rip = Path::resource_instance(oid, inst, r.id, ri);
                        link(w, &rip, None)?;
                    }
                }
            }
        }
        Ok(())
    }
}
