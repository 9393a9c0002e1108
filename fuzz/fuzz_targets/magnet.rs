#![no_main]
//! Fuzz target `magnet`: see `swarmcast::fuzzing::magnet`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::magnet(data));
