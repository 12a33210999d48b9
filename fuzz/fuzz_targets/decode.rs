//! Feeds arbitrary bytes to the log decoder, whole and in pieces: it must
//! never panic or loop, and a stream it accepts must decode the same way
//! however it is split.
#![no_main]

use libfuzzer_sys::fuzz_target;
use streamvis_gpu::format::fuzz_decode;

fuzz_target!(|data: &[u8]| {
    fuzz_decode(data);
});
