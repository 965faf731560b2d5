"""Statements: publish, edit and delete a public multilingual Note; serve it at its id."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from actors import follows
from actors.instance import Instance
from actors.models import LocalActor, RemoteActor
from actors.remote import ActorFetchError, fetch_actor, resolve_handle
from content import compose
from content.as2 import PUBLIC, normalize_language
from content.media import attachment as media_attachment
from content.models import Media, Post, Tombstone
from federation.vocab import AS_CONTEXT, iso_datetime
from outbox import media as out_media
from outbox.emit import emit, new_id
from outbox.models import Activity


class OutboxError(ValueError):
    pass


def statement_json(inst: Instance, post: Post) -> dict:
    """The Note as served at its id and as sent in Create/Update: one source for both."""
    mentions = [t for t in post.tags if t.get("type") == "Mention"]
    hashtags = [t for t in post.tags if t.get("type") == "Hashtag"]
    author = post.author_uri
    return compose.note_json(
        ap_id=post.ap_id, author_uri=author, followers_url=f"{author}/followers", url=post.url or post.ap_id,
        content_map=post.content_in_order(), summary=post.summary or None, tags=hashtags, mentions=mentions,
        in_reply_to=post.in_reply_to, published=post.published, updated=post.updated,
        attachments=post.attachments, replies_url=f"{post.ap_id}/replies",
        appeal=post.appeal, appeal_until=post.appeal_until,
    )


async def _render(inst: Instance, texts: dict[str, str]) -> tuple[dict[str, str], list[dict], list[RemoteActor]]:
    """Plain text per language -> safe HTML per language, hashtag tags, resolved mentions."""
    content_map: dict[str, str] = {}
    hashtags: dict[str, dict] = {}
    handles: list[str] = []
    mention_urls: dict[str, str] = {}
    # First pass finds the handles; they are resolved (network) before anything is written.
    for text in texts.values():
        _, _, found = compose.text_to_html(text, hashtag_url=inst.urls.tag, mentions={})
        handles += [h for h in found if h not in handles]
    actors: list[RemoteActor] = []
    for handle in handles:
        try:
            actor = await resolve_handle(inst, handle, cached_ok=True)
        except ActorFetchError as exc:
            raise OutboxError(f"could not find {handle}: {exc.reason}") from exc
        actors.append(actor)
        mention_urls[handle.lstrip("@").lower()] = actor.url or actor.uri
    for lang, text in texts.items():
        html, tags, _ = compose.text_to_html(text, hashtag_url=inst.urls.tag, mentions=mention_urls)
        content_map[lang] = html
        for tag in tags:
            hashtags.setdefault(tag.lower(), {"type": "Hashtag", "name": f"#{tag}", "href": inst.urls.tag(tag)})
    mention_tags = [{"type": "Mention", "href": a.uri, "name": f"@{a.username}@{a.domain}"} for a in actors]
    return content_map, list(hashtags.values()) + mention_tags, actors


def _check_texts(texts: dict[str, str]) -> dict[str, str]:
    """Language codes normalised ("FR" -> "fr", "pt_BR" -> "pt-BR"), empty texts refused."""
    if not texts or not any(t.strip() for t in texts.values()):
        raise OutboxError("a statement needs some text")
    checked: dict[str, str] = {}
    for lang, text in texts.items():
        code = normalize_language(lang)
        if code is None:
            raise OutboxError(f"not a language code: {lang!r} (use two letters, such as en, fr, es, pt)")
        if code in checked:
            raise OutboxError(f"the language {code} is given twice")
        if not text.strip():
            raise OutboxError(f"the {code} text is empty")
        checked[code] = text
    return checked


async def _audience(local: LocalActor, mentioned: list[RemoteActor]) -> list[str]:
    return await follows.follower_inboxes(local) + [a.delivery_inbox for a in mentioned]


async def _parent_author(inst: Instance, in_reply_to: str | None, mentioned: list[RemoteActor]) -> list[RemoteActor]:
    """A reply also goes to the inbox of the post's author (Mastodon stores a pushed reply to a
    local post), even when the text does not mention them. Only the inbox: putting them in `cc`
    without a Mention tag would make Mastodon read the post as "limited".

    The author's document may never have been fetched (fetch_post goes on without it): it is
    fetched now, and a reply that could reach no one is refused rather than published."""
    if not in_reply_to:
        return []
    parent = await Post.filter(ap_id=in_reply_to).first()
    if parent is None:
        raise OutboxError(f"cannot reply to {in_reply_to}: we do not have that post")
    if parent.local:
        return []
    author = await RemoteActor.filter(uri=parent.author_uri).first()
    if author is None:
        try:
            author = await fetch_actor(inst, parent.author_uri)
        except ActorFetchError as exc:
            raise OutboxError(f"could not reach the author of the post you reply to: {exc.reason}") from exc
    if author.deleted_at is not None:  # the account is gone: nobody left to tell
        return []
    return [author] if author not in mentioned else []


def _check_appeal(inst: Instance, appeal: bool, appeal_until: datetime | None) -> datetime | None:
    """A deadline only makes sense on an appeal; a naive one is taken as UTC."""
    if appeal_until is None:
        return None
    if not appeal:
        raise OutboxError("a deadline is only for an appeal for declarations of solidarity")
    if appeal_until.tzinfo is None:
        appeal_until = appeal_until.replace(tzinfo=timezone.utc)
    # A day's grace: a form sends a date, and "today" must still be accepted.
    if appeal_until < inst.now() - timedelta(days=1):
        raise OutboxError("the deadline is already past")
    return appeal_until


async def publish(inst: Instance, local: LocalActor, texts: dict[str, str], *, summary: str | None = None,
                  in_reply_to: str | None = None, appeal: bool = False, appeal_until: datetime | None = None,
                  media: list[Media] | None = None) -> Post:
    """`texts` maps language -> plain text, the primary language first. An `appeal` asks for
    declarations of solidarity (replies) and co-signatures (boosts, likes), until `appeal_until`."""
    texts = _check_texts(texts)
    appeal_until = _check_appeal(inst, appeal, appeal_until)
    media = await _check_media(media or [], None)
    content_map, tags, mentioned = await _render(inst, texts)
    parent_author = await _parent_author(inst, in_reply_to, mentioned)
    ap_id = inst.urls.statement(new_id())
    author = inst.uri_of(local)
    primary = next(iter(content_map))
    now = inst.now()
    cc = [inst.urls.followers(local.username)] + [a.uri for a in mentioned]
    async with in_transaction():
        post = await Post.create(
            ap_id=ap_id, local=True, type="Note", author_uri=author, url=ap_id, summary=summary or "",
            content=content_map[primary], content_map=content_map, language=primary, in_reply_to=in_reply_to,
            public=True, to=[PUBLIC], cc=cc, tags=tags, sensitive=bool(summary), published=now,
            extra={"languages": list(content_map)}, appeal=bool(appeal), appeal_until=appeal_until,
        )
        if media:
            await _attach(inst, post, media)
            await post.save(update_fields=["attachments"])
        note = statement_json(inst, post)
        create = {"@context": note.pop("@context"), "id": f"{ap_id}/activity", "type": "Create", "actor": author,
                  "published": iso_datetime(now), "to": note["to"], "cc": note["cc"], "object": note}
        await emit(inst, local, create, inboxes=await _audience(local, mentioned + parent_author), listed=True)
    inst.poke_delivery()
    return post


MAX_ATTACHMENTS = 4  # Mastodon shows no more (Status::MEDIA_ATTACHMENTS_LIMIT)


async def _check_media(media: list[Media], post: Post | None) -> list[Media]:
    """Our uploads, fresh from the database, not attached to another statement."""
    if len(media) > MAX_ATTACHMENTS:
        raise OutboxError(f"at most {MAX_ATTACHMENTS} attachments")
    rows = {m.id: m for m in await Media.filter(id__in=[m.id for m in media], local=True)}
    checked = []
    for n, item in enumerate(media, 1):
        row = rows.get(item.id)
        if row is None or row.post_id not in (None, post.id if post else None):
            raise OutboxError(f"attachment {n} is not an upload waiting for this statement")
        if row not in checked:
            checked.append(row)
    return checked


async def _attach(inst: Instance, post: Post, media: list[Media]) -> list[Media]:
    """Call in the transaction that saves `post`. Returns the uploads no longer attached, for
    the caller to discard once committed (a removed photo should stop being served)."""
    ids = [m.id for m in media]
    dropped = [m for m in await Media.filter(post_id=post.id) if m.id not in ids]
    if dropped:
        await Media.filter(id__in=[m.id for m in dropped]).update(post_id=None)
    if ids:
        # Claimed here, in the transaction, not on the word of `_check_media`: two submissions
        # of one form (or a prune) may have raced since. Only rows still free (or already ours)
        # are taken; if any is not, the OutboxError rolls the whole statement back.
        claimed = await (Media.filter(Q(post_id__isnull=True) | Q(post_id=post.id), id__in=ids, local=True)
                         .update(post_id=post.id, language=post.language))
        if claimed != len(ids):
            raise OutboxError("an attachment is no longer available or already belongs to another statement "
                              "(was the form sent twice?)")
    post.attachments = [media_attachment(m, inst.urls.media) for m in media]
    return dropped


async def _own_post(inst: Instance, local: LocalActor, ap_id: str) -> Post:
    post = await Post.filter(ap_id=ap_id, local=True, author_uri=inst.uri_of(local)).first()
    if post is None:
        raise OutboxError(f"no statement {ap_id}")
    return post


async def edit(inst: Instance, local: LocalActor, ap_id: str, texts: dict[str, str], *, summary: str | None = None,
               media: list[Media] | None = None) -> Post:
    """`media` None keeps the attachments; a list (even empty) replaces them."""
    texts = _check_texts(texts)
    post = await _own_post(inst, local, ap_id)
    media = await _check_media(media, post) if media is not None else None
    content_map, tags, mentioned = await _render(inst, texts)
    primary = next(iter(content_map))
    # Actors mentioned before the edit but not after still hold the old text: tell them too.
    before = [t["href"] for t in post.tags if t.get("type") == "Mention"]
    audience = mentioned + [a for a in await RemoteActor.filter(uri__in=before) if a not in mentioned]
    async with in_transaction():
        post.content_map, post.content, post.language, post.tags = content_map, content_map[primary], primary, tags
        post.extra = {**post.extra, "languages": list(content_map)}
        post.cc = [inst.urls.followers(local.username)] + [a.uri for a in mentioned]
        post.summary, post.sensitive, post.updated = summary or "", bool(summary), inst.now()
        dropped = await _attach(inst, post, media) if media is not None else []
        await post.save()
        note = statement_json(inst, post)
        update = {"@context": note.pop("@context"), "id": inst.urls.activity(new_id()), "type": "Update",
                  "actor": post.author_uri, "published": iso_datetime(post.updated), "to": note["to"], "cc": note["cc"],
                  "object": note}
        await emit(inst, local, update, inboxes=await _audience(local, audience))
    inst.poke_delivery()
    if dropped:
        await out_media.discard(inst, dropped)
    return post


async def delete(inst: Instance, local: LocalActor, ap_id: str) -> None:
    post = await _own_post(inst, local, ap_id)
    author = post.author_uri
    mentioned = [t["href"] for t in post.tags if t.get("type") == "Mention"]
    remote = await RemoteActor.filter(uri__in=mentioned)
    uploads = await Media.filter(post_id=post.id, local=True)
    async with in_transaction():
        await Tombstone.update_or_create(ap_id=ap_id, defaults={"author_uri": author, "deleted_at": inst.now()})
        await post.delete()
        # The Create and Updates stay served at their ids, but must stop carrying the deleted text.
        for row in await Activity.filter(object_uri=ap_id, type__in=["Create", "Update"]):
            row.payload = {**row.payload, "object": {"id": ap_id, "type": "Tombstone"}}
            row.listed = False
            await row.save(update_fields=["payload", "listed"])
        activity = {"@context": AS_CONTEXT, "id": f"{ap_id}#delete", "type": "Delete", "actor": author,
                    "to": [PUBLIC], "object": {"id": ap_id, "type": "Tombstone"}}
        await emit(inst, local, activity, inboxes=await _audience(local, remote))
    inst.poke_delivery()
    if uploads:  # after the commit: the files go with the statement
        await out_media.discard(inst, uploads)
