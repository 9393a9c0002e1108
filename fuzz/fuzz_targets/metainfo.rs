#![no_main]
//! Fuzz target `metainfo`: see `swarmcast::fuzzing::metainfo`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::metainfo(data));
