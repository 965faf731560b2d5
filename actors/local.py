"""Local actors: the union (Organization) and the instance actor (Application)."""
from __future__ import annotations

import re
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from actors.models import LocalActor, Login
from federation.httpsig import generate_private_key_pem, public_key_pem_from_private

USERNAME = re.compile(r"^[a-z0-9_]{1,30}$")
_hasher = PasswordHasher()


class ActorError(ValueError):
    pass


async def create_actor(*, username: str, kind: str, name: str, summary: str = "", now: datetime) -> LocalActor:
    if kind == "union" and not USERNAME.match(username):
        raise ActorError("the handle may use lowercase letters, digits and _ (at most 30)")
    if await LocalActor.filter(username=username).exists():
        raise ActorError(f"an actor named {username!r} already exists")
    private = generate_private_key_pem()
    return await LocalActor.create(
        username=username, kind=kind, name=name, summary=summary,
        private_key_pem=private, public_key_pem=public_key_pem_from_private(private),
        created_at=now, updated_at=now,
    )


async def get_union() -> LocalActor | None:
    return await LocalActor.filter(kind="union").order_by("id").first()


async def get_by_username(username: str) -> LocalActor | None:
    return await LocalActor.filter(username=username).first()


async def create_login(*, username: str, password: str, actor: LocalActor, now: datetime) -> Login:
    return await Login.create(username=username, password_hash=_hasher.hash(password), actor=actor, created_at=now)


async def check_login(username: str, password: str) -> Login | None:
    login = await Login.filter(username=username).first()
    if login is None:
        # Hash anyway so a missing user costs the same time as a wrong password.
        _hasher.hash(password)
        return None
    try:
        _hasher.verify(login.password_hash, password)
    except VerifyMismatchError:
        return None
    return login
