"""NLU inbox, training data, training runs, model registry and activation (admins only)."""
