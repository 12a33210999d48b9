//! Following a log file as it grows.
//!
//! The file is memory-mapped with room to grow (a mapping may extend past the
//! end of the file; only bytes below the file's length are ever read), and
//! remapped only when the file outgrows it, so a long run holds a handful of
//! mappings. Records borrow the mapping: their tensors are never copied.
//!
//! A user may still shrink, rewrite or replace the file while it is read.
//! None of it can crash the reader (see [`super::mapped`]), and each is told
//! apart and answered by starting over with a warning:
//!
//! * **replaced**: the path names another inode (`mv`, an editor's save);
//! * **shrunk**: the length went down (`truncate`, `cat other.log > run.log`);
//! * **rewritten in place**: the first frame's header (or the file header)
//!   is no longer the bytes read before (`cp new.log run.log` onto the same
//!   inode, which may grow past the old length between two looks); these 40
//!   bytes are read again at every look, one small `pread`;
//! * **read after shrinking**: a page of the mapping was read past the new
//!   end (it read as zeros; whatever was decoded from it is dropped).

use std::fs::{File, OpenOptions};
use std::os::unix::fs::{FileExt, FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use super::mapped::GuardedMap;
use super::{RecordSource, SourceError, SourceEvent};
use crate::format::{FILE_HEADER_LEN, FRAME_HEADER_LEN, FrameScanner, StreamEvent};

/// Smallest mapping, so that small logs are not remapped at every append.
const MIN_MAP_BYTES: u64 = 1 << 20;

/// Bytes at the start of the file compared at every look: the file header
/// and the first frame's header (whose checksums make it unique to the log).
const HEAD_BYTES: usize = FILE_HEADER_LEN + FRAME_HEADER_LEN;

/// Identity of the file behind a path: a replaced file has another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

/// The mapping, shared by the tail (to check it for damage) and by the
/// records that borrow it.
struct SharedMap(Arc<GuardedMap>);

impl AsRef<[u8]> for SharedMap {
    fn as_ref(&self) -> &[u8] {
        self.0.as_ref().as_ref()
    }
}

/// Reads every whole record of a log file, then the records appended later.
pub struct FileTail {
    path: PathBuf,
    file: File,
    id: FileId,
    /// The mapping (possibly longer than the file) and its bytes.
    map: Option<(Arc<GuardedMap>, Bytes)>,
    /// The file length seen at the last look.
    len: u64,
    /// The first bytes of the file as first seen (up to [`HEAD_BYTES`]).
    head: Vec<u8>,
    scanner: FrameScanner,
    /// Restarts so far: a file that was a log may stop being one for a
    /// while (emptied under a logger); a file that never was is an error.
    restarts: u64,
    /// Restarts because pages read as zeros, since the last record: a file
    /// whose pages cannot be read at all (an I/O error) would loop.
    damaged_restarts: u32,
    /// The file no longer starts with a log header: wait until it changes.
    lost_header: bool,
}

/// Restarts for unreadable pages, without a record in between, after which
/// the file is taken as unreadable.
const MAX_DAMAGED_RESTARTS: u32 = 3;

impl FileTail {
    /// Opens the log at `path`. With `create`, a missing file is created
    /// empty and waited for, as the original server did. A directory, FIFO,
    /// socket or device is refused with a clear error.
    pub fn open(path: impl AsRef<Path>, create: bool) -> Result<Self, SourceError> {
        let path = path.as_ref().to_owned();
        check_kind(&path)?;
        let file = open_file(&path, create)?;
        let id = file_id(&file, &path)?;
        Ok(Self {
            path,
            file,
            id,
            map: None,
            len: 0,
            head: Vec::new(),
            scanner: FrameScanner::for_file(),
            restarts: 0,
            damaged_restarts: 0,
            lost_header: false,
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
        match self.decode()? {
            // Damage may be the file shrinking under the reader: look at the
            // file before blaming the bytes.
            Some(SourceEvent::Corrupt { offset, error }) => match self.refresh()? {
                Some(restart) => Ok(Some(restart)),
                None => Ok(Some(SourceEvent::Corrupt { offset, error })),
            },
            Some(event) => Ok(Some(event)),
            None => match self.refresh()? {
                Some(restart) => Ok(Some(restart)),
                None => self.decode(),
            },
        }
    }

    /// Decodes from the bytes already mapped.
    fn decode(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        let Some((map, bytes)) = &self.map else {
            return Ok(None);
        };
        if self.lost_header {
            return Ok(None);
        }
        let view = bytes.slice(..self.len as usize);
        let damaged_before = map.is_damaged();
        let event = self.scanner.next_event(&view, 0);
        if damaged_before || self.map.as_ref().is_some_and(|(map, _)| map.is_damaged()) {
            // Decoded from pages that now read as zeros: drop it.
            self.damaged_restarts += 1;
            if self.damaged_restarts >= MAX_DAMAGED_RESTARTS {
                return Err(SourceError::Unreadable {
                    path: self.path.clone(),
                    attempts: self.damaged_restarts,
                });
            }
            let reason = format!("{:?} shrank while it was being read", self.path);
            return Ok(Some(self.restart(reason)));
        }
        let event = match event {
            Ok(event) => event,
            // A log that was emptied while a logger kept appending holds
            // frames without a header: wait for it to be rewritten.
            Err(source) if self.restarts > 0 => {
                log::warn!(
                    "{:?} no longer starts with a log header ({source}); waiting for it to be written again",
                    self.path
                );
                self.lost_header = true;
                return Ok(None);
            }
            Err(source) => {
                return Err(SourceError::NotALog {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        Ok(event.map(|event| match event {
            StreamEvent::Record { offset, record } => {
                self.damaged_restarts = 0;
                SourceEvent::Record { offset, record }
            }
            StreamEvent::Corrupt { offset, error } => SourceEvent::Corrupt { offset, error },
        }))
    }

    /// Looks at the file again: notices growth, shrinking, replacement and
    /// rewriting in place.
    fn refresh(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        // A replaced file: the path now names another inode.
        match std::fs::metadata(&self.path) {
            Ok(meta)
                if (FileId {
                    dev: meta.dev(),
                    ino: meta.ino(),
                }) != self.id =>
            {
                if !meta.is_file() {
                    return Err(not_a_file(&self.path, &meta));
                }
                // Gone again before it could be opened: keep the open file.
                let Ok(file) = open_file(&self.path, false) else {
                    return Ok(None);
                };
                self.id = file_id(&file, &self.path)?;
                self.file = file;
                return Ok(Some(
                    self.restart(format!("{:?} was replaced by a new file", self.path)),
                ));
            }
            // Removed: keep reading the open file, which is still there.
            Ok(_) | Err(_) => {}
        }
        let len = self
            .file
            .metadata()
            .map_err(io_error("reading the length of", &self.path))?
            .len();
        if len < self.len {
            let reason = format!("{:?} shrank from {} to {len} bytes", self.path, self.len);
            return Ok(Some(self.restart(reason)));
        }
        if let Some(reason) = self.check_head(len)? {
            return Ok(Some(self.restart(reason)));
        }
        if len == self.len {
            return Ok(None);
        }
        let mapped = self.map.as_ref().map_or(0, |(_, bytes)| bytes.len() as u64);
        if len > mapped {
            let capacity = len.next_power_of_two().max(MIN_MAP_BYTES);
            let capacity = usize::try_from(capacity).map_err(|_| SourceError::TooLarge {
                path: self.path.clone(),
                len_bytes: len,
            })?;
            let map = Arc::new(GuardedMap::map(&self.file, capacity).map_err(io_error("memory-mapping", &self.path))?);
            let bytes = Bytes::from_owner(SharedMap(map.clone()));
            self.map = Some((map, bytes));
        }
        self.len = len;
        Ok(None)
    }

    /// Compares the first bytes of the file with those seen before; returns
    /// why to start over when they differ.
    fn check_head(&mut self, len: u64) -> Result<Option<String>, SourceError> {
        let want = (len as usize).min(HEAD_BYTES);
        if want == 0 {
            return Ok(None);
        }
        let mut now = vec![0u8; want];
        let read = self
            .file
            .read_at(&mut now, 0)
            .map_err(io_error("reading the start of", &self.path))?;
        now.truncate(read);
        let common = now.len().min(self.head.len());
        if now[..common] != self.head[..common] {
            return Ok(Some(format!(
                "{:?} was rewritten in place (its first bytes changed)",
                self.path
            )));
        }
        if now.len() > self.head.len() {
            self.head = now;
        }
        Ok(None)
    }

    fn restart(&mut self, reason: String) -> SourceEvent {
        self.map = None;
        self.len = 0;
        self.head.clear();
        self.scanner = FrameScanner::for_file();
        self.restarts += 1;
        self.lost_header = false;
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

    fn bytes_seen(&self) -> u64 {
        self.len
    }

    fn incomplete_tail(&self) -> Option<(u64, u64)> {
        let position = self.position();
        (self.len > position).then(|| (position, self.len - position))
    }
}

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> SourceError {
    let path = path.to_owned();
    move |source| SourceError::Io { action, path, source }
}

/// Refuses what is not a regular file before opening it (opening a FIFO
/// would block until a writer comes).
fn check_kind(path: &Path) -> Result<(), SourceError> {
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => Err(not_a_file(path, &meta)),
        _ => Ok(()),
    }
}

fn not_a_file(path: &Path, meta: &std::fs::Metadata) -> SourceError {
    let kind = meta.file_type();
    let kind = if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    };
    SourceError::NotAFile {
        path: path.to_owned(),
        kind,
    }
}

/// Opens without blocking: should the path have become a FIFO since it was
/// looked at, the open returns at once and `file_id` refuses it.
fn open_file(path: &Path, create: bool) -> Result<File, SourceError> {
    let result = OpenOptions::new()
        .read(true)
        .append(create)
        .create(create)
        .custom_flags(libc::O_NONBLOCK)
        .open(path);
    result.map_err(io_error("opening", path))
}

fn file_id(file: &File, path: &Path) -> Result<FileId, SourceError> {
    let meta = file.metadata().map_err(io_error("reading metadata of", path))?;
    if !meta.is_file() {
        return Err(not_a_file(path, &meta));
    }
    Ok(FileId {
        dev: meta.dev(),
        ino: meta.ino(),
    })
}
