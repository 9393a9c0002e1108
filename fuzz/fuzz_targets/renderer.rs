#![no_main]
//! Fuzz target `renderer`: see `swarmcast::fuzzing::renderer`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::renderer(data));
