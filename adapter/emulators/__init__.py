"""Faithful local stand-ins for the OpenFin runtime and a ServiceNow instance, for the demo and the tests."""
