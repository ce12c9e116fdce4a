//! Drives one [`scalemodel_core`] machine from a mio event loop over non-blocking TCP.

pub mod timer;
