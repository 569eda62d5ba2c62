//! Sandbox providers that speak the real protocols on loopback (being written).
