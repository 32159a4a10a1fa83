//! LwM2M server.
