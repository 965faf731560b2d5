"""A meeting served at its id: AP JSON for servers, HTML for browsers at the same URL; its
collections; the union's upcomingEvents, soonest first."""
from __future__ import annotations

from actors.local import get_by_username
from outbox import meetings

AP = {"Accept": "application/activity+json"}


def data(title: str, start: str, end: str, **more) -> dict:
    return {"titles": {"en": title}, "descriptions": {"en": "Agenda"}, "start": start, "end": end,
            "timezone": "Europe/Paris", **more}


async def test_meeting_is_served_as_activity_json_and_html(site):
    client, inst = site
    union = await get_by_username("sud_rail")
    meeting = await meetings.create_meeting(inst, union, data("Plenary", "2026-10-23T09:00", "2026-10-23T17:00",
                                                              online_url="https://meet.example/room"))
    post = await meeting.post
    response = await client.get(post.ap_id, headers=AP)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/activity+json")
    event = response.json()
    assert event["id"] == post.ap_id and event["type"] == "Event"
    assert event["location"] == {"type": "VirtualLocation", "name": "Online", "url": "https://meet.example/room"}
    assert event["isOnline"] is True
    assert {"type": "Link", "mediaType": "text/html", "name": "Website", "href": "https://meet.example/room"} in event["attachment"]
    page = await client.get(post.ap_id, headers={"Accept": "text/html"})
    assert page.status_code == 200 and "text/html" in page.headers["content-type"] and "Plenary" in page.text
    organizers = (await client.get(event["organizers"]["id"], headers=AP)).json()
    assert organizers["orderedItems"] == [inst.urls.actor("sud_rail")]
    attendees = (await client.get(event["attendees"]["id"], headers=AP)).json()
    assert attendees == {"@context": "https://www.w3.org/ns/activitystreams", "id": event["attendees"]["id"],
                         "type": "Collection", "totalItems": 0}
    assert (await client.get(f"{post.ap_id}x", headers=AP)).status_code == 404
    create = (await client.get(f"{post.ap_id}/activity", headers=AP)).json()
    assert create["type"] == "Create" and create["object"]["id"] == post.ap_id


async def test_upcoming_events_ascending_from_the_actor_document(site):
    client, inst = site
    union = await get_by_username("sud_rail")
    late = await meetings.create_meeting(inst, union, data("Late", "2026-12-01T09:00", "2026-12-01T12:00"))
    soon = await meetings.create_meeting(inst, union, data("Soon", "2026-10-01T09:00", "2026-10-01T12:00"))
    gone = await meetings.create_meeting(inst, union, data("Off", "2026-11-01T09:00", "2026-11-01T12:00"))
    await meetings.cancel_meeting(inst, union, gone)
    actor = (await client.get(inst.urls.actor("sud_rail"), headers=AP)).json()
    assert actor["upcomingEvents"] == inst.urls.upcoming_events("sud_rail")
    assert any(isinstance(c, dict) and "upcomingEvents" in c for c in actor["@context"])
    collection = (await client.get(actor["upcomingEvents"], headers=AP)).json()
    assert collection["type"] == "OrderedCollection" and collection["totalItems"] == 2
    assert collection["orderedItems"] == [(await soon.post).ap_id, (await late.post).ap_id]
    assert (await client.get("/actors/nobody/upcoming_events", headers=AP)).status_code == 404
