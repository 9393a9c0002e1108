#![no_main]
//! Fuzz target `subtitle`: see `swarmcast::fuzzing::subtitle_text`.
libfuzzer_sys::fuzz_target!(|data: &[u8]| swarmcast::fuzzing::subtitle_text(data));
