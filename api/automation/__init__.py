"""Scheduled jobs (reminders, waitlist offers, paper mail, retention, ...) and their run log."""
