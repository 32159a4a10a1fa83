//! Built-in objects.
