"""Update and Delete of remote actors."""
from __future__ import annotations

from actors.instance import Instance
from actors.models import Follower, Following, RemoteActor
from actors.remote import ActorFetchError, store_actor
from content import library
from content.models import Interaction, Post
from inbox.handlers import Ignored


async def on_update_actor(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    doc = activity["object"]
    try:
        # Same origin as the verified signer (rules checked object id == actor), so the copy is theirs.
        await store_actor(inst, signer.uri, doc)
    except ActorFetchError as exc:
        raise Ignored(exc.reason) from exc
    return "profile updated"


async def on_delete_actor(inst: Instance, activity: dict, signer: RemoteActor) -> str:
    await library.forget_remote(await Post.filter(author_uri=signer.uri).values_list("id", flat=True))
    await Post.filter(author_uri=signer.uri).delete()
    await Interaction.filter(actor_uri=signer.uri).delete()
    await Follower.filter(remote=signer).delete()
    await Following.filter(remote=signer).delete()
    signer.deleted_at = inst.now()
    signer.key_id = ""
    await signer.save(update_fields=["deleted_at", "key_id"])
    return "actor and their content removed"
