//! Several logs read as one source: every `--file` given, and every log in a
//! `--file DIR` directory (files that start with the log magic), including
//! logs that appear there later while following.
//!
//! Each log is a [`FileTail`] of its own, so torn tails, damage and restarts
//! stay per log; [`LogSet::part`] says which log the last event came from,
//! and that is what tells two runs of the same name apart.

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{FileTail, RecordSource, SourceError, SourceEvent};
use crate::format::FILE_MAGIC;

/// How often a followed directory is listed for new logs.
const RESCAN_INTERVAL: Duration = Duration::from_millis(250);

struct Member {
    path: PathBuf,
    tail: FileTail,
}

/// Several logs as one [`RecordSource`]: see the module docs.
pub struct LogSet {
    /// Directories whose logs are read.
    dirs: Vec<PathBuf>,
    /// Logs in the order they were found.
    members: Vec<Member>,
    /// Paths already read, or found not to be logs.
    known: HashSet<PathBuf>,
    /// Directories that could not be listed last time.
    unlisted: HashSet<PathBuf>,
    follow: bool,
    /// The member read from now, and the member of the last event.
    next: usize,
    current: usize,
    last_scan: Instant,
}

impl LogSet {
    /// Opens every path: a file is a log (followed like `--file` when
    /// `follow`), a directory stands for the logs in it.
    pub fn open(paths: &[PathBuf], follow: bool) -> Result<Self, SourceError> {
        let mut set = LogSet {
            dirs: Vec::new(),
            members: Vec::new(),
            known: HashSet::new(),
            unlisted: HashSet::new(),
            follow,
            next: 0,
            current: 0,
            last_scan: Instant::now(),
        };
        for path in paths {
            if path.is_dir() {
                set.dirs.push(path.clone());
            } else if set.known.insert(path.clone()) {
                let tail = FileTail::open(path, follow)?;
                set.members.push(Member {
                    path: path.clone(),
                    tail,
                });
            }
        }
        set.scan()?;
        Ok(set)
    }

    /// Adds the logs that appeared in the directories, in name order. A
    /// directory that cannot be listed (removed, or its permissions taken
    /// away while followed) is warned about once and looked at again later:
    /// the logs already open go on.
    fn scan(&mut self) -> Result<(), SourceError> {
        self.last_scan = Instant::now();
        for dir in &self.dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(entries) => {
                    self.unlisted.remove(dir);
                    entries
                }
                Err(err) => {
                    if self.unlisted.insert(dir.clone()) {
                        log::warn!("cannot list {dir:?}: {err}; trying again while following");
                    }
                    continue;
                }
            };
            let mut found: Vec<PathBuf> = entries
                .filter_map(|entry| entry.ok())
                .filter(|entry| entry.file_type().is_ok_and(|t| t.is_file()))
                .map(|entry| entry.path())
                .filter(|path| !self.known.contains(path))
                .collect();
            found.sort();
            for path in found {
                match starts_with_magic(&path) {
                    // Too short to tell yet: look again at the next scan.
                    None => continue,
                    Some(false) => {
                        self.known.insert(path);
                        continue;
                    }
                    Some(true) => {}
                }
                // A log that vanished between listing and opening is skipped.
                let Ok(tail) = FileTail::open(&path, false) else {
                    continue;
                };
                log::info!("reading {path:?}");
                self.known.insert(path.clone());
                self.members.push(Member { path, tail });
            }
        }
        Ok(())
    }

    /// Number of logs found so far.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
}

/// Whether the file at `path` starts with the log magic; `None` while it is
/// shorter than the magic (or unreadable for now).
fn starts_with_magic(path: &Path) -> Option<bool> {
    let mut head = [0u8; FILE_MAGIC.len()];
    let mut file = std::fs::File::open(path).ok()?;
    let mut read = 0;
    while read < head.len() {
        match file.read(&mut head[read..]) {
            Ok(0) => break,
            Ok(n) => read += n,
            Err(_) => return None,
        }
    }
    if head[..read] != FILE_MAGIC[..read] {
        return Some(false);
    }
    (read == head.len()).then_some(true)
}

impl RecordSource for LogSet {
    fn next_event(&mut self) -> Result<Option<SourceEvent>, SourceError> {
        if self.follow && !self.dirs.is_empty() && self.last_scan.elapsed() >= RESCAN_INTERVAL {
            self.scan()?;
        }
        let n = self.members.len();
        // Drain one log before moving to the next: its records are then
        // read in long runs, and every log gets its turn.
        for i in 0..n {
            let member = (self.next + i) % n;
            if let Some(event) = self.members[member].tail.next_event()? {
                self.next = member;
                self.current = member;
                return Ok(Some(event));
            }
        }
        self.next = 0;
        Ok(None)
    }

    fn describe(&self) -> String {
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        match (dirs.is_empty(), self.members.as_slice()) {
            (true, [only]) => format!("file {}", only.path.display()),
            (true, members) => format!("{} logs", members.len()),
            (false, _) => format!("logs in {}", dirs.join(", ")),
        }
    }

    fn bytes_seen(&self) -> u64 {
        // A new log counts as growth too.
        self.members.iter().map(|m| m.tail.len()).sum::<u64>() + self.members.len() as u64
    }

    fn incomplete_tail(&self) -> Option<(u64, u64)> {
        self.members
            .iter()
            .find_map(|m| m.tail.incomplete_tail().filter(|_| !m.tail.is_empty()))
    }

    fn part(&self) -> usize {
        self.current
    }

    fn part_name(&self, part: usize) -> String {
        self.members.get(part).map_or_else(
            || self.describe(),
            |m| {
                m.path
                    .file_name()
                    .map_or_else(|| m.path.display().to_string(), |n| n.to_string_lossy().into_owned())
            },
        )
    }
}
