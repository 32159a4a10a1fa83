//! The engine: operations, access control, observation, registration.
