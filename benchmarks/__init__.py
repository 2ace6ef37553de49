"""Measured comparisons of the adapter against the direct path and a JavaScript provider."""
