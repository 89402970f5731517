"""Question families, one small module per topic; aggregated by the two modules below."""
