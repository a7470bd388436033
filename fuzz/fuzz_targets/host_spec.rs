//! Any token: the host parser never panics, and what it accepts formats and parses back
//! to the same spec.
#![no_main]

use alarm_distcc::hosts::HostSpec;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    if let Ok(spec) = token.parse::<HostSpec>() {
        let formatted = spec.to_string();
        let again: HostSpec = formatted.parse().expect("a formatted spec parses");
        assert_eq!(again, spec);
        assert_eq!(again.to_string(), formatted);
    }
});
