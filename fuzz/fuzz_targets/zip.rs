#![no_main]
//! Fuzz target `zip`: see `swarmcast::fuzzing::zip`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::zip(data));
