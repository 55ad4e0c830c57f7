//! Markdown documents: the one front-matter parser, and the small structure readers need; and
//! the TOML files the toolkit reads.

pub mod front_matter;
pub mod markdown;
pub mod toml_file;
