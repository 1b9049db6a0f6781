"""Notices domain: city notices and their search, subscriptions, certified personal notices."""
