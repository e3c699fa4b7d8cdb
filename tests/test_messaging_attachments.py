"""Images for the e-mail (issue #6, point 1): checked by content, uploaded with the compose
form, carried as tokens through review and "Avbryt", bound to the message on confirm, and
only ever the sender's own."""

import io
import re
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from portal.extensions import db
from portal.messaging.attachments import (
    MAX_BYTES,
    ImageRefused,
    check_image,
    clean_filename,
    delete_stale_uploads,
)
from portal.messaging.sending import Draft, ReviewChanged, confirm_send, review
from portal.models import Attachment, Message, Role
from portal.models.base import utcnow
from portal.recipients import parse_selection
from tests.conftest import csrf_token
from tests.directory_builders import Directory

HTMX = {"HX-Request": "true"}


def image(kind="PNG", size=(4, 3)):
    buffer = io.BytesIO()
    Image.new("RGB", size, "teal").save(buffer, kind)
    return buffer.getvalue()


def upload(data, name):
    return (io.BytesIO(data), name)


def in_memory(data):
    """Form data as a multipart body built in memory (the test client would spool a large
    body to a temporary file that it never closes)."""
    fields = MultiDict()
    for name, value in data.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, tuple):
                item = FileStorage(stream=item[0], filename=item[1])
            fields.add(name, item)
    boundary, body = encode_multipart(fields)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture
def d(make):
    return Directory(make)


@pytest.fixture
def klass(d):
    return d.school_class(d.school("Norrskolan"), students=2, guardians=1, name="7A")


@pytest.fixture
def teacher(d, make, klass):
    person = make.person(Role.STAFF, d.organisation)
    person.groups.append(klass)
    person.schools.append(klass.school)
    db.session.commit()
    return person


@pytest.fixture
def signed_in(auth, teacher):
    auth.login(teacher.email)
    return teacher


def page(response):
    return response.get_data(as_text=True)


def compose(client, group, images=(), sms=False, **fields):
    data = {
        "csrf_token": csrf_token(page(client.get("/messages/new"))),
        "subject": "Klassfoto",
        "body": "Här är bilderna.",
        f"group-{group.id}": ["students", "guardians"],
        "images": list(images),
        **fields,
    }
    if sms:
        data["sms"] = "y"
    return data


def uploaded_by(person, token, **fields):
    """A stored upload of `person`, committed."""
    upload = Attachment(
        organisation_id=person.organisation_id,
        uploaded_by_id=person.id,
        token=token,
        filename="x.png",
        content_type="image/png",
        size=1,
        data=b"x",
        **fields,
    )
    db.session.add(upload)
    db.session.commit()
    return upload


def tokens_in(html):
    return re.findall(r'name="attachment" value="([^"]+)"', html)


def stored():
    db.session.rollback()
    return db.session.scalars(db.select(Attachment).order_by(Attachment.id)).all()


def messages():
    db.session.rollback()
    return db.session.scalars(db.select(Message)).all()


# Checking the content


@pytest.mark.parametrize(("kind", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg")])
def test_png_and_jpeg_are_accepted_by_content(app, kind, content_type):
    checked = check_image("foto", image(kind))
    assert checked.content_type == content_type
    assert checked.filename == ("foto.png" if kind == "PNG" else "foto.jpg")


def test_five_mb_is_the_limit(app):
    assert MAX_BYTES == 5 * 1024 * 1024
    exactly = image() + b"\0" * (MAX_BYTES - len(image()))
    assert check_image("stor.png", exactly).data == exactly
    with pytest.raises(ImageRefused, match="är större än 5 MB"):
        check_image("stor.png", exactly + b"\0")


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("bild.png", b"GIF89a" + b"\0" * 20, "är inte en PNG- eller JPEG-bild"),
        ("bild.png", b"%PDF-1.7 not an image", "är inte en PNG- eller JPEG-bild"),
        ("bild.png", image("GIF"), "är inte en PNG- eller JPEG-bild"),
        ("bild.png", image()[:40], "går inte att läsa som bild"),
        ("bild.jpg", image("JPEG")[:60], "går inte att läsa som bild"),
        ("bild.png", b"\x89PNG\r\n\x1a\n" + b"x" * 100, "går inte att läsa som bild"),
        ("bild.png", image() + b"\0" * MAX_BYTES, "är större än 5 MB"),
    ],
    ids=["gif-named-png", "pdf", "real-gif", "truncated-png", "truncated-jpeg", "junk", "big"],
)
def test_anything_else_is_refused_in_swedish(app, name, data, words):
    with pytest.raises(ImageRefused, match=words):
        check_image(name, data)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(magic=st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"]), rest=st.binary(max_size=300))
def test_random_bytes_are_refused_never_crash(app, magic, rest):
    try:
        check_image("x.png", magic + rest)
    except ImageRefused:
        pass


def test_a_file_name_is_cleaned(app):
    assert clean_filename("C:\\Users\\Åsa\\klass\x00foto.png") == "Åsa/klassfoto.png".split("/")[-1]
    assert clean_filename("../../etc/passwd") == "passwd"
    assert len(clean_filename("a" * 300 + ".jpeg")) == 120
    assert clean_filename("a" * 300 + ".jpeg").endswith(".jpeg")
    assert clean_filename("...") == "bild"


# Uploading with the form


def test_images_upload_with_the_review(client, signed_in, klass):
    data = compose(
        client, klass, [upload(image(), "klassfoto.png"), upload(image("JPEG"), "b.jpg")]
    )
    response = client.post("/messages/review", data=data, headers=HTMX)
    assert response.status_code == 200, page(response)
    first, second = stored()
    assert (first.filename, first.content_type, second.content_type) == (
        "klassfoto.png",
        "image/png",
        "image/jpeg",
    )
    assert first.uploaded_by_id == signed_in.id and first.message_id is None
    assert first.organisation_id == signed_in.organisation_id
    assert tokens_in(page(response)) == [first.token, second.token]
    assert 'id="confirm-images"' in page(response) and "klassfoto.png" in page(response)


def test_the_page_works_without_javascript(client, signed_in, klass):
    response = client.post(
        "/messages/review", data=compose(client, klass, [upload(image(), "a.png")])
    )
    assert response.status_code == 200 and "<html" in page(response)
    assert 'enctype="multipart/form-data"' in page(client.get("/messages/new"))


@pytest.mark.parametrize(
    ("data", "name", "words"),
    [
        (b"hello", "hej.png", "hej.png är inte en PNG- eller JPEG-bild."),
        (image() + b"\0" * MAX_BYTES, "stor.png", "stor.png är större än 5 MB."),
    ],
    ids=["not-an-image", "too-big"],
)
def test_a_refused_image_is_an_error_at_the_field(client, signed_in, klass, data, name, words):
    images = [upload(image(), "ok.png"), upload(data, name)]
    response = client.post("/messages/review", **in_memory(compose(client, klass, images)))
    assert response.status_code == 422
    html = page(response)
    assert f'<a href="#images">{words}</a>' in html
    assert 'id="images-error"' in html and 'aria-invalid="true"' in html
    assert stored() == []


def test_at_most_five_images(client, signed_in, klass):
    images = [upload(image(), f"{n}.png") for n in range(6)]
    response = client.post("/messages/review", data=compose(client, klass, images))
    assert response.status_code == 422
    assert "Högst 5 bilder per meddelande." in page(response)
    assert stored() == []


def test_other_errors_keep_the_uploaded_images(client, signed_in, klass):
    data = compose(client, klass, [upload(image(), "a.png")], subject="")
    response = client.post("/messages/review", data=data, headers=HTMX)
    assert response.status_code == 422
    (kept,) = stored()
    assert tokens_in(page(response)) == [kept.token]
    assert 'type="checkbox" id="attachment-1" name="attachment"' in page(response)


def test_avbryt_keeps_the_images_and_unticking_removes_one(client, signed_in, klass):
    data = compose(client, klass, [upload(image(), "a.png"), upload(image(), "b.png")])
    confirmation = page(client.post("/messages/review", data=data, headers=HTMX))
    first, second = tokens_in(confirmation)
    data.update(images=[], attachment=[first, second])
    editor = page(client.post("/messages/new", data=data, headers=HTMX))
    assert tokens_in(editor) == [first, second] and "a.png" in editor and "b.png" in editor
    data.update(attachment=[second])
    again = page(client.post("/messages/review", data=data, headers=HTMX))
    assert tokens_in(again) == [second]


def test_the_sms_view_hides_the_images_but_keeps_them(client, signed_in, klass):
    data = compose(client, klass, [upload(image(), "a.png")], sms=True, subject="Hej")
    response = client.post("/messages/new", data=data, headers=HTMX)
    html = page(response)
    (token,) = tokens_in(html)
    assert 'type="file"' not in html
    assert f'<input type="hidden" name="attachment" value="{token}">' in html
    assert "Skickas med e-post, med 1 bild." in html
    assert "SMS är ren text – bilder skickas inte" in html
    data.update(images=[], attachment=[token])
    assert tokens_in(page(client.post("/messages/review", data=data))) == [token]


def test_someone_elses_token_is_refused(client, signed_in, klass, d, make):
    db.session.rollback()
    colleague = d.staff(klass.school, klass)
    stranger = make.person(Role.STAFF)
    for owner in (colleague, stranger):
        db.session.rollback()
        theirs = uploaded_by(owner, f"token-of-{owner.id}")
        for url in ("/messages/review", "/messages/new"):
            data = compose(client, klass, attachment=[theirs.token])
            response = client.post(url, data=data)
            assert response.status_code == 422
            assert "En bild finns inte längre. Välj bilden igen." in page(response)
            assert theirs.token not in page(response)


# Confirming binds the images


def reviewed_with_images(client, klass, *names):
    data = compose(client, klass, [upload(image(), name) for name in names])
    html = page(client.post("/messages/review", data=data, headers=HTMX))
    fields = dict(re.findall(r'<input type="hidden" name="(key|digest)" value="([^"]*)"', html))
    return {**data, "images": [], "attachment": tokens_in(html), **fields}


def test_confirming_binds_the_images_to_the_message(client, signed_in, klass):
    data = reviewed_with_images(client, klass, "a.png", "b.png")
    assert client.post("/messages/send", data=data).status_code == 303
    assert client.post("/messages/send", data=data).status_code == 303
    (message,) = messages()
    assert [a.filename for a in message.attachments] == ["a.png", "b.png"]
    assert all(a.message_id == message.id for a in stored())
    show = page(client.get(f"/messages/{message.id}"))
    assert "Bilder i e-posten" in show and "a.png" in show


def test_the_digest_covers_the_images(client, signed_in, klass):
    data = reviewed_with_images(client, klass, "a.png", "b.png")
    data["attachment"] = data["attachment"][:1]
    response = client.post("/messages/send", data=data)
    assert response.status_code == 422
    assert "Uppgifterna har ändrats – granska igen." in page(response)
    assert messages() == []


def test_an_image_gone_before_confirm_gets_a_fresh_confirmation(client, signed_in, klass):
    data = reviewed_with_images(client, klass, "a.png", "b.png")
    db.session.rollback()
    db.session.delete(stored()[0])
    db.session.commit()
    response = client.post("/messages/send", data=data)
    assert response.status_code == 422
    assert tokens_in(page(response)) == data["attachment"][1:]
    assert messages() == []


def test_confirm_send_binds_only_the_senders_unbound_images(app, d, klass, teacher):
    other = d.staff(klass.school, klass)
    mine, theirs = (uploaded_by(person, f"t-{person.id}") for person in (teacher, other))
    selection = parse_selection({f"group-{klass.id}": ["students"]})
    draft = Draft("Hej", "", selection, False, (mine.token, theirs.token))
    shown = review(draft, teacher)
    assert shown.draft.attachments == (mine.token,)
    message = confirm_send(draft, teacher, shown.key, shown.digest)
    assert [a.token for a in message.attachments] == [mine.token]
    assert db.session.get(Attachment, theirs.id).message_id is None
    with pytest.raises(ReviewChanged):
        confirm_send(draft, teacher, "another-key", shown.digest)


# Uploads nobody sent


def test_stale_unbound_uploads_are_deleted_after_a_day(app, teacher, klass):
    now = utcnow()
    message = Message(
        organisation_id=teacher.organisation_id, author_id=teacher.id, subject="s", body=""
    )
    db.session.add(message)
    db.session.commit()
    uploaded_by(teacher, "old", created_at=now - timedelta(days=2))
    uploaded_by(teacher, "new", created_at=now - timedelta(hours=2))
    uploaded_by(teacher, "sent", created_at=now - timedelta(days=30), message_id=message.id)
    assert delete_stale_uploads(now) == 1
    assert sorted(a.token for a in stored()) == ["new", "sent"]
