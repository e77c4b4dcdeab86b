"""Background work run by RQ workers on Redis."""
