"""Create or update the demo operator login and print it (run by scripts/demo.sh)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

DEFAULT_PASSWORD = "switchyard-demo"  # documented in README.md; DEMO_PASSWORD overrides


def main() -> None:
    """Make the 'operator' user exist with the demo password; print how to log in."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    password = os.environ.get("DEMO_PASSWORD") or DEFAULT_PASSWORD
    user, created = get_user_model().objects.get_or_create(username="operator")
    # Staff + superuser until the console's roles exist: admin is the only UI.
    user.is_staff = True
    user.is_superuser = True
    user.is_active = True
    user.set_password(password)
    user.save()
    # Forward-compatible: join the console's role group when it exists.
    group = Group.objects.filter(name="operator").first()
    if group is not None:
        user.groups.add(group)
    verb = "created" if created else "updated"
    print(f"demo login {verb}: username 'operator', password '{password}'")


if __name__ == "__main__":
    main()
