#![no_main]
//! Fuzz target `criteria`: see `swarmcast::fuzzing::search_criteria`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::search_criteria(data));
