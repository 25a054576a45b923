"""Create or update the demo logins, one per console role, and print them.

Run by scripts/demo.sh. Every login gets the demo password (DEMO_PASSWORD
overrides it): ``admin`` (also Django admin), ``operator`` and ``viewer``.
It also makes a fresh API token for the REST API and the WebSocket feed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_PASSWORD = "switchyard-demo"  # documented in README.md; DEMO_PASSWORD overrides
ROLES = ("admin", "operator", "viewer")
DEMO_TOKEN = "demo"


def main() -> None:
    """Make one user per console role exist with the demo password."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    password = os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
    for role in ROLES:
        user, created = get_user_model().objects.get_or_create(username=role)
        # Only the admin login reaches Django admin (the control plane).
        user.is_staff = user.is_superuser = role == "admin"
        user.is_active = True
        user.set_password(password)
        user.save()
        group = Group.objects.get(name=role)  # created by console migration 0002
        user.groups.set([group])
        verb = "created" if created else "updated"
        print(f"demo login {verb}: username {role!r}, password {password!r}")
    demo_token()


def demo_token() -> None:
    """Replace the demo's API token (all scopes on every topic) and print it."""
    from django.utils import timezone

    from console.models import ApiToken
    from console.tokens import token_create

    # Only a hash is stored, so each demo run makes a new token and revokes
    # the earlier ones rather than printing an old one again.
    ApiToken.objects.filter(name=DEMO_TOKEN, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    _, raw = token_create(name=DEMO_TOKEN, scopes=["publish,subscribe,manage:*"])
    print(f"demo API token (all scopes, every topic; shown only now): {raw}")
    print(
        "  e.g. SWITCHYARD_TOKEN=<token> python manage.py bus tail orders "
        "--remote ws://127.0.0.1:8000/ws/v1/events"
    )


if __name__ == "__main__":
    main()
