//! The OSCORE contexts of DM server accounts as the driver installed them in the transport
//! (state only; `server_oscore.rs` keeps them in line with the engine).

use std::net::SocketAddr;
use std::path::PathBuf;

use crate::oscore::{OscoreParams, OscorePeer};

/// Most retired contexts kept for their material's return.
pub(super) const MAX_RETIRED: usize = 4;

/// One installed server context.
pub(super) struct Installed {
    pub(super) ssid: u16,
    pub(super) params: OscoreParams,
    pub(super) dest: Option<SocketAddr>,
}

/// The driver's view of the server contexts (`Debug` leaves the keys out).
#[derive(Default)]
pub(crate) struct ServerOscore {
    pub(super) installed: Vec<Installed>,
    pub(super) retired: Vec<(OscoreParams, OscorePeer)>,
    pub(super) seqno_file: Option<PathBuf>,
    /// `Engine::config_generation` at the last sync (None: sync at the next chance).
    pub(crate) synced: Option<u32>,
}

impl std::fmt::Debug for ServerOscore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ssids: Vec<u16> = self.installed.iter().map(|i| i.ssid).collect();
        f.debug_struct("ServerOscore")
            .field("installed", &ssids)
            .field("retired", &self.retired.len())
            .finish_non_exhaustive()
    }
}

impl ServerOscore {
    /// True if server `ssid` has its context in the transport.
    pub(crate) fn is_installed(&self, ssid: u16) -> bool {
        self.installed.iter().any(|i| i.ssid == ssid)
    }
}
