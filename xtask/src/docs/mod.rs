//! Markdown documents: the one front-matter parser, and the small structure readers need.

pub mod front_matter;
pub mod markdown;
