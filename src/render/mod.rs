//! Rendering campaign content per channel (being written).
