pub(crate) mod genslab;
