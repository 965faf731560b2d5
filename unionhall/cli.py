"""The `unionhall` command."""
from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys
from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timezone

from unionhall import app_commands, commands, demo, meeting_commands
from unionhall.config_file import load_settings
from unionhall.settings import Settings


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="unionhall", description="Union Hall: a federated ActivityPub server for trade unions.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("init", help="create the database, the union actor, the instance actor and an admin login")
    s.add_argument("--url", required=True, help="public URL of this instance, e.g. https://rail-union.example")
    s.add_argument("--handle", required=True, help="the union's handle (lowercase letters, digits, _), e.g. sud_rail")
    s.add_argument("--name", required=True, help='display name, e.g. "SUD-Rail"')
    s.add_argument("--summary", default="", help="a short description of the union (HTML allowed)")
    s.add_argument("--admin", default="admin", help="admin login name (default: admin)")
    s.add_argument("--password", default=None, help="admin password (default: generated and printed)")
    s.add_argument("--approve-followers", action="store_true", help="approve each new follower by hand")
    s.add_argument("--sector", default="", help='the union\'s sector, e.g. "Railways"')
    s.add_argument("--country", default="", help="the union's country: a two-letter ISO 3166 code (FR) or a name")

    s = sub.add_parser("serve", help="run the web app and the delivery worker in one process")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--no-worker", action="store_true", help="web only (run `unionhall worker` separately)")

    sub.add_parser("worker", help="run the delivery worker and inbox processor alone (scale-out)")
    sub.add_parser("demo", help="fill a fresh instance with a demo profile and multilingual statements")

    s = sub.add_parser("follow", help="follow another union or any fediverse account")
    s.add_argument("handle", help="@name@host")
    s = sub.add_parser("unfollow", help="stop following an account")
    s.add_argument("handle", help="@name@host")

    s = sub.add_parser("post", help="publish a public statement and print its id")
    s.add_argument("text", help="the text (hashtags and @name@host mentions are linked)")
    s.add_argument("--lang", default="en", help="language code of the text (default: en)")
    s.add_argument("--also", nargs=2, action="append", metavar=("LANG", "TEXT"), default=[],
                   help="the same statement in another language (repeatable)")
    s.add_argument("--summary", default=None, help="content warning / subject line")
    s.add_argument("--appeal", action="store_true", help="an appeal for declarations of solidarity")
    s.add_argument("--until", type=_deadline, default=None, metavar="YYYY-MM-DD",
                   help="the appeal's deadline (a date: the end of that day, UTC; or an ISO date-time)")

    s = sub.add_parser("edit", help="replace the text of a statement")
    s.add_argument("id", help="the statement's id (URL) as printed by `post`")
    s.add_argument("text")
    s.add_argument("--lang", default="en")
    s.add_argument("--also", nargs=2, action="append", metavar=("LANG", "TEXT"), default=[])
    s.add_argument("--summary", default=None)
    s = sub.add_parser("delete", help="delete a statement (followers are told)")
    s.add_argument("id")

    for name, text in (("boost", "cross-post (boost) a post to our followers"), ("unboost", "withdraw a boost"),
                       ("like", "favourite a post"), ("unlike", "withdraw a favourite")):
        s = sub.add_parser(name, help=text)
        s.add_argument("url", help="the post's id (URL)")

    s = sub.add_parser("deliveries", help="pending / delivered / failed deliveries per host")
    s.add_argument("--retry", metavar="HOST", default=None,
                   help="the host is back: retry its pending deliveries now (host as listed, e.g. rail.example)")
    s.add_argument("--post", metavar="ID", default=None,
                   help="one statement: which instances have it, which are pending or failed, and why")
    sub.add_parser("followers", help="list followers and pending follow requests")
    sub.add_parser("following", help="list the accounts this union follows")
    for name, text in (("approve", "accept a pending follow request"), ("reject", "refuse a pending follow request")):
        s = sub.add_parser(name, help=text)
        s.add_argument("handle", help="@name@host of the requester")

    s = sub.add_parser("block", help="refuse everything from a domain (and its subdomains)")
    s.add_argument("domain")
    s.add_argument("--reason", default="")
    s = sub.add_parser("unblock", help="lift a domain block")
    s.add_argument("domain")
    sub.add_parser("blocks", help="list domain blocks")
    meeting_commands.add_parser(sub)
    app_commands.add_parser(sub)
    return p


def _deadline(value: str) -> datetime:
    try:
        if len(value) == 10:  # a date: the appeal stays open the whole day
            return datetime.combine(date.fromisoformat(value), time(23, 59, 59), tzinfo=timezone.utc)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD) or ISO date-time: {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _texts(args) -> dict[str, str]:
    texts = {args.lang: args.text}
    for lang, text in args.also:
        texts[lang] = text
    return texts


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {"url": args.url.rstrip("/")} if args.command == "init" else {}
    settings = load_settings(**overrides)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        return commands.serve(settings, args.host, args.port, with_workers=not args.no_worker)
    runner: Callable[[Settings], Awaitable[int]]
    if args.command == "init":
        password = args.password or secrets.token_urlsafe(12)
        runner = lambda s: commands.init(s, handle=args.handle, name=args.name, summary=args.summary,  # noqa: E731
                                         admin=args.admin, password=password, approve=args.approve_followers,
                                         sector=args.sector, country=args.country)
    elif args.command == "demo":
        runner = demo.run
    elif args.command == "worker":
        runner = commands.worker
    elif args.command in ("post", "edit"):
        texts = _texts(args)
        runner = (  # noqa: E731
            (lambda s: commands.post(s, texts, args.summary, appeal=args.appeal, until=args.until))
            if args.command == "post" else (lambda s: commands.edit(s, args.id, texts, args.summary)))
    elif args.command == "meeting":
        runner = lambda s: meeting_commands.run(s, args)  # noqa: E731
    elif args.command == "app":
        runner = lambda s: app_commands.run(s, args)  # noqa: E731
    elif args.command == "deliveries" and args.post:
        runner = lambda s: commands.post_deliveries(s, args.post)  # noqa: E731
    else:
        target = getattr(args, "handle", None) or getattr(args, "url", None) or getattr(args, "id", None) \
            or getattr(args, "domain", None) or getattr(args, "retry", None)
        runner = lambda s: commands.simple(s, args.command, target, reason=getattr(args, "reason", ""))  # noqa: E731
    try:
        return asyncio.run(runner(settings))
    except commands.CommandError as exc:
        print(f"unionhall {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
