"""Canonical URLs of this instance's actors and objects: one id per thing, served at exactly that URL."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Urls:
    base: str  # e.g. "https://rail.example" (no trailing slash)

    @property
    def host(self) -> str:
        return urlsplit(self.base).netloc

    @property
    def domain(self) -> str:
        return urlsplit(self.base).hostname or ""

    def is_local(self, url: str | None) -> bool:
        return bool(url) and (url == self.base or url.startswith(self.base + "/") or url.startswith(self.base + "#"))

    def actor(self, username: str) -> str:
        return f"{self.base}/actors/{username}"

    def key_id(self, username: str) -> str:
        return f"{self.actor(username)}#main-key"

    def inbox(self, username: str) -> str:
        return f"{self.actor(username)}/inbox"

    def outbox(self, username: str) -> str:
        return f"{self.actor(username)}/outbox"

    def followers(self, username: str) -> str:
        return f"{self.actor(username)}/followers"

    def following(self, username: str) -> str:
        return f"{self.actor(username)}/following"

    def profile(self, username: str) -> str:
        return f"{self.base}/@{username}"

    @property
    def shared_inbox(self) -> str:
        return f"{self.base}/inbox"

    @property
    def instance_actor(self) -> str:
        return f"{self.base}/actor"

    @property
    def instance_key_id(self) -> str:
        return f"{self.instance_actor}#main-key"

    def statement(self, sid: str) -> str:
        return f"{self.base}/statements/{sid}"

    def activity(self, aid: str) -> str:
        return f"{self.base}/activities/{aid}"

    def tag(self, name: str) -> str:
        return f"{self.base}/tags/{name.lower()}"

    def media(self, name: str) -> str:
        return f"{self.base}/media/{name}"

    # Meetings (issue 4): the Event's id is also its HTML page (content negotiation).
    def meeting(self, mid: str) -> str:
        return f"{self.base}/meetings/{mid}"

    def meeting_ics(self, mid: str) -> str:
        return f"{self.meeting(mid)}.ics"

    def meeting_register(self, mid: str) -> str:
        return f"{self.meeting(mid)}/register"

    def meeting_attendees(self, mid: str) -> str:
        return f"{self.meeting(mid)}/attendees"

    def meeting_organizers(self, mid: str) -> str:
        return f"{self.meeting(mid)}/organizers"

    @property
    def meetings(self) -> str:
        return f"{self.base}/meetings"

    def union_calendar(self, username: str) -> str:
        return f"{self.profile(username)}/calendar.ics"

    @property
    def network_calendar_ics(self) -> str:
        return f"{self.base}/calendar.ics"

    @property
    def calendar(self) -> str:
        return f"{self.base}/calendar"

    def upcoming_events(self, username: str) -> str:
        return f"{self.actor(username)}/upcoming_events"

    def meeting_id(self, url: str) -> str | None:
        """The `mid` of one of our meeting ids, else None."""
        prefix = self.meeting("")
        if not url.startswith(prefix):
            return None
        mid = url[len(prefix):]
        return mid if mid and "/" not in mid and "." not in mid and "?" not in mid and "#" not in mid else None
