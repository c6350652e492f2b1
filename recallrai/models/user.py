"""Compatibility: the official package's ``recallrai.models.user`` names, as aliases of this SDK's classes."""

from __future__ import annotations

from recallrai._models import ConnectedMemory as MemoryRelationship
from recallrai._models import Memory as UserMemoryItem
from recallrai._models import MemoryVersion as MemoryVersionInfo
from recallrai._models import UserMessage
from recallrai._models import UserMessageList as UserMessagesList
from recallrai._pagination import MemoryPage as UserMemoriesList
from recallrai._pagination import UserPage as UserList
from recallrai._users import UserRecord as UserModel

__all__ = [
    "MemoryRelationship",
    "MemoryVersionInfo",
    "UserList",
    "UserMemoriesList",
    "UserMemoryItem",
    "UserMessage",
    "UserMessagesList",
    "UserModel",
]
