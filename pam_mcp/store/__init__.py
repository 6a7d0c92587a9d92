"""The data layer: the only code that writes SQL. Everything is one transaction per call."""
