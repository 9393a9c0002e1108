#![no_main]
//! Fuzz target `soap`: see `swarmcast::fuzzing::soap_envelope`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::soap_envelope(data));
