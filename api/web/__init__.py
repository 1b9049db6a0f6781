"""The staff console: server-rendered pages in Korean for the handoff queue, conversations and accounts."""
