mod fixtures;
mod keys;
