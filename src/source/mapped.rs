//! Memory maps of files that another program may shrink.
//!
//! Reading a page of a shared file mapping that lies wholly past the file's
//! end raises SIGBUS, and SIGBUS kills the process. A log is append-only by
//! contract, but a user can still truncate or rewrite it (`truncate -s 100
//! run.log`, `cat other.log > run.log`, `cp new.log run.log`) while the viewer
//! reads it, and records keep borrowing the mapped bytes long after they were
//! decoded: the store holds them, the renderer uploads them.
//!
//! The guarantee: every mapping made by [`GuardedMap::map`] is entered in a
//! process-wide table, and a SIGBUS handler looks the faulting address up in
//! it. A fault inside a registered mapping is answered by mapping anonymous
//! zero pages over the rest of that mapping (from the faulting page to its
//! end: every page past the new end of the file) and returning, so the read
//! that faulted is retried and sees zeros; the mapping is marked damaged, and
//! the file tail, which checks the mark after every decode, starts over. A
//! fault anywhere else goes to the handler that was installed before (Rust's
//! own stack-overflow handler, or the default action), exactly as without
//! this module.
//!
//! Rejected: checking the file's length before each read (the file can shrink
//! between the check and the read, and the store and renderer read the bytes
//! much later than the tail decodes them); copying records to the heap or
//! reading with `pread` (the log's bytes would leave the page cache for the
//! heap: a 10 GB log would need 10 GB of memory).

use std::fs::File;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use memmap2::{Mmap, MmapOptions};

/// How many mappings can be guarded at once. A followed file holds a handful
/// (mappings double as the file grows, and old ones live while records
/// borrow them); this leaves room for hundreds of files.
const SLOTS: usize = 4096;

/// A slot's `start` while it is free.
const FREE: usize = 0;
/// A slot's `start` while it is being filled or emptied: matches no address.
const BUSY: usize = usize::MAX;

/// One registered mapping: `start..end`, page-aligned.
struct Slot {
    start: AtomicUsize,
    end: AtomicUsize,
    damaged: AtomicBool,
}

#[allow(clippy::declare_interior_mutable_const)] // the array initialiser below
const EMPTY_SLOT: Slot = Slot {
    start: AtomicUsize::new(FREE),
    end: AtomicUsize::new(0),
    damaged: AtomicBool::new(false),
};

static TABLE: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];
static PAGE_BYTES: AtomicUsize = AtomicUsize::new(4096);
/// Faults answered with zero pages, over the process's life.
static ANSWERED: AtomicU64 = AtomicU64::new(0);
/// The SIGBUS action before ours, to pass other faults on to.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

/// A read-only shared mapping of a file whose pages past a shrunken end read
/// as zeros instead of killing the process.
pub struct GuardedMap {
    mmap: Mmap,
    slot: usize,
}

impl GuardedMap {
    /// Maps `len_bytes` of `file` (the mapping may extend past the file's
    /// end; only bytes below it hold data).
    pub fn map(file: &File, len_bytes: usize) -> std::io::Result<GuardedMap> {
        install_handler()?;
        // SAFETY: the bytes of a log below its length do not change once
        // written (append-only); if another program breaks that by
        // shrinking the file, the SIGBUS handler keeps reads defined (zeros)
        // and the reader notices the damage and starts over.
        let mmap = unsafe { MmapOptions::new().len(len_bytes).map(file)? };
        let page = PAGE_BYTES.load(Ordering::Relaxed);
        let start = mmap.as_ptr() as usize;
        let end = (start + mmap.len()).next_multiple_of(page);
        for (index, slot) in TABLE.iter().enumerate() {
            if slot
                .start
                .compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                slot.damaged.store(false, Ordering::Relaxed);
                slot.end.store(end, Ordering::Release);
                slot.start.store(start, Ordering::Release);
                return Ok(GuardedMap { mmap, slot: index });
            }
        }
        Err(std::io::Error::other(format!(
            "more than {SLOTS} memory maps are open at once"
        )))
    }

    /// Whether a page of this mapping was read after the file shrank below
    /// it (and now reads as zeros).
    pub fn is_damaged(&self) -> bool {
        TABLE[self.slot].damaged.load(Ordering::Acquire)
    }
}

impl AsRef<[u8]> for GuardedMap {
    fn as_ref(&self) -> &[u8] {
        &self.mmap
    }
}

impl Drop for GuardedMap {
    fn drop(&mut self) {
        // Out of the table before the fields drop and `munmap` runs: nobody
        // reads a mapping that is being dropped.
        let slot = &TABLE[self.slot];
        slot.start.store(BUSY, Ordering::Release);
        slot.end.store(0, Ordering::Release);
        slot.start.store(FREE, Ordering::Release);
    }
}

/// How many reads past the end of a shrunken file were answered with zeros
/// in this process so far: an output made while it grew may show zeros.
pub fn reads_past_shrunken_ends() -> u64 {
    ANSWERED.load(Ordering::Relaxed)
}

/// Installs the SIGBUS handler once for the process.
fn install_handler() -> std::io::Result<()> {
    static INSTALLED: OnceLock<Result<(), i32>> = OnceLock::new();
    let result = INSTALLED.get_or_init(|| {
        // SAFETY: plain libc calls with valid pointers; the handler only
        // reads atomics and the saved action, and calls `mmap`, a system call.
        unsafe {
            let page = libc::sysconf(libc::_SC_PAGESIZE);
            if page > 0 {
                PAGE_BYTES.store(page as usize, Ordering::Relaxed);
            }
            let mut previous: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut previous) != 0 {
                return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
            let _ = PREVIOUS.set(previous);
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_sigbus as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut action.sa_mask);
            if libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
            }
        }
        Ok(())
    });
    result
        .as_ref()
        .copied()
        .map_err(|&code| std::io::Error::from_raw_os_error(code))
}

/// The SIGBUS handler: zero pages over a registered mapping, else the
/// previous action.
extern "C" fn on_sigbus(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let (code, address) = unsafe { ((*info).si_code, (*info).si_addr() as usize) };
    if code <= 0 {
        // Sent by a process (`kill -BUS`), not a fault: its address field
        // holds no address. End the process as the default action would.
        reset_to_default(signal);
        // SAFETY: raise is async-signal-safe; SIGBUS is blocked in its own
        // handler, so it is delivered when the handler returns.
        unsafe { libc::raise(signal) };
        return;
    }
    let page = PAGE_BYTES.load(Ordering::Relaxed);
    for slot in &TABLE {
        let start = slot.start.load(Ordering::Acquire);
        if start == FREE || start == BUSY || address < start {
            continue;
        }
        let end = slot.end.load(Ordering::Acquire);
        // The slot may have been emptied and filled again between the two
        // loads: only a `start` that did not change makes `end` its own.
        if address >= end || slot.start.load(Ordering::Acquire) != start {
            continue;
        }
        let from = address & !(page - 1);
        // SAFETY: `from..end` lies inside a live mapping of ours (it leaves
        // the table before it is unmapped); MAP_FIXED replaces its pages.
        let mapped = unsafe {
            libc::mmap(
                from as *mut libc::c_void,
                end - from,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                -1,
                0,
            )
        };
        if mapped != libc::MAP_FAILED {
            slot.damaged.store(true, Ordering::Release);
            ANSWERED.fetch_add(1, Ordering::Relaxed);
            return;
        }
        break;
    }
    pass_on(signal, info, context);
}

/// Hands a fault that is not ours to the action installed before ours.
fn pass_on(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(previous) = PREVIOUS.get() else {
        reset_to_default(signal);
        return;
    };
    match previous.sa_sigaction {
        libc::SIG_DFL | libc::SIG_IGN => reset_to_default(signal),
        handler if previous.sa_flags & libc::SA_SIGINFO != 0 => {
            // SAFETY: the saved action is a three-argument handler (SA_SIGINFO).
            let handler: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                unsafe { std::mem::transmute(handler) };
            handler(signal, info, context);
        }
        handler => {
            // SAFETY: the saved action is a one-argument handler.
            let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(handler) };
            handler(signal);
        }
    }
}

/// Restores the default action; returning then repeats the fault, which
/// ends the process as it would have without this module.
fn reset_to_default(signal: libc::c_int) {
    // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signal, &action, std::ptr::null_mut());
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn pages_past_a_shrunken_end_read_as_zeros() {
        install_handler().unwrap();
        let page = PAGE_BYTES.load(Ordering::Relaxed);
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&vec![7u8; page * 4]).unwrap();
        let map = GuardedMap::map(&file, page * 8).unwrap();
        assert_eq!(map.as_ref()[page * 3], 7);
        assert!(!map.is_damaged());
        file.set_len(10).unwrap();
        // The first page stays file-backed (zero-filled past the end by the
        // kernel); the read of the third page faults and is answered.
        let read = |at: usize| unsafe { std::ptr::read_volatile(map.as_ref().as_ptr().add(at)) };
        assert_eq!(read(5), 7);
        assert_eq!(read(page * 3), 0);
        assert_eq!(read(page * 2 + 17), 0);
        assert!(map.is_damaged());
        assert!(reads_past_shrunken_ends() >= 1);
        // A second mapping of the same file is not marked.
        let other = GuardedMap::map(&file, page).unwrap();
        assert!(!other.is_damaged());
        assert_eq!(other.as_ref()[3], 7);
    }

    #[test]
    fn slots_are_released() {
        let file = tempfile::tempfile().unwrap();
        file.set_len(64).unwrap();
        for _ in 0..SLOTS + 10 {
            let map = GuardedMap::map(&file, 64).unwrap();
            assert_eq!(map.as_ref()[0], 0);
        }
    }
}
