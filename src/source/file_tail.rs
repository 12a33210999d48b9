//! Following a log file as it grows.
//!
//! The file is memory-mapped with room to grow (a mapping may extend past the
//! end of the file; only bytes below the file's length are ever read), and
//! remapped only when the file outgrows it, so a long run holds a handful of
//! mappings. Records borrow the mapping: their tensors are never copied.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use memmap2::MmapOptions;

use super::{RecordSource, SourceError, SourceEvent};
use crate::format::{FrameScanner, StreamEvent};

/// Smallest mapping, so that small logs are not remapped at every append.
const MIN_MAP_BYTES: u64 = 1 << 20;

/// Identity of the file behind a path: a replaced file has another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

/// Reads every whole record of a log file, then the records appended later.
pub struct FileTail {
    path: PathBuf,
    file: File,
    id: FileId,
    /// The mapping (possibly longer than the file), and the file length seen.
    map: Option<Bytes>,
    len: u64,
    scanner: FrameScanner,
}

impl FileTail {
    /// Opens the log at `path`. With `create`, a missing file is created
    /// empty and waited for, as the original server did.
    pub fn open(path: impl AsRef<Path>, create: bool) -> Result<Self, SourceError> {
        let path = path.as_ref().to_owned();
        let file = open_file(&path, create)?;
        let id = file_id(&file, &path)?;
        Ok(Self {
            path,
            file,
            id,
            map: None,
            len: 0,
            scanner: FrameScanner::for_file(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// File offset up to which everything has been reported.
    pub fn position(&self) -> u64 {
        self.scanner.position()
    }

    /// Length of the file when last looked at.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The next event, or `Ok(None)` when everything up to the file's current
    /// end has been reported (a torn record at the end is waited for).
    pub fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        if let Some(event) = self.decode()? {
            return Ok(Some(event));
        }
        if let Some(restart) = self.refresh()? {
            return Ok(Some(restart));
        }
        self.decode()
    }

    /// Decodes from the bytes already mapped.
    fn decode(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        let Some(map) = &self.map else {
            return Ok(None);
        };
        let view = map.slice(..self.len as usize);
        let event = self
            .scanner
            .next_event(&view, 0)
            .map_err(|source| SourceError::NotALog {
                path: self.path.clone(),
                source,
            })?;
        Ok(event.map(|event| match event {
            StreamEvent::Record { offset, record } => SourceEvent::Record { offset, record },
            StreamEvent::Corrupt { offset, error } => SourceEvent::Corrupt { offset, error },
        }))
    }

    /// Looks at the file again: notices growth, shrinking and replacement.
    fn refresh(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        let path = self.path.clone();
        let io = |action| {
            let path = path.clone();
            move |source| SourceError::Io { action, path, source }
        };
        // A replaced file: the path now names another inode.
        match std::fs::metadata(&self.path) {
            Ok(meta)
                if (FileId {
                    dev: meta.dev(),
                    ino: meta.ino(),
                }) != self.id =>
            {
                let file = open_file(&self.path, false)?;
                self.id = file_id(&file, &self.path)?;
                self.file = file;
                return Ok(Some(
                    self.restart(format!("{:?} was replaced by a new file", self.path)),
                ));
            }
            // Removed: keep reading the open file, which is still there.
            Ok(_) | Err(_) => {}
        }
        let len = self.file.metadata().map_err(io("reading the length of"))?.len();
        if len < self.len {
            let reason = format!("{:?} shrank from {} to {len} bytes", self.path, self.len);
            return Ok(Some(self.restart(reason)));
        }
        if len == self.len {
            return Ok(None);
        }
        let mapped = self.map.as_ref().map_or(0, |m| m.len() as u64);
        if len > mapped {
            let capacity = len.next_power_of_two().max(MIN_MAP_BYTES);
            // SAFETY: the log is append-only; bytes below `len` do not change
            // once written. Bytes past the end of the file are never read. A
            // file truncated by another program is detected above and its
            // records dropped (see `SourceEvent::Restarted`).
            let mmap =
                unsafe { MmapOptions::new().len(capacity as usize).map(&self.file) }.map_err(io("memory-mapping"))?;
            self.map = Some(Bytes::from_owner(mmap));
        }
        self.len = len;
        Ok(None)
    }

    fn restart(&mut self, reason: String) -> SourceEvent {
        self.map = None;
        self.len = 0;
        self.scanner = FrameScanner::for_file();
        SourceEvent::Restarted { reason }
    }
}

impl RecordSource for FileTail {
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        FileTail::next_event(self)
    }

    fn describe(&self) -> String {
        format!("file {}", self.path.display())
    }
}

fn open_file(path: &Path, create: bool) -> Result<File, SourceError> {
    let result = if create {
        OpenOptions::new().read(true).append(true).create(true).open(path)
    } else {
        File::open(path)
    };
    result.map_err(|source| SourceError::Io {
        action: "opening",
        path: path.to_owned(),
        source,
    })
}

fn file_id(file: &File, path: &Path) -> Result<FileId, SourceError> {
    let meta = file.metadata().map_err(|source| SourceError::Io {
        action: "reading metadata of",
        path: path.to_owned(),
        source,
    })?;
    Ok(FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}
