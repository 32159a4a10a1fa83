//! The server accounts a firmware configures at start (factory bootstrap): a DM server as one
//! Security and one Server instance ([`Engine::add_server`]), and the bootstrap server.

use super::Engine;
use crate::error::{Error, Result};
use crate::objects::security::SecurityInstance;
use crate::objects::server::ServerInstance;

/// Factory configuration of a DM server account (instances of objects 0 and 1).
#[derive(Clone, Copy)]
pub struct ServerConfig<'c> {
    /// Short Server ID, 1..=65534.
    pub ssid: u16,
    /// Server URI, e.g. `coap://[::1]:5683` or `coaps://...`.
    pub uri: &'c str,
    /// Registration lifetime in seconds.
    pub lifetime: u32,
    /// Security mode ([`crate::objects::security::mode`]).
    pub mode: u8,
    /// PSK identity (PSK mode).
    pub identity: &'c [u8],
    /// PSK (PSK mode).
    pub secret_key: &'c [u8],
}

impl core::fmt::Debug for ServerConfig<'_> {
    /// The PSK is never printed, only its length.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("ssid", &self.ssid)
            .field("uri", &self.uri)
            .field("lifetime", &self.lifetime)
            .field("mode", &self.mode)
            .field("identity", &self.identity)
            .field(
                "secret_key",
                &crate::objects::Redacted(self.secret_key.len()),
            )
            .finish()
    }
}

impl Engine<'_> {
    /// Adds a DM server account (factory bootstrap): one Security and one Server instance.
    pub fn add_server(&mut self, cfg: &ServerConfig<'_>) -> Result<()> {
        if cfg.ssid == 0
            || cfg.ssid == crate::path::ID_NONE
            || self.server.by_ssid(cfg.ssid).is_some()
        {
            return Err(Error::BadRequest);
        }
        let sec_id = self
            .security
            .instances
            .free_id()
            .ok_or(Error::ServiceUnavailable)?;
        let srv_id = self
            .server
            .instances
            .free_id()
            .ok_or(Error::ServiceUnavailable)?;
        let mut s = SecurityInstance {
            id: sec_id,
            mode: cfg.mode,
            ssid: cfg.ssid,
            ..Default::default()
        };
        crate::objects::set_str(&mut s.uri, cfg.uri)?;
        crate::objects::set_bytes(&mut s.identity, cfg.identity)?;
        crate::objects::set_bytes(&mut s.secret_key, cfg.secret_key)?;
        if cfg.lifetime == 0 {
            return Err(Error::BadRequest);
        }
        self.server.instances.insert(ServerInstance {
            id: srv_id,
            ssid: cfg.ssid,
            lifetime: cfg.lifetime,
            ..Default::default()
        })?;
        if let Err(e) = self.security.instances.insert(s) {
            let _ = self.server.instances.remove(srv_id);
            return Err(e);
        }
        Ok(())
    }

    /// Adds the bootstrap server account (used when no DM server is configured, or when
    /// registration to every server fails).
    #[cfg(feature = "bootstrap")]
    pub fn add_bootstrap_server(
        &mut self,
        uri: &str,
        mode: u8,
        identity: &[u8],
        key: &[u8],
    ) -> Result<()> {
        if self.security.bootstrap().is_some() {
            return Err(Error::BadRequest);
        }
        let id = self
            .security
            .instances
            .free_id()
            .ok_or(Error::ServiceUnavailable)?;
        let mut s = SecurityInstance {
            id,
            bootstrap: true,
            mode,
            ..Default::default()
        };
        crate::objects::set_str(&mut s.uri, uri)?;
        crate::objects::set_bytes(&mut s.identity, identity)?;
        crate::objects::set_bytes(&mut s.secret_key, key)?;
        self.security.instances.insert(s)
    }
}
