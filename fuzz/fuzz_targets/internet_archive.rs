#![no_main]
//! Fuzz target `internet_archive`: see `swarmcast::fuzzing::internet_archive`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::internet_archive(data));
