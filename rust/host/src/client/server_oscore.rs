//! OSCORE contexts of DM server accounts, from the engine's objects as the LwM2M spec keeps
//! them: a Security (0) instance whose res 17 links an OSCORE (21) instance talks OSCORE with
//! that instance's parameters. The same copy as for the peer client accounts (11000 res 17,
//! `c2c.rs`): after every handled message and timer tick ([`HostClient::flush`]) the driver
//! brings the transport's server contexts in line with the engine, so a context provisioned by
//! `--oscore` (written as 21 instance + res 17 at start) and one a bootstrap server writes
//! (`/21/x`, `/0/y/17`) take the same path.
//!
//! A context leaving the transport (its link or instance deleted, its material replaced) is
//! kept aside with its material: should the same material come back (a bootstrap server
//! rewriting a static configuration), the kept context continues its sequence numbers instead
//! of starting over at 0, which would reuse nonces. Sequence numbers are persisted per context
//! when [`HostClient::set_oscore_seqno_file`] gave a file.

use std::net::SocketAddr;
use std::path::{Path as FsPath, PathBuf};

use lwm2m_oscore::SeqnoStore;
use zeroize::Zeroizing;

use super::driver::HostClient;
use super::event::Event;
use super::oscore_state::{Installed, MAX_RETIRED};
use crate::clock::Clock;
use crate::oscore::{FileSeqnoStore, OscoreParams, OscorePeer, VolatileStore};
use crate::transport::Transport;

/// The sequence-number file of server `ssid`: the configured path for the lowest Short
/// Server ID with OSCORE (`lowest`), `<path>.ssid-<ssid>` for any other.
fn seqno_path(base: &FsPath, ssid: u16, lowest: u16) -> PathBuf {
    if ssid == lowest {
        base.to_owned()
    } else {
        let mut p = base.as_os_str().to_owned();
        p.push(format!(".ssid-{ssid}"));
        PathBuf::from(p)
    }
}

impl<T: Transport, C: Clock> HostClient<'_, T, C> {
    /// Persists OSCORE sequence numbers of server contexts in `path` (RFC 8613 B.1.1); see
    /// the module documentation of the naming when several servers use OSCORE. Set it before
    /// [`HostClient::start`].
    pub fn set_oscore_seqno_file(&mut self, path: Option<PathBuf>) {
        self.server_oscore.seqno_file = path;
        self.server_oscore.synced = None;
    }

    /// The OSCORE parameters of DM server accounts, by Short Server ID: Security instances
    /// (not the bootstrap server's) whose res 17 links an existing 21 instance.
    fn server_oscore_views(&self) -> Vec<(u16, String, OscoreParams)> {
        let oscore = self.engine.oscore();
        self.engine
            .security()
            .instances
            .iter()
            .filter(|s| !s.bootstrap)
            .filter_map(|s| {
                let (obj, inst) = s.oscore?;
                if obj != lwm2m_oscore::resource::OBJECT_ID {
                    return None;
                }
                let o = oscore.instances.get(inst)?;
                let params = OscoreParams {
                    master_secret: Zeroizing::new(o.master_secret.to_vec()),
                    master_salt: o.master_salt.to_vec(),
                    sender_id: o.sender_id.to_vec(),
                    recipient_id: o.recipient_id.to_vec(),
                };
                Some((s.ssid, s.uri.as_str().to_owned(), params))
            })
            .collect()
    }

    /// Brings the transport's server contexts in line with the engine (module documentation).
    pub(crate) fn server_oscore_sync(&mut self) {
        let generation = self.engine.config_generation();
        if self.server_oscore.synced == Some(generation) {
            return;
        }
        self.server_oscore.synced = Some(generation);
        let views = self.server_oscore_views();
        let v6_socket = self.transport.local_addr().is_ok_and(|a| a.is_ipv6());
        let wanted: Vec<(u16, Option<SocketAddr>, OscoreParams)> = views
            .into_iter()
            .map(|(ssid, uri, params)| {
                let dest = self
                    .resolve_uri(&uri)
                    .ok()
                    .and_then(|a| a.into_iter().find(|a| v6_socket || a.is_ipv4()));
                (ssid, dest, params)
            })
            .collect();
        // Gone or changed: out of the transport, kept aside.
        let stale: Vec<u16> = self
            .server_oscore
            .installed
            .iter()
            .filter(|i| {
                !wanted
                    .iter()
                    .any(|(s, d, p)| *s == i.ssid && *d == i.dest && *p == i.params)
            })
            .map(|i| i.ssid)
            .collect();
        for ssid in stale {
            let pos = self
                .server_oscore
                .installed
                .iter()
                .position(|i| i.ssid == ssid);
            let Some(old) = pos.map(|p| self.server_oscore.installed.remove(p)) else {
                continue;
            };
            if let Some(peer) = self.transport.remove_server_oscore(ssid) {
                let retired = &mut self.server_oscore.retired;
                retired.retain(|(p, _)| *p != old.params);
                retired.push((old.params, peer));
                if retired.len() > MAX_RETIRED {
                    retired.remove(0);
                }
            }
        }
        let lowest = wanted.iter().map(|(s, _, _)| *s).min().unwrap_or(0);
        for (ssid, dest, params) in wanted {
            if self.server_oscore.is_installed(ssid) {
                continue;
            }
            let peer = match self.server_oscore_peer(ssid, lowest, &params) {
                Ok(p) => p,
                Err(reason) => {
                    self.emit(Event::SendFailed {
                        dest: format!("server {ssid}"),
                        reason,
                    });
                    continue;
                }
            };
            match self.transport.add_server_oscore(ssid, dest, peer) {
                Ok(()) => self
                    .server_oscore
                    .installed
                    .push(Installed { ssid, params, dest }),
                Err(e) => self.emit(Event::SendFailed {
                    dest: format!("server {ssid}"),
                    reason: format!("OSCORE context: {e}"),
                }),
            }
        }
    }

    /// The context for `params`: a retired one with the same material, else a new one (resumed
    /// from the sequence-number file, if configured and present).
    fn server_oscore_peer(
        &mut self,
        ssid: u16,
        lowest: u16,
        params: &OscoreParams,
    ) -> Result<OscorePeer, String> {
        let retired = &mut self.server_oscore.retired;
        if let Some(i) = retired.iter().position(|(p, _)| p == params) {
            return Ok(retired.remove(i).1);
        }
        let mut ctx = params
            .context()
            .map_err(|e| format!("OSCORE context: {e:?}"))?;
        let store: Box<dyn SeqnoStore + Send> = match &self.server_oscore.seqno_file {
            Some(base) => {
                let path = seqno_path(base, ssid, lowest);
                let (store, limit) =
                    FileSeqnoStore::open(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                if let Some(l) = limit {
                    // A restart: continue above every number used before; the replay window
                    // is rebuilt with an Echo exchange.
                    ctx.resume(l);
                }
                Box::new(store)
            }
            None => Box::new(VolatileStore),
        };
        Ok(OscorePeer::new(ctx, store))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqno_file_names() {
        let base = FsPath::new("seq");
        assert_eq!(seqno_path(base, 1, 1), PathBuf::from("seq"));
        assert_eq!(seqno_path(base, 2, 1), PathBuf::from("seq.ssid-2"));
    }
}
