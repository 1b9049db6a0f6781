"""Open data of the city: the dataset registry, questions answered from it, charts, and nearby facilities."""
