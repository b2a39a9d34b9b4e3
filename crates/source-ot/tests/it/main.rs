mod appliance;
mod fixtures;
mod keys;
mod sync;
mod tls;
