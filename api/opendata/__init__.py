"""Open data of the city: public facilities and, later, its published datasets."""
