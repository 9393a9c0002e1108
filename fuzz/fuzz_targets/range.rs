#![no_main]
//! Fuzz target `range`: see `swarmcast::fuzzing::range_header`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::range_header(data));
