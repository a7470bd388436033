//! One module per command family; each uses the session and the engine below it, never the
//! dispatcher or a sibling command.

pub mod build;
pub mod builds;
pub mod discover;
pub mod doctor;
pub mod edit;
pub mod generate;
pub mod helper;
pub mod measure;
pub mod probe;
pub mod show;
pub mod wizard;
