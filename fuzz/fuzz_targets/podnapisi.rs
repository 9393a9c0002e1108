#![no_main]
//! Fuzz target `podnapisi`: see `swarmcast::fuzzing::podnapisi`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::podnapisi(data));
