//! Firmware Update (object 5) on the host: [`FileSink`] stores a pushed image in a directory
//! and runs a hook on Update.
//!
//! The image is written to `<dir>/firmware.part` as the blocks arrive and renamed to
//! `<dir>/firmware.bin` once the engine verified its length and SHA-256 (the package manifest,
//! [`lwm2m::firmware::manifest`]); a refused or reset download removes the part file. Update
//! (Execute /5/0/2) runs the hook (`sh -c <cmd>`, with `FOTA_IMAGE` set to the image's path):
//! exit status 0 is Update Result 1, anything else 8. Without a hook the stored image is the
//! result (Update Result 1).

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use lwm2m::firmware::{FirmwareSink, SinkError, UpdateOutcome};

/// The largest image a [`FileSink`] takes unless told otherwise (64 MiB).
pub const DEFAULT_CAPACITY: usize = 64 << 20;

/// A [`FirmwareSink`] over a directory.
#[derive(Debug)]
pub struct FileSink {
    dir: PathBuf,
    hook: Option<String>,
    capacity: usize,
    part: Option<File>,
    written: usize,
}

impl FileSink {
    /// A sink writing into `dir` (created if missing), running `hook` on Update.
    pub fn new(dir: &Path, hook: Option<String>, capacity: usize) -> std::io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(FileSink {
            dir: dir.to_owned(),
            hook,
            capacity,
            part: None,
            written: 0,
        })
    }

    /// Where a verified image is stored.
    pub fn image_path(&self) -> PathBuf {
        self.dir.join("firmware.bin")
    }

    fn part_path(&self) -> PathBuf {
        self.dir.join("firmware.part")
    }
}

fn io(e: std::io::Error) -> SinkError {
    match e.kind() {
        std::io::ErrorKind::StorageFull => SinkError::NoSpace,
        _ => SinkError::Io,
    }
}

impl FirmwareSink for FileSink {
    fn capacity(&self) -> usize {
        self.capacity
    }

    fn begin(&mut self, _len: usize) -> Result<(), SinkError> {
        self.part = Some(File::create(self.part_path()).map_err(io)?);
        self.written = 0;
        Ok(())
    }

    fn write(&mut self, offset: usize, data: &[u8]) -> Result<(), SinkError> {
        let f = self.part.as_mut().ok_or(SinkError::Io)?;
        if offset != self.written {
            return Err(SinkError::Io);
        }
        f.write_all(data).map_err(io)?;
        self.written += data.len();
        Ok(())
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        let f = self.part.take().ok_or(SinkError::Io)?;
        f.sync_all().map_err(io)?;
        fs::rename(self.part_path(), self.image_path()).map_err(io)
    }

    fn abort(&mut self) {
        self.part = None;
        let _ = fs::remove_file(self.part_path());
    }

    fn update(&mut self) -> UpdateOutcome {
        let Some(hook) = &self.hook else {
            return UpdateOutcome::Succeeded;
        };
        let status = Command::new("sh")
            .arg("-c")
            .arg(hook)
            .env("FOTA_IMAGE", self.image_path())
            .status();
        match status {
            Ok(s) if s.success() => UpdateOutcome::Succeeded,
            _ => UpdateOutcome::Failed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_file_renamed_on_finish_removed_on_abort() {
        let dir = std::env::temp_dir().join(format!("lwm2m-fota-{}", std::process::id()));
        let mut s = FileSink::new(&dir, Some("test -s \"$FOTA_IMAGE\"".into()), 10).unwrap();
        s.begin(6).unwrap();
        s.write(0, b"abc").unwrap();
        assert_eq!(s.write(5, b"x"), Err(SinkError::Io));
        s.write(3, b"def").unwrap();
        s.finish().unwrap();
        assert_eq!(fs::read(s.image_path()).unwrap(), b"abcdef");
        assert!(!s.part_path().exists());
        assert_eq!(s.update(), UpdateOutcome::Succeeded);
        s.begin(3).unwrap();
        s.write(0, b"zz").unwrap();
        s.abort();
        assert!(!s.part_path().exists());
        let mut failing = FileSink::new(&dir, Some("exit 3".into()), 10).unwrap();
        assert_eq!(failing.update(), UpdateOutcome::Failed);
        fs::remove_dir_all(&dir).unwrap();
    }
}
