"""Store: the SQLite results store (bulletins, passages, predictions, errors)."""
