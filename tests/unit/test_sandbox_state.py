"""The sandbox's journal: a restarted sandbox knows every post, container and upload; a change appends one line."""
from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

import pytest

from humas_dev.sandbox.images import ImageInfo
from humas_dev.sandbox.state import Container, Pending, Post, State, StoredImage


def image(seed: str) -> StoredImage:
    data = f"jpeg bytes of {seed}".encode()
    return StoredImage(ImageInfo(hashlib.sha256(data).hexdigest(), 1080, 1080, "JPEG", len(data), False), data)


def post(post_id: str, *images: StoredImage) -> Post:
    return Post("instagram", "1784", post_id, f"caption {post_id}", f"https://example/{post_id}", 1.0, list(images))


def fill(state: State) -> None:
    container = Container("c1", "1784", "IMAGE", "caption p1", [image("a")])
    state.put_container(container)
    container.media_id, container.polls = "p1", 2
    state.put_container(container)
    state.add_post(post("p1", image("a")))
    state.put_pending(Pending("u1", "facebook", "1001", image("b"), 2.0))
    state.put_pending(Pending("u2", "facebook", "1001", image("c"), 3.0))
    state.drop_pending("u1")


def test_a_restarted_sandbox_has_what_the_first_one_recorded(tmp_path: Path) -> None:
    first = State(tmp_path / "state.json")
    fill(first)

    second = State(tmp_path / "state.json")

    assert [(p.id, p.images[0].data) for p in second.posts] == [("p1", b"jpeg bytes of a")]
    assert second.containers["c1"].media_id == "p1" and second.containers["c1"].polls == 2
    assert list(second.pending) == ["u2"] and second.pending["u2"].image.data == b"jpeg bytes of c"


def test_ids_handed_out_before_a_restart_are_not_handed_out_again(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text(json.dumps({"seq": 10**16, "drop_pending": "u0"}) + "\n")

    assert State(tmp_path / "state.json").next_seq() == 10**16 + 1


def test_each_change_appends_one_line_and_each_image_is_written_once(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    state.add_post(post("p1", image("a")))
    size = (tmp_path / "state.json").stat().st_size

    state.add_post(post("p2", image("a"), image("b")))

    lines = (tmp_path / "state.json").read_text().splitlines()
    assert len(lines) == 2 and (tmp_path / "state.json").stat().st_size > size
    assert "jpeg bytes" not in lines[1]  # bytes live in the image folder, named by digest
    assert sorted(p.name for p in (tmp_path / "state.json.images").iterdir()) == sorted(
        [image("a").info.sha256, image("b").info.sha256])


def test_a_restart_compacts_the_journal(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    fill(state)
    assert len((tmp_path / "state.json").read_text().splitlines()) == 6

    State(tmp_path / "state.json")

    kinds = [next(k for k in json.loads(line) if k != "seq")
             for line in (tmp_path / "state.json").read_text().splitlines()]
    assert kinds == ["post", "container", "pending"]


def test_a_change_cut_off_by_a_crash_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    state.add_post(post("p1", image("a")))
    with (tmp_path / "state.json").open("a") as journal:
        journal.write('{"seq": 9, "post": {"channel": "insta')

    assert [p.id for p in State(tmp_path / "state.json").posts] == ["p1"]


def test_a_damaged_line_inside_the_journal_names_the_file_and_line(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    state.add_post(post("p1", image("a")))
    text = (tmp_path / "state.json").read_text()
    (tmp_path / "state.json").write_text("not json\n" + text)

    with pytest.raises(ValueError, match=r"state.json: line 1 is not JSON; remove the file"):
        State(tmp_path / "state.json")


def test_a_whole_state_file_from_before_the_journal_still_loads(tmp_path: Path) -> None:
    old = image("old")
    info = {"sha256": old.info.sha256, "width": 1080, "height": 1080, "format": "JPEG", "bytes": len(old.data),
            "exif_gps": False}
    record = {"channel": "x", "account_id": "42", "id": "t1", "caption": "lama", "permalink": "https://x/t1",
              "created_at": 1.0, "images": [{"info": info, "data": base64.b64encode(old.data).decode()}],
              "placement": ""}
    (tmp_path / "state.json").write_text(json.dumps({"seq": 5, "posts": [record], "containers": [], "pending": []}))

    state = State(tmp_path / "state.json")

    assert [(p.id, p.images[0].data) for p in state.posts] == [("t1", old.data)]
    assert [p.id for p in State(tmp_path / "state.json").posts] == ["t1"]  # rewritten as a journal


def test_reset_forgets_posts_and_their_images(tmp_path: Path) -> None:
    state = State(tmp_path / "state.json")
    fill(state)

    state.reset()

    assert (tmp_path / "state.json").read_text() == ""
    assert not (tmp_path / "state.json.images").exists()
    again = State(tmp_path / "state.json")
    assert (again.posts, again.containers, again.pending) == ([], {}, {})
    again.add_post(post("p9", image("a")))  # the image folder comes back with the next image
    assert State(tmp_path / "state.json").posts[0].images[0].data == b"jpeg bytes of a"
