mod fixtures;
mod sim;
