//! Drives one [`scalemodel_core`] machine from a mio event loop over non-blocking TCP.
//!
//! Empty for now: the network host arrives with the network experiment.
