"""Spreadsheet exports (xlsx) of statistics and cases, each with a 说明 sheet of formulas."""
