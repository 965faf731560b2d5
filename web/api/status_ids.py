"""Which post (or boost) a status id names, and who may see or change it: shared by the
statuses endpoints and the boost/favourite endpoints."""
from __future__ import annotations

from starlette.requests import Request

from actors.instance import Instance
from actors.models import LocalActor
from content.models import Interaction, Post
from web.api.common import ApiError, not_found, path_id

MEETINGS_ELSEWHERE = "meetings are managed on the Meetings page (/admin/meetings)"


def status_id(request: Request) -> int:
    return path_id(request)


async def find(n: int) -> Post | tuple[Interaction, Post] | None:
    """A status id is a post's sid or a boost's (the wrapper, with the post it boosts)."""
    post = await Post.filter(sid=n).first()
    if post is not None:
        return post
    boost = await Interaction.filter(sid=n, kind="announce").first()
    if boost is not None:
        post = await Post.filter(ap_id=boost.object_uri).first()
        if post is not None:
            return boost, post
    return None


def post_of(found: Post | tuple[Interaction, Post] | None) -> Post | None:
    return found if isinstance(found, Post) else found[1] if found else None


def visible(post: Post, viewer: LocalActor | None) -> bool:
    """Hidden posts never; non-public ones (addressed to us) only to a logged-in client."""
    return not post.hidden and (post.public or viewer is not None)


async def original(request: Request) -> Post:
    """The post an id names; a boost wrapper's id names its original. 404 if not to be seen."""
    post = post_of(await find(status_id(request)))
    if post is None or not visible(post, request.state.actor):
        raise not_found()
    return post


def statement(post: Post) -> None:
    """Only statements (Notes) are edited as statuses: a meeting's post (an Event) has its
    registrations and its own rules in outbox.meetings."""
    if post.type != "Note":
        raise ApiError(422, MEETINGS_ELSEWHERE)


def own(inst: Instance, actor: LocalActor, post: Post) -> None:
    """A statement of ours, which the client may edit or delete."""
    if not (post.local and post.author_uri == inst.uri_of(actor)):
        raise ApiError(403, "This action is not allowed: the status is not yours")
    statement(post)
