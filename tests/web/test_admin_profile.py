"""The admin edits the union's public profile: the page, the actor document and the followers'
servers (an Update with one delivery per follower inbox) all follow; bad input saves nothing."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import pytest

from actors.local import get_by_username
from actors.models import Follower, FollowState, LocalActor, RemoteActor
from federation.models import Delivery
from outbox.models import Activity

CSRF = re.compile(r'<input type="hidden" name="csrf" value="([^"]+)">')
AP = {"Accept": "application/activity+json"}


async def follower(union: LocalActor, name: str, domain: str, *, state: str = FollowState.ACCEPTED) -> Follower:
    remote = await RemoteActor.create(uri=f"https://{domain}/users/{name}", domain=domain, username=name,
                                      inbox=f"https://{domain}/users/{name}/inbox", shared_inbox=f"https://{domain}/inbox",
                                      fetched_at=datetime.now(timezone.utc))
    return await Follower.create(local=union, remote=remote, follow_id=f"https://{domain}/follows/{name}",
                                 state=state, created_at=datetime.now(timezone.utc))


def form(token: str, **fields: str) -> dict[str, str]:
    data = {"csrf": token, "name": "SUD-Rail", "summary": "", "sector": "", "country": ""}
    data.update(fields)
    return data


FULL = dict(name="SUD-Rail", summary="Rank-and-file rail workers.\n\nWe organise across borders. #rail",
            sector="Railways", country="fr",
            link_label0="Website", link_url0="https://sudrail.example/",
            link_label1="Network", link_url1="www.laboursolidarity.example/en",
            link_label2="", link_url2="", link_label3="", link_url3="")


async def test_editing_the_profile_shows_it_everywhere_and_tells_followers(admin):
    client, inst, union, token = admin
    await follower(union, "rosa", "a.example")
    await follower(union, "karl", "a.example")  # same server: one delivery to its shared inbox
    await follower(union, "emma", "b.example")
    await follower(union, "asker", "c.example", state=FollowState.PENDING)  # not a follower yet

    response = await client.post("/admin/profile", data=form(token, **FULL))
    assert response.status_code == 303 and response.headers["location"] == "/admin/profile?done=saved"

    stored = await LocalActor.get(id=union.id)
    assert (stored.sector, stored.country) == ("Railways", "FR")
    assert stored.links == [{"name": "Website", "url": "https://sudrail.example/"},
                            {"name": "Network", "url": "https://www.laboursolidarity.example/en"}]
    assert stored.summary.startswith("<p>Rank-and-file rail workers.</p><p>We organise across borders.")

    page = await client.get("/@sud_rail")
    assert page.status_code == 200
    facts = dict(re.findall(r'<div class="fact"><dt>(.*?)</dt><dd>(.*?)</dd></div>', page.text))
    assert facts["Sector"] == "Railways" and facts["Country"] == "France"
    assert facts["Website"] == ('<a href="https://sudrail.example/" rel="me nofollow noopener noreferrer" '
                                'translate="no">sudrail.example</a>')
    assert "laboursolidarity.example/en</a>" in facts["Network"]
    assert "<p>We organise across borders." in page.text

    actor = (await client.get("/actors/sud_rail", headers=AP)).json()
    context = actor["@context"][2]
    assert context["PropertyValue"] == "schema:PropertyValue" and context["value"] == "schema:value"
    fields = {f["name"]: f for f in actor["attachment"]}
    assert all(f["type"] == "PropertyValue" for f in actor["attachment"])
    assert list(fields) == ["Sector", "Country", "Website", "Network"]
    assert fields["Sector"]["value"] == "Railways" and fields["Country"]["value"] == "France"
    website = fields["Website"]["value"]
    assert 'href="https://sudrail.example/"' in website and 'rel="me nofollow noopener noreferrer"' in website
    assert 'target="_blank"' in website
    assert actor["summary"] == stored.summary

    update = await Activity.get(type="Update")
    assert update.payload["actor"] == actor["id"] and update.payload["object"]["id"] == actor["id"]
    assert update.payload["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert update.payload["object"]["attachment"] == actor["attachment"]
    assert update.payload["@context"] == actor["@context"]
    inboxes = sorted(d.inbox for d in await Delivery.filter(envelope__activity_id=update.ap_id))
    assert inboxes == ["https://a.example/inbox", "https://b.example/inbox"]
    served = await client.get(update.ap_id.removeprefix("https://ours.example"), headers=AP)
    assert served.status_code == 200 and served.json()["type"] == "Update"

    again = await client.get("/admin/profile?done=saved")
    assert "Profile saved" in again.text
    assert 'value="https://www.laboursolidarity.example/en"' in again.text
    assert 'value="FR"' in again.text and '<span class="meta">France</span>' in again.text
    # The stored description comes back as the text that was typed.
    assert "Rank-and-file rail workers.\n\nWe organise across borders. #rail</textarea>" in again.text


async def test_saving_an_unchanged_form_sends_nothing(admin):
    client, _, _, token = admin
    assert (await client.post("/admin/profile", data=form(token, **FULL))).status_code == 303
    assert await Activity.filter(type="Update").count() == 1
    page = (await client.get("/admin/profile")).text
    # Post the form back exactly as the page shows it.
    values = {m.group(1): html.unescape(m.group(2)) for m in re.finditer(r'name="(\w+)" value="([^"]*)"', page)}
    del values["approve_followers"]  # an unchecked box sends nothing
    values["summary"] = html.unescape(re.search(r'<textarea[^>]*name="summary"[^>]*>(.*?)</textarea>', page, re.S).group(1))
    assert (await client.post("/admin/profile", data=values)).status_code == 303
    assert await Activity.filter(type="Update").count() == 1


@pytest.mark.parametrize("fields, reason", [
    ({"link_label0": "Site", "link_url0": "javascript:alert(1)"}, "only web addresses (http:// or https://)"),
    ({"link_label0": "Site", "link_url0": "data:text/html,<script>alert(1)</script>"}, "not data:"),
    ({"link_label0": "Site", "link_url0": "https://"}, "is not a web address"),
    ({"link_label0": "Site", "link_url0": "https://a b.example/"}, "is not a web address"),
    ({"link_label0": "Site", "link_url0": "ftp://files.example/"}, "not ftp:"),
    ({"link_label0": "Site"}, "has no address"),
    ({"link_label0": "x" * 61, "link_url0": "https://ok.example/"}, "label of link 1 is too long"),
    ({"link_label0": "Site", "link_url0": "https://ok.example/" + "a" * 500}, "address of link 1 is too long"),
    ({"sector": "R" * 101}, "sector is too long"),
    ({"summary": "w " * 3000}, "description is too long"),
    ({"name": "  "}, "display name is empty"),
    ({"name": "SUD\x00Rail"}, "control characters"),
    ({"country": "XX"}, "is not a country code"),
    ({"country": "<script>"}, "is not a country"),
])
async def test_bad_input_is_refused_with_the_reason_and_saves_nothing(admin, fields, reason):
    client, _, union, token = admin
    before = await LocalActor.get(id=union.id)
    data = form(token, **{"sector": "Railways", **fields})
    response = await client.post("/admin/profile", data=data)
    assert response.status_code == 400
    assert html.escape(reason, quote=False) in response.text.replace("&#39;", "'"), response.text
    assert "Nothing was saved" in response.text
    # What was typed is still in the form.
    for key in ("sector", "link_url0", "link_label0"):
        if key in fields and "\x00" not in fields[key]:
            assert f'value="{html.escape(fields[key])}"' in response.text
    after = await LocalActor.get(id=union.id)
    assert (after.name, after.summary, after.sector, after.country, after.links) == (
        before.name, before.summary, before.sector, before.country, before.links)
    assert not await Activity.exists()


async def test_every_reason_is_listed_at_once(admin):
    client, _, _, token = admin
    response = await client.post("/admin/profile", data=form(token, country="ZZ", link_label1="Blog",
                                                             link_url1="javascript:void(0)"))
    assert response.status_code == 400
    assert "is not a country code" in response.text and "link 2: only web addresses" in response.text


async def test_a_form_without_the_csrf_token_is_refused(admin):
    client, _, union, token = admin
    data = form(token, **FULL)
    del data["csrf"]
    response = await client.post("/admin/profile", data=data)
    assert response.status_code == 403
    assert (await LocalActor.get(id=union.id)).sector == ""
    wrong = await client.post("/admin/profile", data={**data, "csrf": "not-the-token"})
    assert wrong.status_code == 403
    assert not await Activity.exists()


async def test_logged_out_the_page_is_unreachable(site):
    client, _ = site
    response = await client.get("/admin/profile")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
    assert (await client.post("/admin/profile", data={"name": "Evil"})).status_code == 403
    assert (await get_by_username("sud_rail")).name == "SUD-Rail"


async def test_manual_approval_switch_is_advertised_and_switching_it_off_accepts_waiting_requests(admin):
    client, inst, union, token = admin
    assert (await client.post("/admin/profile", data=form(token, approve_followers="1"))).status_code == 303
    assert (await LocalActor.get(id=union.id)).manually_approves_followers is True
    assert (await client.get("/actors/sud_rail", headers=AP)).json()["manuallyApprovesFollowers"] is True
    waiting = await follower(union, "asker", "c.example", state=FollowState.PENDING)

    assert (await client.post("/admin/profile", data=form(token))).status_code == 303
    assert (await LocalActor.get(id=union.id)).manually_approves_followers is False
    assert (await client.get("/actors/sud_rail", headers=AP)).json()["manuallyApprovesFollowers"] is False
    assert (await Follower.get(id=waiting.id)).state == FollowState.ACCEPTED
    accept = await Activity.get(type="Accept")
    assert accept.payload["object"]["id"] == waiting.follow_id


async def test_the_server_setting_wins_and_is_said_so(admin):
    client, inst, union, token = admin
    inst.approve_followers = True  # UNIONHALL_APPROVE_FOLLOWERS=1
    assert (await client.get("/actors/sud_rail", headers=AP)).json()["manuallyApprovesFollowers"] is True
    page = await client.get("/admin/profile")
    assert "UNIONHALL_APPROVE_FOLLOWERS" in page.text
    assert re.search(r'name="approve_followers" value="1" checked disabled', page.text)
    waiting = await follower(union, "asker", "c.example", state=FollowState.PENDING)
    # A disabled box sends nothing: that must not read as "switch it off".
    assert (await client.post("/admin/profile", data=form(token, sector="Post"))).status_code == 303
    assert (await LocalActor.get(id=union.id)).sector == "Post"
    assert (await Follower.get(id=waiting.id)).state == FollowState.PENDING
    assert (await client.get("/actors/sud_rail", headers=AP)).json()["manuallyApprovesFollowers"] is True
