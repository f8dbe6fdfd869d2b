//! Object stores for publishing (work in progress).
