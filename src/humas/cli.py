"""``humas``: the staff command line over the same bucket contract the pipeline uses.

    humas submit FOLDER        drop a content item (brief.yaml + its assets) into the inbox
    humas deliver ITEM [FILE...] [--caption TEXT]
                               hand a waiting work step your work: the narration and/or files (as --user)
    humas status [ITEM]        every item's state, or one item's history and links
    humas approve ITEM         approve the decision gate the item is waiting at (as yourself: --user)
    humas revise ITEM          send it back to the designer, with what to change
    humas decline ITEM         decline it, with a reason (``humas reject`` is the same)
    humas check FILE...        run the design-asset checks locally before dropping
    humas report --sop SOP --month YYYY-MM   an agency's monthly compliance report (HTML, CSV, XLSX)
    humas report ITEM          an item's report (steps' times, decisions, post links)

The bucket comes from HUMAS_S3_ENDPOINT_URL, HUMAS_BUCKET and the AWS_* credentials, or from
.stack/humas.env, which the embedded stack writes.
"""
from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from typing import Callable

from humas import layout
from humas.airflow_api import AirflowApi
from humas.assets.cli import register as register_check
from humas.brief import parse_brief, read_brief_bytes
from humas.delivery import PART_BYTES, brief_with_delivery, claim_delivery, etag_of
from humas.exceptions import HumasError, InvalidInputError
from humas.itemview import item_lines, overview_line, save_linked
from humas.profiles import channel_ids
from humas.sop import available_sops
from humas.status import read_status, utcnow
from humas.store import Store
from humas.submission import claim

STACK_ENV = Path(".stack") / "humas.env"


def _env() -> dict[str, str]:
    values = dict(os.environ)
    if "HUMAS_BUCKET" not in values and STACK_ENV.exists():
        for line in STACK_ENV.read_text().splitlines():
            key, _, value = line.removeprefix("export ").partition("=")
            values.setdefault(key, value)
    return values


def open_store() -> Store:
    import boto3
    from botocore.config import Config

    env = _env()
    if "HUMAS_BUCKET" not in env:
        raise HumasError("no bucket configured: set HUMAS_S3_ENDPOINT_URL and HUMAS_BUCKET "
                         "(or run `make run` to start the embedded stack, which writes .stack/humas.env)")
    client = boto3.client("s3", endpoint_url=env.get("HUMAS_S3_ENDPOINT_URL"),
                          aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"),
                          aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
                          region_name=env.get("AWS_DEFAULT_REGION", "us-east-1"),
                          config=Config(s3={"addressing_style": "path"}))
    return Store(client, env["HUMAS_BUCKET"])


class _Progress:
    """Prints upload progress of one file on one line."""

    def __init__(self, name: str, total: int) -> None:
        self.name, self.total, self.done = name, max(total, 1), 0

    def __call__(self, chunk: int) -> None:
        self.done += chunk
        print(f"\r  {self.name}: {self.done * 100 // self.total:3d}% of {self.total / 1e6:.1f} MB",
              end="", flush=True)


def _upload(store: Store, key: str, path: Path) -> None:
    """One local file into the bucket in parts of ``PART_BYTES`` (so its ETag is known beforehand: the claim names
    it), with progress on one line."""
    from boto3.s3.transfer import TransferConfig

    store.client.upload_file(str(path), store.bucket, key, Callback=_Progress(path.name, path.stat().st_size),
                             Config=TransferConfig(multipart_threshold=PART_BYTES, multipart_chunksize=PART_BYTES))
    print()


def _who_delivers(args: argparse.Namespace, default: str = "") -> str:
    """The login recorded as the person delivering: --user, else $HUMAS_USER, else ``default``."""
    user = (args.user or _env().get("HUMAS_USER") or default).strip()
    if not user:
        raise HumasError("who delivers? pass --user LOGIN (your login in the roster) or set HUMAS_USER")
    return user


def cmd_deliver(args: argparse.Namespace) -> int:
    """Hand a waiting work step its product: files beside the brief and listed in its assets, the narration as
    its caption; first the person's own claim of what they are about to write (``humas.delivery``)."""
    item_id = layout.check_item_id(args.item)
    paths = [Path(name) for name in args.files]
    absent = [str(p) for p in paths if not p.is_file()]
    if absent or (not paths and args.caption is None):
        raise HumasError(f"item {item_id}: " + (f"no such file: {', '.join(absent)}" if absent else
                                                 "nothing to deliver: give files and/or --caption TEXT"))
    store, user = open_store(), _who_delivers(args)
    current = read_brief_bytes(store, item_id)
    if current is None:
        raise HumasError(f"item {item_id}: no brief in {layout.item_prefix(item_id)}; submit the idea first "
                         "(humas submit FOLDER)")
    parse_brief(item_id, current, available_sops(), channel_ids())  # a broken brief is fixed by hand first
    names = [layout.check_asset_name(item_id, p.name) for p in paths]
    updated = brief_with_delivery(current, args.caption, names)
    parse_brief(item_id, updated, available_sops(), channel_ids())  # refused here, before anything is written
    # the claim first (a step woken by a file finds it), then the files, the brief last: the step sees it complete
    etags, at = {name: etag_of(path) for name, path in zip(names, paths)}, utcnow()
    _claim(item_id, user, lambda: claim_delivery(store, item_id, user, updated, etags, at))
    for name, path in zip(names, paths):
        _upload(store, layout.asset_key(item_id, name), path)
    store.put_bytes(layout.brief_key(item_id), updated, "application/yaml")
    claim_delivery(store, item_id, user, updated, etags, at, complete=True)  # wakes a step that refused the folder
    print(f"delivered to {item_id} as {user}" + (f": {', '.join(names)}" if names else "")
          + (" and the narration" if args.caption is not None else "") + f"; follow it with: humas status {item_id}")
    return 0


def cmd_submit(args: argparse.Namespace) -> int:
    folder = Path(args.folder)
    item_id = layout.check_item_id(args.item or folder.resolve().name)
    brief_path = folder / layout.BRIEF_NAME
    if not brief_path.exists():
        raise HumasError(f"{folder}: no {layout.BRIEF_NAME}; write the brief first (see include/sample/)")
    brief = parse_brief(item_id, brief_path.read_bytes(), available_sops(), channel_ids())
    missing = [name for name in brief.assets if not (folder / name).is_file()]
    if missing:
        raise HumasError(f"item {item_id}: assets {missing} are listed in brief.yaml but not in {folder}")
    store, user = open_store(), _who_delivers(args, brief.submitter)
    print(f"submitting {item_id} ({brief.sop}, {', '.join(brief.channels)})")
    for name in brief.assets:  # assets first, brief last: the dispatcher starts on a complete item
        _upload(store, layout.asset_key(item_id, name), folder / name)
    # then the claim, with this person's own bucket identity (the bucket refuses a claim in another's name),
    # and the brief last: the dispatcher starts on a complete, claimed item
    _claim(item_id, user, lambda: claim(store, item_id, user, brief_path.read_bytes()))
    store.put_bytes(layout.brief_key(item_id), brief_path.read_bytes(), "application/yaml")
    print(f"dropped into {layout.item_prefix(item_id)}; follow it with: humas status {item_id}")
    return 0


def _claim(item_id: str, login: str, write: Callable[[], object]) -> None:
    """``write`` the person's claim; the bucket refusing it (not their own identity) becomes what to do."""
    from botocore.exceptions import ClientError

    try:
        write()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "AccessDenied":
            raise
        raise HumasError(f"item {item_id}: the bucket refused a claim as {login!r}: your bucket credential is not "
                         f"{login}'s; use your own login (--user or HUMAS_USER) with the key the admin gave you, and "
                         "as a brief's submitter: that login") from None


def cmd_status(args: argparse.Namespace) -> int:
    if args.save and not args.item:
        raise HumasError("--save needs an item: humas status ITEM --save FOLDER")
    store, viewer = open_store(), _viewer()
    if args.item:
        if not layout.is_item_id(args.item):  # a folder that cannot be an item: the dispatcher's record says why
            record = store.get_json(layout.unusable_folder_key(args.item)) or {}
            print(f"{args.item!r}: {record.get('message') or 'bukan nama item yang sah (belum diperiksa dispatcher)'}")
            return 1
        status, source = _item_status(store, args.item, viewer)
        if status is None:
            print(f"{args.item}: {NOT_YOURS}")
        elif args.save:
            print("\n".join(save_linked(store, status, Path(args.save))) or f"{args.item}: belum ada berkas")
        else:
            print("\n".join(item_lines(store, args.item, available_sops(), viewer=source)))
        return 0
    folders = store.list_folders(layout.INBOX)
    for folder in folders:
        item_id = layout.item_id_from_inbox_prefix(folder)
        if item_id is None:  # the dispatcher cannot take it: say so where staff look
            print(f"{folder:40} NOT AN ITEM: rename the folder to letters, digits, '.', '_' or '-' "
                  "(e.g. 2026-12-01-hut-kota) and drop it again")
            continue
        status, _ = _item_status(store, item_id, viewer)
        print(overview_line(item_id, status or ({"label": "(bukan ajuan Anda)"} if viewer else {})))
    if not folders:
        print("no items in the inbox")
    return 0


NOT_YOURS = ("belum ada status yang dapat Anda baca: item ini belum diterima dispatcher, atau bukan ajuan Anda "
             "(staf hanya membaca item yang mereka ajukan sendiri dengan `humas submit`)")


def _viewer() -> str | None:
    """The person running the CLI ($HUMAS_USER), whose own view of their items staff read; None: ops."""
    user = (_env().get("HUMAS_USER") or "").strip()
    return user if layout.LOGIN_PATTERN.fullmatch(user) else None


def _item_status(store: Store, item_id: str, viewer: str | None) -> tuple[dict | None, str | None]:
    """The item's status and whose view it came from: the person's own view first, else the pipeline's records
    (None), which an ops credential may read and a staff one may not (then: no status)."""
    status = _readable(lambda: read_status(store, item_id, viewer)) if viewer else None
    return (status, viewer) if status is not None else (_readable(lambda: read_status(store, item_id)), None)


def _readable(read: Callable[[], dict | None]) -> dict | None:
    """``read()``, or None when the bucket says this credential may not read it."""
    from botocore.exceptions import ClientError

    try:
        return read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "AccessDenied":
            raise
        return None


def _airflow_session(args: argparse.Namespace) -> tuple[AirflowApi, str, str]:
    """Sign in to Airflow as the approver (their own login): the approval service knows who decides."""
    env = _env()
    url = env.get("HUMAS_AIRFLOW_URL")
    user = args.user or env.get("HUMAS_USER")
    if not url or not user:
        raise HumasError("who decides, and where? pass --user LOGIN (or set HUMAS_USER) and set HUMAS_AIRFLOW_URL "
                         "to the Airflow address (the embedded stack writes it to .stack/humas.env)")
    password = env.get("HUMAS_PASSWORD") or (getpass.getpass(f"Airflow password for {user}: ")
                                              if sys.stdin.isatty() else "")
    if not password:
        raise HumasError(f"no password for {user}: type it when asked, or set HUMAS_PASSWORD")
    api = AirflowApi(url, user, password)
    api.token()  # a wrong password is told before anything else
    return api, url, user


def _service(api: AirflowApi, method: str, path: str, **kwargs: object) -> dict:
    resp = api.request(method, path, **kwargs)
    body = resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
    if resp.status_code >= 400:
        raise HumasError(str(body.get("detail") or f"HTTP {resp.status_code} from {api.base_url}{path}"))
    return body


def _decide(args: argparse.Namespace, decision: str) -> int:
    api, url, user = _airflow_session(args)
    endpoint = f"/humas/api/approvals/{layout.check_item_id(args.item)}"
    review = _service(api, "GET", endpoint)
    print(f"{review['item_id']}: langkah {review['step']} ({review['activity']}) — {review['role']}")
    print(f"  {review['title']}")
    if review.get("description"):
        print(f"  {review['description']}")
    for channel, text in review["posts"].items():
        print(f"  [{channel}] " + (text.replace(chr(10), chr(10) + "    ") or "(story: tanpa teks)"))
    print(f"  pratinjau: {url}/humas/approvals/{review['item_id']}")
    if review["refusal"]:
        raise HumasError(f"{user} cannot decide this step: {review['refusal']}")
    result = _service(api, "POST", endpoint, json={"gate": review["gate"], "decision": decision,
                                                        "review_digest": review["review_digest"],
                                                        "comment": args.comment or ""})
    print(f"{decision} recorded for {result['item_id']} at {result['gate']} as {result['person']}")
    return 0


def cmd_approve(args: argparse.Namespace) -> int:
    return _decide(args, "approve")


def cmd_revise(args: argparse.Namespace) -> int:
    if not args.comment:
        raise HumasError("say what to change with --comment so the designer knows")
    return _decide(args, "revise")


def cmd_decline(args: argparse.Namespace) -> int:
    if not args.comment:
        raise HumasError("say why with --comment so the team knows what to change")
    return _decide(args, "decline")


def cmd_report(args: argparse.Namespace) -> int:
    """Write a monthly report (``--sop --month``) into the bucket, or an item's; copies into ``--out``."""
    from humas.reports import write_item_report, write_monthly_report

    store, sops = open_store(), available_sops()
    if args.item:
        status = read_status(store, layout.check_item_id(args.item)) or {}
        sop_id = (status.get("details") or {}).get("sop") or _brief_sop(store, args.item)
        if sop_id not in sops:
            raise HumasError(f"item {args.item}: its SOP is not known ({sop_id!r}); check `humas status {args.item}`")
        write_item_report(store, args.item, sops[sop_id])
        keys = {ext: layout.report_key(args.item, ext) for ext in ("json", "html")}
    else:
        if args.sop not in sops or not args.month:
            raise HumasError(f"give --sop (one of {', '.join(sorted(sops))}) and --month YYYY-MM, or an item id")
        keys = write_monthly_report(store, sops[args.sop], layout.check_month(args.month))
    for key in keys.values():
        print(f"s3://{store.bucket}/{key}")
        if args.out:
            target = Path(args.out) / Path(key).name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(store.get_bytes(key) or b"")
            print(f"  -> {target}")
    return 0


def _brief_sop(store: Store, item_id: str) -> str:
    from humas.board import read_record

    record = read_record(store, item_id)
    return record.sop_id if record else ""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="humas", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    submit = sub.add_parser("submit", help="drop a content item folder into the inbox")
    submit.add_argument("folder")
    submit.add_argument("--item", help="item id (default: the folder's name)")
    submit.add_argument("--user", help="your roster login, whose bucket credential you use and who is recorded as "
                                       "delivering (default: $HUMAS_USER, else the brief's submitter)")
    submit.set_defaults(func=cmd_submit)
    deliver = sub.add_parser("deliver", help="hand the work step an item waits at your narration and/or files")
    deliver.add_argument("item")
    deliver.add_argument("files", nargs="*", help="photos or design files, in post order (added to assets)")
    deliver.add_argument("--caption", help="the narration posted with the images (sets the brief's caption)")
    deliver.add_argument("--user", help="your login in the roster (default: $HUMAS_USER), recorded as who delivered")
    deliver.set_defaults(func=cmd_deliver)
    status = sub.add_parser("status", help="show items and their state")
    status.add_argument("item", nargs="?")
    status.add_argument("--save", metavar="FOLDER", help="with an item: save the files its status lists (findings, "
                                                         "preview, receipt) into FOLDER")
    status.set_defaults(func=cmd_status)
    for name, func, what in (("approve", cmd_approve, "approve"), ("revise", cmd_revise, "send back for revision"),
                             ("decline", cmd_decline, "decline")):
        p = sub.add_parser(name, help=f"{what}: the decision gate an item is waiting at, as yourself",
                           aliases=["reject"] if name == "decline" else [])
        p.add_argument("item")
        p.add_argument("--user", help="your Airflow login (default: $HUMAS_USER); password from $HUMAS_PASSWORD or asked")
        p.add_argument("--comment", help="a note for the team (required to revise or decline)")
        p.set_defaults(func=func)
    report = sub.add_parser("report", help="an agency's monthly compliance report, or one item's report")
    report.add_argument("item", nargs="?", help="an item id (else --sop and --month)")
    report.add_argument("--sop", help="the agency's SOP id, e.g. singkawang")
    report.add_argument("--month", help="the month, e.g. 2026-11 (items received in it, WIB)")
    report.add_argument("--out", help="also save the files into this folder")
    report.set_defaults(func=cmd_report)
    register_check(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (HumasError, InvalidInputError) as exc:
        print(f"humas: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # `humas status | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
