"""The open-data evaluation set of issue 15: invented datasets of every shape, their questions, and the grading."""
