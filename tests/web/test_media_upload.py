"""Uploading attachments through the admin composer, publishing them, serving them."""
from __future__ import annotations

import asyncio
import io
import re
import zipfile
from datetime import timedelta

import pytest
from PIL import Image

from actors.instance import Instance
from actors.urls import Urls
from content.models import Media, Post
from federation.http import AddressPolicy, SafeClient
from outbox.models import Activity
from tests.content.test_media import PDF, jpeg_with_exif, png
from tests.web.test_admin import sid_of
from web import pages

AP = {"Accept": "application/activity+json"}


@pytest.fixture
async def writer(admin, tmp_path):
    """The logged-in admin; uploads go to the test's own directory (the `site` fixture)."""
    client, inst, union, token = admin
    assert inst.media_root() == tmp_path / "media"
    return client, inst, token


def test_an_instance_without_a_media_directory_says_so():
    inst = Instance(urls=Urls("https://ours.example"), client=SafeClient(policy=AddressPolicy(), user_agent="t"))
    with pytest.raises(RuntimeError, match="no media_dir"):
        inst.media_root()


def form(token: str, action: str = "publish", **extra) -> dict[str, str]:
    data = {"csrf": token, "action": action, "lang0": "en", "text0": "Read the motion #congress", "lang1": "fr",
            "text1": "Lisez la motion", "lang2": "", "text2": "", "summary": ""}
    data.update(extra)
    return data


def stored_files(inst) -> list[str]:
    root = inst.media_dir
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


async def test_compose_with_an_image_and_a_pdf_publishes_their_attachments(writer):
    client, inst, token = writer
    page = await client.get("/admin/compose")
    assert 'enctype="multipart/form-data"' in page.text and 'name="file3"' in page.text and 'name="desc0"' in page.text
    response = await client.post("/admin/compose", data=form(token, desc0="Strikers at the depot", desc1="The motion"),
                                 files={"file0": ("IMG_0001.JPG", jpeg_with_exif(), "image/jpeg"),
                                        "file1": ("motion.pdf", PDF, "application/pdf")})
    assert response.status_code == 303, response.text
    post = await Post.get(local=True)
    image, document = await Media.filter(post_id=post.id).order_by("id")
    assert (image.kind, document.kind) == ("image", "document") and image.language == "en"
    create = await Activity.get(ap_id=f"{post.ap_id}/activity")
    attachments = create.payload["object"]["attachment"]
    assert attachments == [
        {"type": "Image", "mediaType": "image/jpeg", "url": inst.urls.media(image.file_name),
         "name": "Strikers at the depot", "width": 600, "height": 800},
        {"type": "Document", "mediaType": "application/pdf", "url": inst.urls.media(document.file_name),
         "name": "The motion"},
    ]
    served = await client.get(post.ap_id, headers=AP)
    assert served.json()["attachment"] == attachments
    # The files behind those URLs are what was announced, and the photo has lost its metadata.
    photo = await client.get(f"/media/{image.file_name}")
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert b"SpyCam" not in photo.content and dict(Image.open(io.BytesIO(photo.content)).getexif()) == {}
    pdf = await client.get(f"/media/{document.file_name}")
    assert pdf.content == PDF and pdf.headers["content-type"] == "application/pdf"
    # The public page shows the image (its preview) with its alt text and the document by its title.
    html = (await client.get(post.ap_id)).text
    assert f'src="{inst.urls.media(image.preview_name)}" alt="Strikers at the depot"' in html
    assert f'<a href="{inst.urls.media(document.file_name)}">The motion</a>' in html


async def test_served_files_are_never_html(writer):
    client, inst, token = writer
    await client.post("/admin/compose", data=form(token), files={"file0": ("a.png", png(), "image/png"),
                                                                 "file1": ("m.pdf", PDF, "text/html")})
    image, document = await Media.all().order_by("id")
    for name, ctype in ((image.file_name, "image/png"), (image.preview_name, "image/jpeg"),
                        (document.file_name, "application/pdf")):
        response = await client.get(f"/media/{name}")
        assert response.status_code == 200 and response.headers["content-type"] == ctype
        assert response.headers["x-content-type-options"] == "nosniff"
        csp = response.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "script-src" not in csp
        # Sandboxed, except a PDF: browsers' PDF viewers refuse to open in a sandboxed document.
        assert csp.startswith("sandbox") == (ctype != "application/pdf")
    disposition = (await client.get(f"/media/{document.file_name}")).headers["content-disposition"]
    assert disposition.startswith("inline") and ".pdf" in disposition
    # Other documents are downloaded, never displayed by the browser.
    docx = io.BytesIO()
    with zipfile.ZipFile(docx, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w/>")
    await client.post("/admin/compose", data=form(token, desc0='Minutes "May"'),
                      files={"file0": ("minutes.docx", docx.getvalue(), "text/html")})
    row = await Media.filter(kind="document").order_by("-id").first()
    response = await client.get(f"/media/{row.file_name}")
    assert response.headers["content-type"] == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["content-security-policy"].startswith("sandbox")
    head = await client.head(f"/media/{image.file_name}")
    assert head.status_code == 200 and head.headers["content-type"] == "image/png"


@pytest.mark.parametrize("path", [
    "/media/nothing-here", "/media/AAAAAAAAAAAAAAAAAAAAAA.png", "/media/..%2F..%2Fetc%2Fpasswd",
    "/media/%2E%2E", "/media/../unionhall.sqlite3", "/media/..%2Funionhall.sqlite3", "/media/",
])
async def test_unknown_names_and_traversal_are_404(writer, path):
    client, inst, token = writer
    inst.media_dir.mkdir(parents=True)
    (inst.media_dir.parent / "unionhall.sqlite3").write_bytes(b"secret")
    response = await client.get(path)
    assert response.status_code == 404 and b"secret" not in response.content


async def test_a_file_on_disk_without_its_row_is_not_served(writer):
    client, inst, token = writer
    inst.media_dir.mkdir(parents=True)
    (inst.media_dir / "AAAAAAAAAAAAAAAAAAAAAA.png").write_bytes(png())
    assert (await client.get("/media/AAAAAAAAAAAAAAAAAAAAAA.png")).status_code == 404


@pytest.mark.parametrize("name,data,ctype", [
    ("photo.png", b"Dear comrades, this is plain text.", "image/png"),
    ("page.png", b"<!doctype html><script>alert(1)</script>", "image/png"),
    ("logo.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "image/svg+xml"),
    ("page.html", b"<html><body onload=alert(1)>", "text/html"),
])
async def test_refused_files_keep_the_form_and_store_nothing(writer, name, data, ctype):
    client, inst, token = writer
    response = await client.post("/admin/compose", data=form(token, desc1="the text"),
                                 files={"file0": ("ok.png", png(), "image/png"), "file1": (name, data, ctype)})
    assert response.status_code == 400
    assert "Attachment 2" in response.text and "not an image" in response.text
    assert "Read the motion #congress" in response.text and 'value="the text"' in response.text
    assert await Post.all().count() == 0 and await Media.all().count() == 0 and stored_files(inst) == []


async def test_a_refused_statement_leaves_no_upload_behind(writer):
    client, inst, token = writer
    response = await client.post("/admin/compose", data=form(token, lang0="not a language"),
                                 files={"file0": ("a.png", png(), "image/png")})
    assert response.status_code == 400 and "not a language code" in response.text
    assert await Media.all().count() == 0 and stored_files(inst) == []


async def test_files_uploaded_at_preview_are_published_from_their_media_id(writer):
    client, inst, token = writer
    preview = await client.post("/admin/compose", data=form(token, "preview", desc0="Banner", desc1="Leaflet"),
                                files={"file0": ("b.png", png((900, 300)), "image/png"),
                                       "file1": ("leaflet.pdf", PDF, "application/pdf")})
    assert preview.status_code == 200 and await Post.all().count() == 0
    image, document = await Media.all().order_by("id")
    assert f'<img src="/media/{image.preview_name}" alt="Banner"' in preview.text
    assert "Leaflet" in preview.text
    ids = re.findall(r'<input type="hidden" name="media_id" value="(\d+)">', preview.text)
    assert ids == [str(image.id), str(document.id)]
    # Only two more files fit: the form offers slots 3 and 4.
    assert "Attachment 3" in preview.text and "Attachment 5" not in preview.text
    # ...and those slots are empty: the stored files' descriptions stay with the files.
    assert re.findall(r'name="desc\d" value="([^"]*)"', preview.text) == ["", ""]
    published = await client.post("/admin/compose", data={**form(token), "media_id": ids})
    assert published.status_code == 303
    post = await Post.get(local=True)
    assert [a["name"] for a in post.attachments] == ["Banner", "Leaflet"]
    assert await Media.filter(post_id=post.id).count() == 2
    # An upload already published cannot be attached to another statement.
    again = await client.post("/admin/compose", data={**form(token), "media_id": ids[:1]})
    assert again.status_code == 400 and await Post.all().count() == 1


async def test_publish_clicked_twice_gives_one_statement_owning_the_files(writer):
    """Two submissions of one previewed form racing each other: both pass the early check, only
    the first may claim the uploads; the second is refused and leaves nothing behind."""
    client, inst, token = writer
    preview = await client.post("/admin/compose", data=form(token, "preview", desc0="Banner"),
                                files={"file0": ("b.png", png(), "image/png")})
    ids = re.findall(r'name="media_id" value="(\d+)"', preview.text)
    first, second = await asyncio.gather(*(client.post("/admin/compose", data={**form(token), "media_id": ids})
                                           for _ in range(2)))
    assert sorted([first.status_code, second.status_code]) == [303, 400]
    refused = first if first.status_code == 400 else second
    # Refused by the claim in the transaction, or (when the first had already committed, as on a
    # loaded machine) by the early check: either way with the reason.
    assert any(reason in refused.text for reason in ("already belongs to another statement", "no longer available",
                                                      "is not an upload waiting for this statement"))
    post = await Post.get(local=True)  # exactly one
    assert await Media.filter(post_id=post.id).count() == 1 and len(post.attachments) == 1
    assert await Activity.filter(type="Create").count() == 1


async def test_more_than_four_attachments_are_refused(writer):
    client, inst, token = writer
    preview = await client.post("/admin/compose", data=form(token, "preview"),
                                files={f"file{n}": (f"{n}.png", png(), "image/png") for n in range(4)})
    ids = re.findall(r'name="media_id" value="(\d+)"', preview.text)
    assert len(ids) == 4 and 'name="file0"' not in preview.text
    response = await client.post("/admin/compose", data={**form(token), "media_id": ids},
                                 files={"file0": ("5.png", png(), "image/png")})
    assert response.status_code == 400 and "at most 4 attachments" in response.text
    assert await Media.all().count() == 4


async def test_editing_keeps_or_removes_attachments(writer):
    client, inst, token = writer
    await client.post("/admin/compose", data=form(token, desc0="Photo", desc1="Motion"),
                      files={"file0": ("a.png", png(), "image/png"), "file1": ("m.pdf", PDF, "application/pdf")})
    post = await Post.get(local=True)
    image, document = await Media.filter(post_id=post.id).order_by("id")
    edit_url = f"/admin/statements/{sid_of(inst, post)}/edit"
    page = await client.get(edit_url)
    assert 'enctype="multipart/form-data"' in page.text
    ids = re.findall(r'name="media_id" value="(\d+)"', page.text)
    assert ids == [str(image.id), str(document.id)]
    assert (await client.post(edit_url, data={**form(token, text0="Read the amended motion"), "media_id": ids})).status_code == 303
    await post.refresh_from_db()
    assert [a["name"] for a in post.attachments] == ["Photo", "Motion"]
    update = await Activity.filter(type="Update").first()
    assert [a["name"] for a in update.payload["object"]["attachment"]] == ["Photo", "Motion"]
    removed = await client.post(edit_url, data={**form(token), "media_id": ids, "drop_media": str(image.id)})
    assert removed.status_code == 303
    await post.refresh_from_db()
    assert [a["name"] for a in post.attachments] == ["Motion"]
    # A removed photo stops being served: its row and files are gone.
    assert await Media.filter(id=image.id).count() == 0
    assert (await client.get(f"/media/{image.file_name}")).status_code == 404
    assert stored_files(inst) == [document.file_name]
    emptied = await client.post(edit_url, data={**form(token), "media_id": str(document.id),
                                                 "drop_media": str(document.id)})
    assert emptied.status_code == 303
    await post.refresh_from_db()
    assert post.attachments == [] and await Media.filter(post_id=post.id).count() == 0


async def test_deleting_a_statement_deletes_its_files(writer):
    client, inst, token = writer
    await client.post("/admin/compose", data=form(token), files={"file0": ("a.png", png(), "image/png")})
    post = await Post.get(local=True)
    image = await Media.get(post_id=post.id)
    assert (await client.get(f"/media/{image.preview_name}")).status_code == 200
    response = await client.post(f"/admin/statements/{sid_of(inst, post)}/delete", data={"csrf": token})
    assert response.status_code == 303
    assert await Media.all().count() == 0 and stored_files(inst) == []
    assert (await client.get(f"/media/{image.file_name}")).status_code == 404


async def test_appeal_and_deadline_from_the_form(writer):
    client, inst, token = writer
    today = inst.now().date()
    for bad, reason in ((str(today - timedelta(days=1)), "already past"), ("next friday", "not a date")):
        response = await client.post("/admin/compose", data=form(token, appeal="1", appeal_until=bad),
                                     files={"file0": ("a.png", png(), "image/png")})
        assert response.status_code == 400 and reason in response.text
        assert await Post.all().count() == 0 and await Media.all().count() == 0
    page = await client.get("/admin/compose")
    assert "This is an appeal for declarations of solidarity" in page.text and "Deadline (optional)" in page.text
    until = today + timedelta(days=10)
    response = await client.post("/admin/compose", data=form(token, appeal="1", appeal_until=until.isoformat()))
    assert response.status_code == 303
    post = await Post.get(local=True)
    assert post.appeal and post.appeal_until.date() == until


async def test_an_oversized_body_is_refused_before_it_is_read(writer):
    client, inst, token = writer
    response = await client.post("/admin/compose", content=b"x" * 10,
                                 headers={"Content-Type": "multipart/form-data; boundary=x",
                                          "Content-Length": str(200 * 1024 * 1024)})
    assert response.status_code == 413 and "too large" in response.text


def test_remote_attachments_render_only_http_links():
    post = Post(local=False, attachments=[
        {"type": "Document", "mediaType": "image/jpeg", "url": "https://peer.example/m/1.jpg", "name": "Rally"},
        {"type": "Document", "mediaType": "application/pdf", "url": "https://peer.example/m/motion.pdf",
         "name": "Motion"},
        {"type": "Image", "mediaType": "image/png", "url": "javascript:alert(1)", "name": "x"},
        {"type": "Document", "mediaType": "application/pdf", "url": "data:text/html,<script>alert(1)</script>",
         "name": "y"},
        {"type": "Image", "url": "https://peer.example/m/2.png", "name": '"><script>alert(1)</script>'},
    ])
    html = pages.env.get_template("attachments.html").render(post=post)
    assert '<img src="https://peer.example/m/1.jpg" alt="Rally"' in html
    assert '<a href="https://peer.example/m/motion.pdf" rel="nofollow noopener noreferrer">Motion</a>' in html
    assert "javascript:" not in html and "data:" not in html and "<script>" not in html
    assert 'alt="&#34;&gt;&lt;script&gt;' in html
