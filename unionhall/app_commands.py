"""`unionhall app create NAME`: the development settings page from a shell. Registers an
application owned by a staff login and prints its client id, secret and an access token,
once (only their hashes are stored)."""
from __future__ import annotations

import argparse

from tortoise.transactions import in_transaction

from actors import oauth
from actors.models import Login
from unionhall.commands import CommandError, _union, opened
from unionhall.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("app", help="applications for scripts and bots using the Mastodon API (create)")
    asub = p.add_subparsers(dest="app_command", required=True, metavar="ACTION")
    s = asub.add_parser("create", help="register an application and print its client id, secret and access token")
    s.add_argument("name", help='the application\'s name, e.g. "Press bot"')
    s.add_argument("--scopes", default="read", help='space-separated scopes (default: read), e.g. "read write follow"')
    s.add_argument("--login", default=None, help="the staff login the token acts as (default: the first one)")
    s.add_argument("--redirect-uri", default=oauth.OOB, help=f"redirect URI(s), space-separated (default: {oauth.OOB})")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.app_command == "create":
        return await create(settings, name=args.name, scopes=args.scopes, login=args.login,
                            redirect_uri=args.redirect_uri)
    raise CommandError(f"unknown action {args.app_command}")


async def create(settings: Settings, *, name: str, scopes: str, login: str | None, redirect_uri: str) -> int:
    async with opened(settings) as inst:
        union = await _union(inst)
        logins = Login.filter(actor=union)
        owner = await (logins.filter(username=login) if login else logins).order_by("id").first()
        if owner is None:
            raise CommandError(f"no login {login!r} for @{union.username}" if login
                               else f"@{union.username} has no login: run `unionhall init`")
        try:
            async with in_transaction():  # the app and its token together, or neither
                made = await oauth.register_app(name=name, redirect_uris=redirect_uri, scopes=scopes, owner=owner,
                                                now=inst.now())
                issued = await oauth.issue_for_owner(made.app, owner, inst.now())
        except oauth.OAuthError as exc:
            raise CommandError(exc.description) from exc
    print(f"client_id: {made.app.client_id}")
    print(f"client_secret: {made.client_secret}")
    print(f"access_token: {issued.access_token}")
    print(f"scopes: {made.app.scopes}")
    print("(shown only once: only their hashes are stored)")
    return 0
