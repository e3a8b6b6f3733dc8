#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| proxy::config::fuzz::h1(data));
