"""A ServiceNow instance emulator: OAuth, the x_opfi_openfin scripted API and the Table API on SQLite."""
