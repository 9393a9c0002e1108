#![no_main]
//! Fuzz target `gena`: see `swarmcast::fuzzing::gena_subscription`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::gena_subscription(data));
