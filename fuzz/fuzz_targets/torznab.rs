#![no_main]
//! Fuzz target `torznab`: see `swarmcast::fuzzing::torznab`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::torznab(data));
