"""bus token: create (printed once), list and revoke API tokens.

Loaded by ``manage.py bus`` through ``settings.BUS_CLI_EXTRA``: eventbus
must not import the console. Every change is audited with ``via="cli"``.
"""

from __future__ import annotations

import getpass
from datetime import datetime, timedelta
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.table import Table
from rich.text import Text

from console.audit import audit_record
from console.exceptions import InvalidScope
from console.models import ApiToken
from console.token_audit import token_label, token_snapshot
from console.tokens import parse_scope, token_create, token_revoke, token_state
from eventbus.cli import console
from eventbus.exceptions import BusError
from eventbus.resets import parse_duration

HELP = (
    "API tokens for the REST API and the WebSocket feed: create (the token is "
    "printed once), list, revoke."
)


def add_arguments(parser: CommandParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="Create a token; print it once.")
    create.add_argument(
        "--name", required=True, help="Who or what uses it, e.g. 'mobile-app'."
    )
    create.add_argument(
        "--scope",
        dest="scopes",
        action="append",
        required=True,
        metavar="SCOPES:TOPICS",
        help="What it may do where, e.g. 'publish,subscribe:orders' or "
        "'manage:*' (scopes: publish, subscribe, manage; repeatable).",
    )
    create.add_argument(
        "--expires",
        metavar="WHEN",
        help="A duration from now (30d, 12h) or an ISO 8601 time; default: never.",
    )
    create.add_argument(
        "--rate",
        type=int,
        metavar="N",
        help="Events per second it may publish (default: API['PUBLISH_RATE']).",
    )
    create.add_argument(
        "--max-connections",
        type=int,
        metavar="N",
        help="Live feed connections at once (default: API['MAX_FEED_CONNECTIONS']).",
    )
    listing = actions.add_parser("list", help="List tokens (never their secrets).")
    listing.add_argument("--json", action="store_true", help="Print JSON.")
    revoke = actions.add_parser(
        "revoke", help="Revoke a token now; its feed connections close within seconds."
    )
    revoke.add_argument(
        "key_id", metavar="KEYID", help="The key id, e.g. 1a2b3c4d5e6f."
    )


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    {"create": _create, "list": _list, "revoke": _revoke}[options["action"]](
        command, options
    )


def parse_expiry(value: str, now: datetime | None = None) -> datetime:
    """Return the expiry a ``--expires`` value names: a duration or a time."""
    now = now or timezone.now()
    try:
        return now + timedelta(milliseconds=parse_duration(value))
    except BusError:
        pass
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise CommandError(
            f"--expires {value!r} is neither a duration nor a time. Give a "
            "duration such as 30d or 12h, or an ISO 8601 time such as "
            "2030-01-31T12:00Z."
        ) from None
    if timezone.is_naive(when):
        when = timezone.make_aware(when)
    if when <= now:
        raise CommandError(
            f"--expires {value} is in the past. Give a future time, or a "
            "duration such as 30d."
        )
    return when


def _positive(value: int | None, flag: str) -> int | None:
    if value is not None and value < 1:
        raise CommandError(f"{flag} must be a whole number of at least 1.")
    return value


def _create(command: BaseCommand, options: dict[str, Any]) -> None:
    try:
        scopes = [parse_scope(text) for text in options["scopes"]]
    except InvalidScope as exc:
        raise CommandError(str(exc)) from exc
    expires = parse_expiry(options["expires"]) if options["expires"] else None
    try:
        token, plaintext = token_create(
            name=options["name"],
            scopes=scopes,
            expires_at=expires,
            publish_rate=_positive(options["rate"], "--rate"),
            max_connections=_positive(options["max_connections"], "--max-connections"),
        )
    except InvalidScope as exc:
        raise CommandError(str(exc)) from exc
    audit_record(
        user=None,
        action="token.create",
        target=token_label(token),
        after=token_snapshot(token),
        detail={"os_user": getpass.getuser()},
        via="cli",
    )
    out = command.stdout
    when = token.expires_at.isoformat() if token.expires_at else "never"
    out.write(
        f"Created API token '{token.name}' (key id {token.key_id}; scopes "
        f"{'; '.join(map(str, scopes))}; expires {when})."
    )
    out.write(plaintext)
    out.write(
        "Store it now: it is shown only this once, and only its hash is kept. "
        "Send it as 'Authorization: Bearer <token>'."
    )


def _state(token: ApiToken) -> str:
    if token.revoked_at is not None:
        return "revoked"
    return "expired" if token_state(token) else "live"


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "-"


def _list(command: BaseCommand, options: dict[str, Any]) -> None:
    tokens = list(ApiToken.objects.prefetch_related("scopes"))
    rows = [
        {
            "key_id": t.key_id,
            "name": t.name,
            "scopes": [str(s) for s in t.scopes.all()],
            "state": _state(t),
            "expires_at": _when(t.expires_at),
            "last_used_at": _when(t.last_used_at),
            "created_at": _when(t.created_at),
        }
        for t in tokens
    ]
    if options["json"]:
        command.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        command.stdout.write(
            "No API tokens. Create one with 'manage.py bus token create --name N "
            "--scope publish:TOPIC'."
        )
        return
    table = Table("key id", "name", "scopes", "state", "expires", "last used")
    for row in rows:
        table.add_row(
            Text(row["key_id"]),
            Text(row["name"]),
            Text("; ".join(row["scopes"]) or "(none)"),
            Text(row["state"]),
            Text(row["expires_at"]),
            Text(row["last_used_at"]),
        )
    console(command, 160).print(table)


def _key_id(value: str) -> str:
    # Accept the key id alone or a token's visible "sy_<key id>_…" prefix.
    text = value.strip()
    if text.startswith("sy_"):
        text = text[3:].split("_", 1)[0]
    return text


def _revoke(command: BaseCommand, options: dict[str, Any]) -> None:
    key_id = _key_id(options["key_id"])
    token = ApiToken.objects.filter(key_id=key_id).first()
    if token is None:
        raise CommandError(
            f"No API token with key id {key_id!r}. List the tokens and their key "
            "ids with 'manage.py bus token list'."
        )
    if token.revoked_at is not None:
        command.stdout.write(
            f"API token '{token.name}' (key id {key_id}) was already revoked at "
            f"{_when(token.revoked_at)}; nothing changed."
        )
        return
    before = token_snapshot(token)
    token_revoke(token=token)
    audit_record(
        user=None,
        action="token.revoke",
        target=token_label(token),
        before=before,
        after=token_snapshot(token),
        detail={"os_user": getpass.getuser()},
        via="cli",
    )
    command.stdout.write(
        f"Revoked API token '{token.name}' (key id {key_id}); its live feed "
        "connections close within seconds."
    )
