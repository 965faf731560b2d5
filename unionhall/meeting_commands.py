"""`unionhall meeting …`: announce, list, reschedule, postpone and cancel meetings, and read who
registered (CSV for a spreadsheet). Bad input exits 2 with the reason and stores nothing."""
from __future__ import annotations

import argparse

from actors.instance import Instance
from content.meetings import MeetingError, input_of, local_times, ordered_names
from content.registrations import CSV_COLUMNS, registrations_csv
from content.models import Meeting, Post, Registration
from outbox import meetings as outbox_meetings
from unionhall.commands import CommandError, _print_rows, _union, opened
from unionhall import registration_commands
from unionhall.settings import Settings


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("meeting", help="announce and manage meetings (add, list, reschedule, postpone, cancel, "
                                       "registrations)")
    msub = p.add_subparsers(dest="meeting_command", required=True, metavar="ACTION")

    s = msub.add_parser("add", help="announce a meeting to our followers and print its id")
    s.add_argument("--title", required=True, help="the title, plain text")
    s.add_argument("--title-lang", default="en", help="language of --title and --description (default: en)")
    s.add_argument("--also", nargs=2, action="append", metavar=("LANG", "TITLE"), default=[],
                   help="the title in another language (repeatable)")
    s.add_argument("--description", default="", help="what the meeting is about, plain text")
    s.add_argument("--also-description", nargs=2, action="append", metavar=("LANG", "TEXT"), default=[],
                   help="the description in another language (repeatable)")
    _times(s, required=True)
    s.add_argument("--tz", required=True, help="IANA time zone of --start/--end, e.g. Europe/Paris")
    s.add_argument("--place", default="", help='name of the place, e.g. "Bourse du Travail"')
    s.add_argument("--address", default="", help="street address, one line")
    s.add_argument("--online", default="", metavar="URL", help="online link (alone: an online meeting; "
                                                                "with --place: hybrid)")
    s.add_argument("--capacity", default=None, help="most delegates accepted (default: no limit)")
    s.add_argument("--join", default="free", choices=["free", "approval", "external", "none"],
                   help="registration: free (accepted at once), approval, external (--external-url), none")
    s.add_argument("--external-url", default="", help="where to register when --join external")
    s.add_argument("--kind", default="other", help="thematic, sector, plenary, international or other")
    s.add_argument("--theme", default="", help='theme or sector, e.g. "women\'s rights"')
    s.add_argument("--opens", default=None, help="registration opens (YYYY-MM-DDTHH:MM, in --tz)")
    s.add_argument("--closes", default=None, help="registration closes (YYYY-MM-DDTHH:MM, in --tz)")

    msub.add_parser("list", help="our meetings, soonest first")
    for name, text in (("cancel", "cancel a meeting (it stays visible, marked cancelled)"),
                       ("postpone", "postpone a meeting until a new date is set")):
        s = msub.add_parser(name, help=text)
        s.add_argument("id", help="the meeting's id (URL) as printed by `meeting add`")
    s = msub.add_parser("reschedule", help="move a meeting to new dates")
    s.add_argument("id")
    _times(s, required=True)
    s.add_argument("--tz", default=None, help="time zone of the new times (default: the meeting's)")
    s = msub.add_parser("registrations", help="who registered (web form and fediverse)")
    s.add_argument("id")
    s.add_argument("--csv", action="store_true", help=f"CSV with the columns {', '.join(CSV_COLUMNS)}")
    # register / withdraw / registered: our registrations to peers' meetings (REGISTRATION helper)
    registration_commands.add_parsers(msub)


def _times(s: argparse.ArgumentParser, *, required: bool) -> None:
    s.add_argument("--start", required=required, help="local start, e.g. 2026-09-23T09:00")
    s.add_argument("--end", required=required, help="local end, e.g. 2026-09-26T17:00")


def _add_input(args: argparse.Namespace) -> dict:
    titles = {args.title_lang: args.title}
    for lang, title in args.also:
        if lang in titles:
            raise CommandError(f"the title in {lang} is given twice")
        titles[lang] = title
    descriptions = {args.title_lang: args.description} if args.description else {}
    for lang, text in args.also_description:
        descriptions[lang] = text
    return {"titles": titles, "descriptions": descriptions, "start": args.start, "end": args.end,
            "timezone": args.tz, "place_name": args.place, "address": args.address, "online_url": args.online,
            "capacity": args.capacity, "join_mode": args.join, "external_url": args.external_url,
            "kind": args.kind, "theme": args.theme, "registration_opens": args.opens,
            "registration_closes": args.closes}


async def _find(inst: Instance, ident: str) -> tuple[Post, Meeting]:
    ap_id = ident if ident.startswith(("http://", "https://")) else inst.urls.meeting(ident)
    post = await Post.filter(ap_id=ap_id, local=True, type="Event").first()
    meeting = await Meeting.filter(post_id=post.id).first() if post else None
    if meeting is None:
        raise CommandError(f"no meeting of ours with the id {ident}")
    return post, meeting


async def run(settings: Settings, args: argparse.Namespace) -> int:
    action = args.meeting_command
    async with opened(settings) as inst:
        union = await _union(inst)
        try:
            if action in ("register", "withdraw", "registered"):
                await registration_commands.run(inst, union, args)
            elif action == "add":
                meeting = await outbox_meetings.create_meeting(inst, union, _add_input(args))
                print((await Post.get(id=meeting.post_id)).ap_id)
            elif action == "list":
                await _list(inst)
            elif action in ("cancel", "postpone"):
                _, meeting = await _find(inst, args.id)
                change = outbox_meetings.cancel_meeting if action == "cancel" else outbox_meetings.postpone_meeting
                await change(inst, union, meeting)
                print(f"{'cancelled' if action == 'cancel' else 'postponed'} {args.id}")
            elif action == "reschedule":
                post, meeting = await _find(inst, args.id)
                data = input_of(post, meeting)
                # Only the dates change; the rest is what is stored (registration dates stay absolute).
                moved = {**data.__dict__, "start": args.start, "end": args.end, "timezone": args.tz or data.timezone}
                await outbox_meetings.update_meeting(inst, union, meeting, moved)
                print(f"rescheduled {args.id}")
            elif action == "registrations":
                _, meeting = await _find(inst, args.id)
                # The admin page's rows and order (web/admin_registrations.py), the same CSV.
                rows = await Registration.filter(meeting_id=meeting.id, local=False).order_by("created_at", "id")
                if args.csv:
                    print(registrations_csv(rows), end="")
                else:
                    _print_rows([(r.name or r.actor_uri or "", r.union_name, r.email, r.delegates, r.via, r.state)
                                 for r in rows], ("NAME", "UNION", "EMAIL", "DELEGATES", "VIA", "STATE"))
        except MeetingError as exc:
            raise CommandError(str(exc)) from exc
    return 0


async def _list(inst: Instance) -> None:
    rows = []
    for meeting in await Meeting.filter(local=True).order_by("start", "id"):
        post = await Post.get(id=meeting.post_id)
        start, _ = local_times(meeting)
        title = next(iter(ordered_names(post, meeting).values()), "")
        rows.append((post.ap_id, f"{start:%Y-%m-%d %H:%M} {meeting.timezone}", meeting.status, meeting.kind, title))
    _print_rows(rows, ("ID", "START", "STATUS", "KIND", "TITLE"))
