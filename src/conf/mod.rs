//! The lossless makepkg.conf engine: the document model, typed views of the distcc
//! variables, pure edits, the layers makepkg reads, and diff-and-write.

pub mod bash_check;
pub mod buildflags;
pub mod document;
pub mod edit;
pub mod layers;
pub mod makeflags;
pub mod plan;
pub mod view;
pub mod write;
