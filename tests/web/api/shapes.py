"""Entity shapes as clients parse them (interop notes 6.8 and 6.9): every Account, Status,
Notification, Relationship, Instance and MediaAttachment the API returns carries every listed
field with the right type; ids are strings, dates ISO 8601 in UTC with `Z`, arrays are present
even when empty, `spoiler_text` is "" rather than null, avatar and header are always URLs.
Tusky's Moshi classes throw on a missing non-null field, so each check names the field.

The checkers, the entity specs and the `world` fixture; the tests are in test_entity_shapes.py."""
from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from PIL import Image

from actors.local import get_by_username
from actors.models import Follower, Following, FollowState
from content import media as content_media
from content import notify
from content.models import Interaction, Post
from outbox import media as outbox_media
from outbox import statements
from tests.web.conftest import make_meeting  # noqa: F401  (fixture)

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
DAY = re.compile(r"^\d{4}-\d\d-\d\d$")


# --- field checkers: each returns an error text or None ------------------------------------

def kind(test, label: str):
    return lambda v: None if test(v) else f"expected {label}, got {v!r}"


text = kind(lambda v: isinstance(v, str), "a string")
nonempty = kind(lambda v: isinstance(v, str) and bool(v), "a non-empty string")
id_ = kind(lambda v: isinstance(v, str) and v.isdigit(), "an id (a string of digits)")
integer = kind(lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer")
boolean = kind(lambda v: isinstance(v, bool), "a boolean")
iso = kind(lambda v: isinstance(v, str) and bool(ISO.match(v)), "an ISO 8601 UTC date with Z")
day = kind(lambda v: isinstance(v, str) and bool(DAY.match(v)), "YYYY-MM-DD")
url = kind(lambda v: isinstance(v, str) and v.startswith(("http://", "https://")), "a URL")
array = kind(lambda v: isinstance(v, list), "an array")
obj = kind(lambda v: isinstance(v, dict), "an object")


def opt(check):
    def optional(v):
        return None if v is None else check(v)
    return optional


def one_of(*values):
    def among(v):
        return None if v in values else f"expected one of {values}, got {v!r}"
    return among


def problems(entity, spec: dict, where: str = "") -> list[str]:
    if not isinstance(entity, dict):
        return [f"{where or 'entity'}: expected an object, got {entity!r}"]
    out = []
    for name, check in spec.items():
        path = f"{where}.{name}" if where else name
        if name not in entity:
            out.append(f"{path}: missing")
            continue
        if isinstance(check, dict):
            out += problems(entity[name], check, path)
        elif callable(check):
            found = check(entity[name])
            if isinstance(found, list):
                out += [f"{path}{p if p.startswith('[') else '.' + p}" for p in found]
            elif found:
                out.append(f"{path}: {found}")
    return out


def nested(spec: dict, *, allow_none: bool = False):
    def check(v):
        if v is None and allow_none:
            return None
        return problems(v, spec, "") or None
    return check


def each(spec: dict):
    def check(v):
        if not isinstance(v, list):
            return f"expected an array, got {v!r}"
        return [p for i, item in enumerate(v) for p in problems(item, spec, f"[{i}]")] or None
    return check


EMOJI = {"shortcode": nonempty, "url": url, "static_url": url, "visible_in_picker": boolean}
FIELD = {"name": text, "value": text, "verified_at": opt(iso)}
ACCOUNT = {
    "id": id_, "username": nonempty, "acct": nonempty, "display_name": text, "locked": boolean, "bot": boolean,
    "discoverable": opt(boolean), "group": boolean, "created_at": iso, "note": text, "url": url, "uri": url,
    "avatar": url, "avatar_static": url, "header": url, "header_static": url, "followers_count": integer,
    "following_count": integer, "statuses_count": integer, "last_status_at": opt(day), "emojis": each(EMOJI),
    "fields": each(FIELD),
}
MEDIA = {"id": id_, "type": one_of("image", "gifv", "video", "audio", "unknown"), "url": url,
         "preview_url": opt(url), "remote_url": opt(url), "meta": opt(obj), "description": opt(text),
         "blurhash": opt(text)}
MENTION = {"id": id_, "username": nonempty, "url": url, "acct": nonempty}
TAG = {"name": nonempty, "url": url}
STATUS = {
    "id": id_, "created_at": iso, "edited_at": opt(iso), "in_reply_to_id": opt(id_),
    "in_reply_to_account_id": opt(id_), "sensitive": boolean, "spoiler_text": text,
    "visibility": one_of("public", "unlisted", "private", "direct"), "language": opt(nonempty), "uri": url,
    "url": opt(url), "replies_count": integer, "reblogs_count": integer, "favourites_count": integer,
    "favourited": boolean, "reblogged": boolean, "muted": boolean, "bookmarked": boolean, "content": text,
    "reblog": lambda v: None if v is None else "a reblog inside a status that is not a wrapper",
    "application": opt(obj), "account": nested(ACCOUNT), "media_attachments": each(MEDIA),
    "mentions": each(MENTION), "tags": each(TAG), "emojis": each(EMOJI), "card": opt(obj), "poll": opt(obj),
}
WRAPPER = {**STATUS, "reblog": nested(STATUS)}
RELATIONSHIP = {name: boolean for name in (
    "following", "showing_reblogs", "notifying", "followed_by", "blocking", "blocked_by", "muting",
    "muting_notifications", "requested", "requested_by", "domain_blocking", "endorsed")}
RELATIONSHIP |= {"id": id_, "note": text, "languages": opt(array)}
NOTIFICATION_TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update")
NOTIFICATION = {"id": id_, "type": one_of(*NOTIFICATION_TYPES), "created_at": iso, "account": nested(ACCOUNT)}


def assert_shape(entity, spec: dict, what: str) -> None:
    found = problems(entity, spec)
    assert not found, f"{what}:\n  " + "\n  ".join(found)


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 20), (179, 0, 27)).save(out, format="PNG")
    return out.getvalue()


# --- the world the API shows ---------------------------------------------------------------

@pytest.fixture
async def world(api, remote_actor):
    """Our union's statements (one with an image, one a reply), a followed remote union `rail`
    with a post, its reply to us and its boost; a remote person `bob` we asked to follow."""
    client, inst, headers = api
    union = await get_by_username("sud_rail")
    now = inst.now()
    rail = await remote_actor("rail", "Organization", now)
    bob = await remote_actor("bob", "Person", now)
    await Following.create(local=union, remote=rail, follow_id="https://ours.example/follows/1",
                           state=FollowState.ACCEPTED, created_at=now)
    await Following.create(local=union, remote=bob, follow_id="https://ours.example/follows/2",
                           state=FollowState.PENDING, created_at=now)
    await Follower.create(local=union, remote=rail, follow_id=f"{rail.uri}/follows/9", state=FollowState.ACCEPTED,
                          created_at=now)
    await Follower.create(local=union, remote=bob, follow_id=f"{bob.uri}/follows/3", state=FollowState.PENDING,
                          created_at=now)
    theirs = await Post.create(ap_id=f"{rail.uri}/notes/1", author_uri=rail.uri, url="https://rail.example/@rail/1",
                               content="<p>Grève reconductible</p>", content_map={"fr": "<p>Grève reconductible</p>"},
                               language="fr", public=True, published=now - timedelta(minutes=30),
                               tags=[{"type": "Hashtag", "name": "#greve", "href": "https://rail.example/tags/greve"}],
                               attachments=[{"type": "Document", "mediaType": "image/jpeg", "name": "Banner",
                                             "url": "https://rail.example/media/banner.jpg"}])
    upload = await outbox_media.upload(inst, content_media.check(png(), "strike.png"), description="Picket line")
    ours = await statements.publish(inst, union, {"en": "Solidarity with @rail@rail.example! #strike"},
                                    media=[upload])
    reply = await statements.publish(inst, union, {"en": "@rail@rail.example we are with you"},
                                     in_reply_to=theirs.ap_id)
    answer = await Post.create(ap_id=f"{rail.uri}/notes/2", author_uri=rail.uri, in_reply_to=ours.ap_id,
                               content="<p>Thanks!</p>", content_map={"en": "<p>Thanks!</p>"}, language="en",
                               public=True, published=now, tags=[{"type": "Mention", "href": inst.uri_of(union)}])
    await Interaction.create(kind="announce", activity_id=f"{rail.uri}/boosts/1", actor_uri=rail.uri,
                             object_uri=ours.ap_id, created_at=now)
    await notify.record("follow", actor_uri=rail.uri, activity_id=f"{rail.uri}/follows/9", now=now)
    await notify.record("reply", actor_uri=rail.uri, object_uri=answer.ap_id, activity_id=f"{answer.ap_id}/activity",
                        now=now)
    await notify.record("reblog", actor_uri=rail.uri, object_uri=ours.ap_id, activity_id=f"{rail.uri}/boosts/1",
                        now=now)
    await notify.record("favourite", actor_uri=rail.uri, object_uri=reply.ap_id, activity_id=f"{rail.uri}/likes/1",
                        now=now)
    await notify.record("follow_request", actor_uri=bob.uri, activity_id=f"{bob.uri}/follows/3", now=now)
    return client, inst, headers, union, rail, bob, theirs, ours, reply, answer


async def get_json(client, url: str, headers: dict, **params):
    response = await client.get(url, headers=headers, params=params)
    assert response.status_code == 200, f"GET {url}: {response.status_code} {response.text[:500]}"
    return response.json()
