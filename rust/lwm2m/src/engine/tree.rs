//! The data model seen as a [`RecordSource`]: the records below a path that a caller may read.

use super::Engine;
use crate::codec::{Record, RecordSource};
use crate::dm::{Caller, Object};
use crate::error::{Error, Result};
use crate::path::Path;

/// Readable records of the engine's objects for one caller.
pub(crate) struct Tree<'e, 'a> {
    pub engine: &'e Engine<'a>,
    pub caller: Caller,
}

impl Tree<'_, '_> {
    fn visit_object(
        &self,
        obj: &dyn Object,
        prefix: &Path,
        f: &mut dyn FnMut(&Record<'_>) -> Result<()>,
    ) -> Result<()> {
        let oid = obj.def().id;
        let mut cur = None;
        while let Some(inst) = obj.next_instance(cur) {
            cur = Some(inst);
            if prefix.instance_id().is_some_and(|i| i != inst) {
                continue;
            }
            if prefix.len() < 2 && !self.engine.can_read(self.caller, oid, inst) {
                continue;
            }
            for r in obj.def().resources {
                if prefix.resource_id().is_some_and(|id| id != r.id) {
                    continue;
                }
                let local = matches!(self.caller, Caller::Local | Caller::Bootstrap);
                if !(r.ops.readable() || local && !r.ops.executable())
                    || !obj.has_resource(inst, r.id)
                {
                    continue;
                }
                if r.multiple {
                    let mut ri_cur = None;
                    while let Some(ri) = obj.next_resource_instance(inst, r.id, ri_cur) {
                        ri_cur = Some(ri);
                        if prefix.resource_instance_id().is_some_and(|x| x != ri) {
                            continue;
                        }
                        let value = obj.read(inst, r.id, Some(ri))?;
                        f(&Record {
                            path: Path::resource_instance(oid, inst, r.id, ri),
                            value,
                        })?;
                    }
                } else {
                    let value = match obj.read(inst, r.id, None) {
                        Ok(v) => v,
                        // An optional resource the object does not hold right now.
                        Err(Error::NotFound) if prefix.len() < 3 => continue,
                        Err(e) => return Err(e),
                    };
                    f(&Record {
                        path: Path::resource(oid, inst, r.id),
                        value,
                    })?;
                }
            }
        }
        Ok(())
    }
}

impl RecordSource for Tree<'_, '_> {
    fn visit(&self, prefix: &Path, f: &mut dyn FnMut(&Record<'_>) -> Result<()>) -> Result<()> {
        for id in self.engine.object_ids() {
            if prefix.object_id().is_some_and(|o| o != id) {
                continue;
            }
            if let Some(obj) = self.engine.object(id) {
                self.visit_object(obj, prefix, f)?;
            }
        }
        Ok(())
    }
}

/// Several paths of one composite request, visited as one source.
pub(crate) struct Composite<'t, 'e, 'a> {
    pub tree: &'t Tree<'e, 'a>,
    pub paths: &'t [Path],
}

impl RecordSource for Composite<'_, '_, '_> {
    fn visit(&self, prefix: &Path, f: &mut dyn FnMut(&Record<'_>) -> Result<()>) -> Result<()> {
        for p in self.paths {
            if p.starts_with(prefix) {
                self.tree.visit(p, f)?;
            } else if prefix.starts_with(p) {
                self.tree.visit(prefix, f)?;
            }
        }
        Ok(())
    }
}
