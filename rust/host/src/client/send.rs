//! Send (LwM2M 1.1 information reporting, `POST /dp`) on the host: queueing through the
//! engine ([`HostClient::send_data`]), the periodic Send of [`ClientConfig::send_paths`]
//! (`--send`), and the events `send sent` / `send failed` for each outcome. A further `impl`
//! block of [`HostClient`].
//!
//! [`ClientConfig::send_paths`]: super::ClientConfig::send_paths

use lwm2m::engine::{Millis, RegistrationState, SendError, SendOutcome};
use lwm2m::Path;
use lwm2m_endpoint::msg::code_string;

use super::driver::HostClient;
use super::event::Event;
use crate::clock::Clock;
use crate::transport::Transport;

/// The periodic Send of a client (`--send`, `--send-period`).
#[derive(Clone, Debug)]
pub(crate) struct SendSchedule {
    /// What to send.
    pub paths: Vec<Path>,
    /// Content-Format.
    pub format: u16,
    /// Milliseconds between Sends.
    pub period: Millis,
    /// When the next one is due.
    pub next: Millis,
}

impl<T: Transport, C: Clock> HostClient<'_, T, C> {
    /// Queues a Send of `paths` to server `ssid` in `format`; the next flush sends it, and
    /// its outcome comes as [`Event::DataSent`] or [`Event::DataSendFailed`].
    pub fn send_data(&mut self, ssid: u16, paths: &[Path], format: u16) -> Result<(), SendError> {
        let now = self.now();
        self.engine.send(ssid, paths, format, now)
    }

    /// The periodic Send, when due: to every registered server; a refusal other than "not
    /// registered" (busy: the previous Send is still unanswered; Mute Send) is reported.
    pub(super) fn send_due(&mut self, s: &mut SendSchedule) {
        let now = self.now();
        if now < s.next {
            return;
        }
        // Skip missed periods instead of bursting after a stall.
        s.next = (s.next + s.period).max(now + 1);
        let ssids: Vec<u16> = self
            .engine
            .servers()
            .instances
            .iter()
            .map(|i| i.ssid)
            .collect();
        for ssid in ssids {
            if self.engine.registration_state(ssid) != RegistrationState::Registered {
                continue;
            }
            if let Err(e) = self.send_data(ssid, &s.paths, s.format) {
                self.emit(Event::DataSendFailed {
                    ssid,
                    reason: e.to_string(),
                });
            }
        }
    }

    /// Reports the Sends that ended.
    pub(super) fn send_service(&mut self) {
        while let Some(r) = self.engine.take_send_result() {
            let reason = match r.outcome {
                SendOutcome::Delivered => {
                    self.emit(Event::DataSent { ssid: r.ssid });
                    continue;
                }
                SendOutcome::Rejected(c) => code_string(c),
                SendOutcome::Timeout => "timeout".into(),
                SendOutcome::NotSent(e) => format!("not sent: {e}"),
            };
            self.emit(Event::DataSendFailed {
                ssid: r.ssid,
                reason,
            });
        }
    }
}
