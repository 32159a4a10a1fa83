//! The hosting side of client-to-client operations: the engine's peer client accounts (Client
//! Security 11000, OSCORE 21) copied into the transport as DTLS listener keys and OSCORE
//! contexts, and torn down when an account closes (see `c2c.rs`).

use lwm2m::objects::security::mode;
use zeroize::Zeroizing;

use super::c2c::Phase;
use super::driver::HostClient;
use super::event::Event;
use crate::clock::Clock;
use crate::oscore::{OscoreParams, OscorePeer, VolatileStore};
use crate::transport::{PeerPsk, Transport};

/// One 11000 instance as the sync needs it.
struct AccountView {
    short_id: u16,
    active: bool,
    uri: String,
    psk: Option<PeerPsk>,
    oscore: Option<OscoreParams>,
}

fn material(p: &OscoreParams) -> Zeroizing<Vec<u8>> {
    let mut m = Zeroizing::new(Vec::new());
    for part in [
        &p.master_secret[..],
        &p.master_salt[..],
        &p.sender_id[..],
        &p.recipient_id[..],
    ] {
        m.push(part.len() as u8);
        m.extend_from_slice(part);
    }
    m
}

impl<T: Transport, C: Clock> HostClient<'_, T, C> {
    /// Copies the peer client accounts into the transport (see the module documentation).
    pub(super) fn c2c_sync(&mut self) {
        // The accounts change only with server requests, account closes and re-enables,
        // which all move the generation: no copying of key material per datagram.
        let generation = self.engine.config_generation();
        if self.c2c.synced == Some(generation) {
            return;
        }
        self.c2c.synced = Some(generation);
        let now = self.now();
        let views: Vec<AccountView> = self
            .engine
            .client_security()
            .instances
            .iter()
            .map(|s| AccountView {
                short_id: s.short_id,
                active: self.engine.client_active(s.short_id, now),
                uri: s.uri.as_str().to_owned(),
                psk: (s.mode == mode::PSK && !s.identity.is_empty() && !s.secret_key.is_empty())
                    .then(|| (s.identity.to_vec(), Zeroizing::new(s.secret_key.to_vec()))),
                oscore: s
                    .oscore
                    .and_then(|(_, i)| self.engine.oscore().instances.get(i))
                    .map(|o| OscoreParams {
                        master_secret: Zeroizing::new(o.master_secret.to_vec()),
                        master_salt: o.master_salt.to_vec(),
                        sender_id: o.sender_id.to_vec(),
                        recipient_id: o.recipient_id.to_vec(),
                    }),
            })
            .collect();
        let psks: Vec<PeerPsk> = views.iter().filter_map(|v| v.psk.clone()).collect();
        if psks != self.c2c.psks {
            self.transport.set_peer_psks(&psks);
            self.c2c.psks = psks;
        }
        let gone: Vec<u16> = self
            .c2c
            .channels
            .keys()
            .copied()
            .filter(|cid| views.iter().all(|v| v.short_id != *cid))
            .collect();
        for cid in gone {
            self.c2c_teardown(cid, "account removed");
            self.c2c.channels.remove(&cid);
        }
        for v in views {
            let cid = v.short_id;
            let identity = v.psk.as_ref().map(|(id, _)| id.clone());
            let ch = self.c2c.channels.entry(cid).or_default();
            if let Some(old) = ch.identity.clone().filter(|o| Some(o) != identity.as_ref()) {
                let n = self.transport.close_dtls_identity(&old);
                self.emit(Event::C2cClosed {
                    short_id: cid,
                    reason: "PSK replaced".into(),
                    dtls_sessions: n,
                    oscore: false,
                });
            }
            let ch = self.c2c.channels.entry(cid).or_default();
            ch.identity = identity;
            let Some(params) = v.oscore else {
                if ch.oscore_live {
                    ch.oscore_live = false;
                    ch.oscore_material = None;
                    let dropped = self.transport.remove_peer_oscore(cid);
                    self.emit(Event::C2cClosed {
                        short_id: cid,
                        reason: "OSCORE link removed".into(),
                        dtls_sessions: 0,
                        oscore: dropped,
                    });
                }
                continue;
            };
            let m = material(&params);
            if ch.oscore_material.as_ref() == Some(&m) || !v.active {
                continue;
            }
            let replaced = ch.oscore_live;
            ch.oscore_material = Some(m);
            ch.oscore_live = false;
            let dest = self.c2c_account_addr(cid, &v.uri);
            let ctx = match params.context() {
                Ok(c) => c,
                Err(e) => {
                    self.transport.remove_peer_oscore(cid);
                    self.emit(Event::SendFailed {
                        dest: format!("client account {cid}"),
                        reason: format!("OSCORE context: {e:?}"),
                    });
                    continue;
                }
            };
            let peer = OscorePeer::new(ctx, Box::new(VolatileStore));
            match self.transport.add_peer_oscore(cid, dest, peer) {
                Ok(()) => {
                    if let Some(ch) = self.c2c.channels.get_mut(&cid) {
                        ch.oscore_live = true;
                    }
                    if replaced {
                        self.emit(Event::C2cClosed {
                            short_id: cid,
                            reason: "OSCORE material replaced".into(),
                            dtls_sessions: 0,
                            oscore: true,
                        });
                    }
                }
                Err(e) => self.emit(Event::SendFailed {
                    dest: format!("client account {cid}"),
                    reason: format!("OSCORE context: {e}"),
                }),
            }
        }
    }

    /// Closes the DTLS sessions and drops the OSCORE context of account `cid`; operations
    /// running over it end.
    pub(super) fn c2c_teardown(&mut self, cid: u16, reason: &str) {
        let (identity, had_oscore) = match self.c2c.channels.get_mut(&cid) {
            Some(ch) => {
                let live = ch.oscore_live;
                ch.oscore_live = false;
                (ch.identity.clone(), live)
            }
            None => (None, false),
        };
        let n = identity
            .map(|id| self.transport.close_dtls_identity(&id))
            .unwrap_or(0);
        let oscore = self.transport.remove_peer_oscore(cid) || had_oscore;
        self.emit(Event::C2cClosed {
            short_id: cid,
            reason: reason.into(),
            dtls_sessions: n,
            oscore,
        });
        let victims: Vec<u32> = self
            .c2c
            .order
            .iter()
            .copied()
            .filter(|i| {
                self.c2c.ops.get(i).is_some_and(|o| {
                    o.short_id == Some(cid) && matches!(o.phase, Phase::Observing | Phase::Secure)
                })
            })
            .collect();
        for op in victims {
            self.c2c_fail(op, format!("account {cid} closed"));
        }
    }
}
