//! What distcc itself defines: the host grammar, the wire protocol, the objects it returns,
//! and distccd-alarm's ports and compiler names.

pub mod advice;
pub mod alarm;
pub mod client;
pub mod compat;
pub mod elf;
pub mod hosts;
pub mod net;
pub mod protocol;
pub mod scan;
