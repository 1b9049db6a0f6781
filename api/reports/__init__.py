"""Citizen reports (생활불편 신고): cases, photos, status history and what the citizen is told."""
