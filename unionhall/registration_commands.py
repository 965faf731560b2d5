"""`unionhall meeting register URL` / `meeting withdraw URL` / `meeting registered`: this union's
registrations to other unions' meetings (the Join goes out; the organiser's answer arrives later)."""
from __future__ import annotations

import argparse

from actors.instance import Instance
from actors.models import LocalActor
from content.models import Meeting, Post, Registration
from content.registrations import ACTIVE_STATES
from outbox import registrations
from unionhall.commands import CommandError, _print_rows


def add_parsers(msub: argparse._SubParsersAction) -> None:
    s = msub.add_parser("register", help="register this union for another union's meeting (sends a Join)")
    s.add_argument("url", help="the meeting's URL (its ActivityPub id)")
    s.add_argument("--delegates", type=int, default=1, help="how many delegates (1 to 50, default 1)")
    s.add_argument("--message", default="", help="a message for the organisers")
    s = msub.add_parser("withdraw", help="withdraw this union's registration for a meeting")
    s.add_argument("url", help="the meeting's URL")
    msub.add_parser("registered", help="our registrations to other unions' meetings and their state")


async def _ours(url: str) -> Registration:
    post = await Post.filter(ap_id=url).first()
    meeting = await Meeting.filter(post_id=post.id).first() if post else None
    reg = await Registration.filter(meeting_id=meeting.id, local=True, state__in=ACTIVE_STATES).order_by(
        "-id").first() if meeting else None
    if reg is None:
        raise CommandError(f"we have no registration for {url}")
    return reg


async def run(inst: Instance, union: LocalActor, args: argparse.Namespace) -> None:
    action = args.meeting_command
    try:
        if action == "register":
            reg = await registrations.register_for(inst, union, args.url, delegates=args.delegates,
                                                   message=args.message)
            print(f"{reg.state}: {reg.delegates} delegate(s) for {args.url}")
        elif action == "withdraw":
            await registrations.withdraw(inst, union, await _ours(args.url))
            print(f"withdrawn from {args.url}")
        else:
            rows = []
            for reg in await Registration.filter(local=True).order_by("-created_at", "-id").limit(500):
                post = await Post.get(id=(await Meeting.get(id=reg.meeting_id)).post_id)
                rows.append((post.ap_id, reg.delegates, reg.state, reg.reason))
            _print_rows(rows, ("MEETING", "DELEGATES", "STATE", "REASON"))
    except registrations.RegistrationError as exc:
        raise CommandError(str(exc)) from exc
