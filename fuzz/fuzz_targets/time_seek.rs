#![no_main]
//! Fuzz target `time_seek`: see `swarmcast::fuzzing::time_seek_range`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::time_seek_range(data));
