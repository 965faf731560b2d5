"""Issue 5's acceptance with the real Mastodon.py client against two running instances.

A's union logs in the way a Mastodon app does it: the app is registered with
`Mastodon.create_app`, the staff member logs in through A's real authorize page (an HTTP
client fills its forms) and the code is exchanged with PKCE (S256). Then, through Mastodon.py
only: verify credentials, resolve B's union by handle and follow it (B approves followers by
hand: `requested` until B's Accept arrives, then `following`), post a statement with an image
and a language, see B's statement in the home timeline, boost and favourite it, page the
timeline through the Link header, and get the "mention" notification when B replies (B's
staff reply with Mastodon.py too, through B's own API and a token from `unionhall app create`).
B is driven through its CLI and API and looked at through its own database, never our objects.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import pytest_asyncio
from mastodon import Mastodon
from PIL import Image

from tests.e2e.harness import destroy, eventually, make_instance

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(180)]

PASSWORD = "correct horse battery"  # what make_instance gives `init`; the login name is "admin"
SCOPES = ["read", "write", "follow", "push"]
CALLBACK = "http://127.0.0.1/cb"  # never served: the code is read from the 302's Location
OOB = "urn:ietf:wg:oauth:2.0:oob"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pair(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mastodon_client")
    a = await make_instance(tmp, "a", "solidaires", "Union syndicale Solidaires")
    b = await make_instance(tmp, "b", "conlutas", "CSP-Conlutas", UNIONHALL_APPROVE_FOLLOWERS="1")
    for inst in (a, b):
        inst.start()
    try:
        yield a, b
    finally:
        for inst in (a, b):
            await destroy(inst)


# --- the authorize page, driven as a person in a browser would ----------------------------

@dataclass
class Form:
    action: str
    method: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (type, name, value)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # (name, value, label)


class FormReader(HTMLParser):
    """The page's forms with their inputs and submit buttons, and the text of any id="code"."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.code_parts: list[str] | None = None
        self.code_value: str | None = None
        self._button: list | None = None
        self._code_depth = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: (v or "") for k, v in attrs}
        if self._code_depth:
            self._code_depth += 1
        if a.get("id") == "code":
            self.code_value = a.get("value") or None
            self.code_parts, self._code_depth = [], 1
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms:
            kind = a.get("type", "text").lower()
            if kind in ("submit", "image"):
                self.forms[-1].buttons.append((a.get("name", ""), a.get("value", ""), a.get("value", "")))
            elif a.get("name"):
                if kind in ("checkbox", "radio") and "checked" not in a:
                    return
                self.forms[-1].fields.append((kind, a["name"], a.get("value", "")))
        elif tag == "button" and self.forms and a.get("type", "submit").lower() == "submit":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button[2] += data
        if self.code_parts is not None and self._code_depth:
            self.code_parts.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None and self.forms:
            self.forms[-1].buttons.append(tuple(x.strip() for x in self._button))
            self._button = None
        if self._code_depth:
            self._code_depth -= 1

    @property
    def code(self) -> str | None:
        text = "".join(self.code_parts or []).strip()
        return self.code_value or text or None


def _fill(form: Form) -> dict[str, str]:
    """Hidden fields as served (csrf, client_id, code_challenge…), the login name and password,
    and the approving submit button when there are several (Authorize, not Deny)."""
    data: dict[str, str] = {}
    for kind, name, value in form.fields:
        if kind == "password":
            value = PASSWORD
        elif kind in ("text", "email", "") and any(w in name.lower() for w in ("user", "login", "name", "email")):
            value = "admin"
        data[name] = value
    named = [b for b in form.buttons if b[0]]
    if named:
        approve = [b for b in named if not any(w in (b[1] + b[2]).lower() for w in ("deny", "refuse", "cancel", "reject"))]
        name, value, _ = (approve or named)[0]
        data[name] = value
    return data


def authorize(base: str, url: str, redirect_uri: str) -> tuple[str, dict[str, list[str]]]:
    """Follows the authorize URL through login and consent; returns (code, query of the final redirect)."""
    with httpx.Client(base_url=base, timeout=15, follow_redirects=False) as client:
        response = client.get(url)
        for _ in range(8):
            if response.is_redirect:
                location = urljoin(str(response.url), response.headers["location"])
                if location.startswith(redirect_uri):
                    query = parse_qs(urlsplit(location).query)
                    assert "code" in query, f"redirected without a code: {location}"
                    return query["code"][0], query
                response = client.get(location)
                continue
            assert response.status_code == 200, f"{response.url}: {response.status_code}\n{response.text[:1500]}"
            reader = FormReader()
            reader.feed(response.text)
            if reader.code:
                return reader.code, {}
            posts = [f for f in reader.forms if f.method == "post"]
            assert posts, f"no form to submit on {response.url}:\n{response.text[:1500]}"
            # The login form when there is a password field, else the consent form.
            form = next((f for f in posts if any(k == "password" for k, _, _ in f.fields)), posts[0])
            response = client.post(urljoin(str(response.url), form.action or str(response.url)), data=_fill(form))
        raise AssertionError(f"the authorize flow did not end in a code (last: {response.url})")


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def png(color=(179, 0, 27)) -> bytes:
    image = Image.new("RGB", (64, 32), color)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --- the session shared by the tests, in order --------------------------------------------

@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def session(pair) -> dict:
    """App registration and the PKCE login: what every later test acts through."""
    a, _ = pair
    client_id, client_secret = Mastodon.create_app("Union Hall acceptance", scopes=SCOPES,
                                                   redirect_uris=[CALLBACK, OOB], api_base_url=a.url)
    app = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=a.url)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(12)
    url = app.auth_request_url(redirect_uris=CALLBACK, scopes=SCOPES, state=state, allow_http=True)
    # Mastodon.py 2.x builds no PKCE parameters: they are added as Phanpy sends them.
    url += "&" + httpx.QueryParams({"code_challenge": challenge, "code_challenge_method": "S256"}).__str__()
    assert url.startswith(f"{a.url}/oauth/authorize?"), url
    code, query = authorize(a.url, url, CALLBACK)
    assert query.get("state") == [state], "the state comes back unchanged"
    # Mastodon.py's log_in sends no code_verifier either: the token request is the client's own.
    token = httpx.post(f"{a.url}/oauth/token", timeout=15, data={
        "grant_type": "authorization_code", "code": code, "client_id": client_id, "client_secret": client_secret,
        "redirect_uri": CALLBACK, "code_verifier": verifier, "scope": " ".join(SCOPES)})
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"].lower() == "bearer" and set(body["scope"].split()) == set(SCOPES)
    masto = Mastodon(access_token=body["access_token"], api_base_url=a.url, request_timeout=20)
    return {"masto": masto, "client_id": client_id, "client_secret": client_secret}


async def test_login_verify_credentials_and_instance(pair, session):
    a, _ = pair
    masto: Mastodon = session["masto"]
    me = masto.account_verify_credentials()
    assert me.username == "solidaires" and me.acct == "solidaires"
    assert me.display_name == "Union syndicale Solidaires" and me.url and me.avatar
    assert "compatible; Union Hall" in masto.instance().version
    # Mastodon.py's own code flow too (no PKCE, confidential client), reading the out-of-band page.
    app = Mastodon(client_id=session["client_id"], client_secret=session["client_secret"], api_base_url=a.url)
    code, _ = authorize(a.url, app.auth_request_url(redirect_uris=OOB, scopes=["read"], allow_http=True), OOB)
    app.log_in(code=code, redirect_uri=OOB, scopes=["read"], allow_http=True)
    assert app.account_verify_credentials().id == me.id


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def followed(pair, session) -> dict:
    """A follows B through the API; B holds the request until its admin approves it."""
    a, b = pair
    masto: Mastodon = session["masto"]
    found = masto.search_v2(b.acct, resolve=True)
    accounts = [acc for acc in found.accounts if acc.acct == f"conlutas@{b.host}"]
    assert accounts, f"search did not resolve {b.acct}: {found}"
    target = accounts[0]
    assert target.url and target.display_name == "CSP-Conlutas"
    assert target.locked is True, "B approves followers by hand: its account says so"
    relation = masto.account_follow(target.id)
    session.update(target=target, first_relation=relation)
    request = "SELECT f.state FROM actors_follower f JOIN actors_remote r ON r.id = f.remote_id WHERE r.uri = $1"

    async def b_holds_it():
        return await b.sql(request, a.actor_uri) == [("pending",)]

    await eventually(b_holds_it, what="B holding A's follow request")
    # Still requested while B has not answered (the request waits for the admin).
    session["still_requested"] = masto.account_relationships(target.id)[0]
    b.cli("approve", a.acct)
    # And B follows A (A accepts by itself), so that A's statements reach B.
    b.cli("follow", a.acct)

    async def following():
        rel = masto.account_relationships(target.id)[0]
        return rel if rel.following else None

    session["accepted"] = await eventually(following, what="A following B after B's Accept", timeout=20)
    state = "SELECT f.state FROM actors_following f JOIN actors_remote r ON r.id = f.remote_id WHERE r.uri = $1"

    async def b_follows_a():
        return await b.sql(state, a.actor_uri) == [("accepted",)]

    await eventually(b_follows_a, what="B following A")
    return session


async def test_follow_is_requested_until_the_accept(followed):
    first, pending, accepted = followed["first_relation"], followed["still_requested"], followed["accepted"]
    assert first.id == followed["target"].id
    assert first.requested is True and first.following is False
    assert pending.requested is True and pending.following is False
    assert accepted.following is True and accepted.requested is False


async def test_post_with_image_and_language_reaches_b(pair, followed):
    a, b = pair
    masto: Mastodon = followed["masto"]
    media = masto.media_post(io.BytesIO(png()), mime_type="image/png", description="Piquet de grève à l'aube",
                             file_name="piquet.png")
    assert media.type == "image" and media.url and media.description == "Piquet de grève à l'aube"
    status = masto.status_post("Solidarité avec les grévistes du rail ! #grève", media_ids=[media],
                               language="fr", visibility="public")
    assert status.language == "fr" and status.visibility == "public" and status.account.acct == "solidaires"
    assert len(status.media_attachments) == 1
    attached = status.media_attachments[0]
    assert attached.id == media.id and attached.type == "image" and attached.url.startswith("http")
    image = httpx.get(attached.url, timeout=10)
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    assert masto.status(status.id).uri == status.uri
    followed["image_status"] = status

    # B follows A: the Create reached B with its language and its image.
    await eventually(lambda: b.post_count(ap_id=status.uri), what="B has A's statement")
    (language, attachments), = await b.sql("SELECT language, attachments FROM content_post WHERE ap_id = $1",
                                           status.uri)
    attachments = json.loads(attachments) if isinstance(attachments, str) else attachments
    assert language == "fr" and len(attachments) == 1, attachments
    assert attachments[0]["mediaType"] == "image/png" and attachments[0]["name"] == "Piquet de grève à l'aube"


async def test_b_statement_in_home_timeline_boost_and_favourite(pair, followed):
    a, b = pair
    masto: Mastodon = followed["masto"]
    uri = b.cli("post", "Solidarity with the striking rail workers of Lyon!", "--lang", "en").stdout.strip()

    async def arrived():
        return next((s for s in masto.timeline_home(limit=40) if s.uri == uri), None)

    status = await eventually(arrived, what="B's statement in A's home timeline")
    assert status.account.acct == f"conlutas@{b.host}" and status.language == "en"
    assert status.reblogged is False and status.favourited is False
    wrapper = masto.status_reblog(status.id)
    assert wrapper.reblog is not None and wrapper.reblog.id == status.id and wrapper.reblog.reblogged is True
    assert wrapper.account.acct == "solidaires"
    liked = masto.status_favourite(status.id)
    assert liked.id == status.id and liked.favourited is True and liked.favourites_count >= 1
    again = masto.status(status.id)
    assert again.reblogged is True and again.favourited is True

    interactions = "SELECT kind FROM content_interaction WHERE actor_uri = $1 AND object_uri = $2"

    async def b_has_both():
        kinds = {k for (k,) in await b.sql(interactions, a.actor_uri, uri)}
        return kinds if kinds >= {"announce", "like"} else None

    await eventually(b_has_both, what="B receives A's Announce and Like")
    kinds = {k for (k,) in await b.sql("SELECT kind FROM content_notification WHERE actor_uri = $1", a.actor_uri)}
    assert {"reblog", "favourite"} <= kinds, kinds


async def test_home_timeline_pages_through_the_link_header(pair, followed):
    a, b = pair
    masto: Mastodon = followed["masto"]
    ours = [masto.status_post(f"Communiqué {n}", language="fr").uri for n in range(3)]
    theirs = [b.cli("post", f"Statement {n} from Brazil", "--lang", "pt").stdout.strip() for n in range(2)]

    async def all_arrived():
        uris = {s.uri for s in masto.timeline_home(limit=40)}
        return set(theirs) <= uris

    await eventually(all_arrived, what="B's statements in A's home timeline")
    whole = masto.timeline_home(limit=40)
    page = masto.timeline_home(limit=2)
    pages, seen = 0, []
    while page:
        assert len(page) <= 2
        seen += [s.id for s in page]
        pages += 1
        assert pages < 40, "paging does not end"
        page = masto.fetch_next(page)
    assert len(seen) == len(set(seen)), f"an id came twice: {seen}"
    assert seen == [s.id for s in whole], "paging shows exactly the timeline, in order, none missing"
    keys = [(len(i), i) for i in seen]
    assert keys == sorted(keys, reverse=True), "ids descend as Mastodon orders them (length, then text)"
    assert pages >= 3
    uris = {s.uri for s in whole} | {s.reblog.uri for s in whole if s.reblog}
    assert set(theirs) <= uris
    own_in_home = set(ours) & uris
    assert own_in_home in (set(), set(ours)), "own statements are in home all or none"


async def test_reply_from_b_is_a_mention_notification(pair, followed):
    a, b = pair
    masto: Mastodon = followed["masto"]
    target = masto.status_post("Appel à la grève le 12 !", language="fr")
    await eventually(lambda: b.post_count(ap_id=target.uri), what="B has A's statement")
    # B's staff answer with their own Mastodon app, its token from `unionhall app create` on B.
    created = b.cli("app", "create", "B's bot", "--scopes", "read write follow").stdout
    token = next(line.split(":", 1)[1].strip() for line in created.splitlines() if line.startswith("access_token:"))
    masto_b = Mastodon(access_token=token, api_base_url=b.url, request_timeout=20)
    found = masto_b.search_v2(target.uri, resolve=True, result_type="statuses").statuses
    assert [s.uri for s in found] == [target.uri], found
    answer = masto_b.status_post(f"{a.acct} Toda a solidariedade da CSP-Conlutas!", in_reply_to_id=found[0].id,
                                 language="pt")
    assert answer.in_reply_to_id == found[0].id and answer.mentions[0].acct == f"solidaires@{a.host}"

    async def mentioned():
        for note in masto.notifications(types=["mention"]):
            if note.type == "mention" and note.status is not None and note.status.uri == answer.uri:
                return note
        return None

    note = await eventually(mentioned, what="A's mention notification for B's reply")
    assert note.account.acct == f"conlutas@{b.host}"
    assert note.status.in_reply_to_id == target.id and "solidariedade" in note.status.content
    assert note.status.language == "pt"
    assert [s.id for s in masto.status_context(target.id).descendants] == [note.status.id]
