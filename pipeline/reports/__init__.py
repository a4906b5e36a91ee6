"""Reports: queries over the store (counts, issue lists), their exports, charts and the
review queue."""
