#![no_main]
//! Fuzz target `container`: see `swarmcast::fuzzing::container_index`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::container_index(data));
