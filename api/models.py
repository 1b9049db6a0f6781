"""Imports every domain's tables so that Alembic and tests see the whole schema."""

from api.conversations.models import Conversation, Handoff, Message

__all__ = ["Conversation", "Handoff", "Message"]
