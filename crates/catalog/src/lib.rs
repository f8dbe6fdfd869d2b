//! STAC for arco outputs (work in progress).
