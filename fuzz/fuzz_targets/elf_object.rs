//! Any bytes as a helper's object: the ELF reader answers without panicking or running away.
#![no_main]

use alarm_distcc::distcc::elf::object_info;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = object_info(data);
});
