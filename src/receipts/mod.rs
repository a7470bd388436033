//! A build's record, below the `build` command: the distcc client's log read into jobs
//! (`log`), makepkg's phases from its `==>` lines (`phases`), what distccmon reads under
//! DISTCC_DIR (`state`), how busy the Pi's CPUs were (`cpu`), what helpers' compilers said
//! in the files distcc deletes (`helper_stderr`), the receipt made from them (`receipt`), its
//! advice (`advice`) and where receipts are kept (`store`). Nothing here runs makepkg or
//! prints.

pub mod advice;
pub mod cpu;
pub mod helper_stderr;
pub mod inotify;
pub mod log;
pub mod phases;
pub mod receipt;
pub mod state;
pub mod store;
