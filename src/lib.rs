//! alarm-distcc: set up distcc helpers for makepkg on Arch Linux ARM, safely.

pub mod app;
pub mod check;
pub mod cli;
pub mod document;
pub mod edit;
pub mod error;
pub mod helper;
pub mod hosts;
pub mod layers;
pub mod makeflags;
pub mod plan;
pub mod probe;
pub mod show;
pub mod view;
pub mod wizard;
pub mod write;
