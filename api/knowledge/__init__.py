"""The staff-kept knowledge base and the retrieval that answers citizens from it and from published notices."""
