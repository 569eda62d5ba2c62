//! Ranking models and offline evaluation (being written).
