mod fixtures;
mod inventory;
mod sim;
