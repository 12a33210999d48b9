//! Reads arbitrary bytes as a program of hostile records, encoded with valid
//! checksums, and takes them the whole way: decoder, store, export, page
//! layout and line reduction. Nothing may panic, loop, or lay a plot out off
//! the page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use streamvis_gpu::fuzz::fuzz_view;

fuzz_target!(|data: &[u8]| {
    fuzz_view(data);
});
