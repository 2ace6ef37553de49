"""openfin-servicenow-adapter: one shared ServiceNow connection for every app on an OpenFin desktop."""

__version__ = "0.1.0"
