"""The workbench's use cases: who may see what, the case list and a case's full record."""
