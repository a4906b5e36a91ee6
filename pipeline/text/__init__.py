"""Text: cleaning (page furniture, line joins, normalisation) and structure (masthead,
sections, passages, units, regions and dates)."""
