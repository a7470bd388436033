//! alarm-distcc: set up distcc helpers for makepkg on Arch Linux ARM, safely.
//!
//! Layers, top to bottom (nothing imports upwards): `app` (dispatch) -> `commands` ->
//! `session` (read once, plan, diff, confirm, write) -> `conf` (the lossless makepkg.conf
//! engine), `distcc` (host grammar, protocol, ELF, distccd-alarm facts) and `receipts` (a
//! build's log reading, receipt and store) -> `error`, `ui`, `leftovers` (what an
//! interrupt clears), `bounded` (a program run with a time bound, ended whole).

pub mod app;
pub mod bounded;
pub mod cli;
pub mod commands;
pub mod conf;
pub mod distcc;
pub mod error;
pub mod leftovers;
pub mod pool;
pub mod receipts;
pub mod session;
pub mod supervise;
pub mod ui;

// Flat paths for tests, benches and fuzz targets.
pub use conf::{document, edit, layers, makeflags, plan, view, write};
pub use distcc::{hosts, protocol};
