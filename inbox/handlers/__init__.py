"""One small handler per activity type. Each returns a short result for the inbox log,
raises Ignored when a rule says no, or Retry on a temporary failure."""
from __future__ import annotations


class Ignored(Exception):
    pass
