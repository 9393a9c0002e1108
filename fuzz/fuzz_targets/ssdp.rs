#![no_main]
//! Fuzz target `ssdp`: see `swarmcast::fuzzing::ssdp_message`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::ssdp_message(data));
