#![no_main]
//! Fuzz target `opensubtitles`: see `swarmcast::fuzzing::opensubtitles`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::opensubtitles(data));
