//! The ActionGraph (work in progress).
