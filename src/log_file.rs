//! Appending whole frames to a log file under an advisory lock: the
//! logger's file sink, and the Pub/Sub source's local copy of what it
//! received. Kept out of both so that neither depends on the other, and out
//! of `format`, which does no I/O.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::format::{ALIGN, FILE_HEADER_LEN, FrameScanner, HeaderError, Scan, encode_file_header};

/// Why a log file cannot be opened or appended to.
#[derive(Debug, thiserror::Error)]
pub enum LogFileError {
    #[error("{action} {path:?}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot append to {path:?}")]
    NotALog {
        path: PathBuf,
        #[source]
        source: HeaderError,
    },
}

/// Appends frames to a log file.
///
/// Every batch is written by one `write_all` on a file opened for append,
/// while holding an exclusive `flock`: two processes logging to one file
/// never interleave bytes. Before writing, a file whose length is not a
/// multiple of 8 (a crash cut a record short) is padded with zeros so that
/// new frames stay aligned; readers skip the torn record.
pub struct LogFileWriter {
    file: File,
    path: PathBuf,
}

impl LogFileWriter {
    /// Opens `path` for appending, creating it with a file header if it is
    /// empty or missing, and checking the header if not.
    pub fn open(path: &Path) -> Result<Self, LogFileError> {
        let io = |action| {
            move |source| LogFileError::Io {
                action,
                path: path.to_owned(),
                source,
            }
        };
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .read(true)
            .open(path)
            .map_err(io("opening"))?;
        let writer = Self {
            file,
            path: path.to_owned(),
        };
        writer.with_lock(|mut file, len| {
            if len == 0 {
                let mut header = Vec::with_capacity(FILE_HEADER_LEN);
                encode_file_header(&mut header);
                file.write_all(&header).map_err(io("writing the header of"))?;
                return Ok(());
            }
            let mut head = [0u8; FILE_HEADER_LEN];
            let n = read_file_start(file, &mut head).map_err(io("reading"))?;
            match FrameScanner::for_file().poll(&head[..n], 0) {
                Err(source) => Err(LogFileError::NotALog {
                    path: path.to_owned(),
                    source,
                }),
                Ok(Scan::NeedMore) if n < FILE_HEADER_LEN => Err(LogFileError::NotALog {
                    path: path.to_owned(),
                    source: HeaderError::NotALog {
                        found: head[..n].to_vec(),
                    },
                }),
                Ok(_) => Ok(()),
            }
        })?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` with the file's exclusive lock held and its current length.
    fn with_lock<T>(&self, f: impl FnOnce(&File, u64) -> Result<T, LogFileError>) -> Result<T, LogFileError> {
        let io = |action| {
            move |source| LogFileError::Io {
                action,
                path: self.path.clone(),
                source,
            }
        };
        self.file.lock().map_err(io("locking"))?;
        let result = self
            .file
            .metadata()
            .map_err(io("reading the length of"))
            .and_then(|m| f(&self.file, m.len()));
        // Closing the file would release the lock too; unlock errors are moot.
        let _ = self.file.unlock();
        result
    }

    /// Appends whole frames (their concatenation 8-aligned) in one write.
    pub fn append(&mut self, frames: &[u8]) -> Result<(), LogFileError> {
        let path = &self.path;
        let io = |action| {
            move |source| LogFileError::Io {
                action,
                path: path.clone(),
                source,
            }
        };
        self.with_lock(|mut file, len| {
            if len == 0 {
                // Emptied since it was opened (`> run.log`): a log again,
                // header first, so that readers can read what follows.
                log::warn!("{path:?} was emptied; starting it again with a log header");
                let mut header = Vec::with_capacity(FILE_HEADER_LEN);
                encode_file_header(&mut header);
                file.write_all(&header).map_err(io("writing the header of"))?;
            }
            let misalignment = (len % ALIGN as u64) as usize;
            if misalignment != 0 {
                log::warn!(
                    "{path:?} ends with {len} bytes, not a multiple of 8: a record was cut short; \
                     padding so new records stay aligned"
                );
                file.write_all(&[0u8; ALIGN][..ALIGN - misalignment])
                    .map_err(io("padding"))?;
            }
            file.write_all(frames).map_err(io("appending to"))
        })
    }
}

/// Reads up to `buf.len()` bytes from the start of the file.
fn read_file_start(file: &File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], n as u64)? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}
