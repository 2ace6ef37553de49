"""Joins the OpenFin side and the ServiceNow side: channel actions, access control, contexts, intents."""
