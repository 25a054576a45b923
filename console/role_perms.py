"""Model permissions of the console roles, granted to their groups after migrate.

- viewer: views every bus and console record in Django admin.
- operator: also resets consumer groups and redrives or purges dead letters.
- admin: also adds, changes and deletes topics, event schemas, API tokens and
  their scopes, alert rules, users and groups.

Each role's group gets its own permissions and those of the roles below it
(a user is usually in one group only). Grants are only ever added, so a
permission an admin gives a group by hand in Django admin stays.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps as global_apps
from django.db import DEFAULT_DB_ALIAS

from console.roles import GROUP_NAMES, Role

VIEW_APPS = ("eventbus", "console")
# Bus actions with no model of their own; kept as permissions of
# ConsumerGroup so that Django admin can show and grant them like others.
ACTION_PERMISSIONS = {
    "reset_consumergroup": "Can reset consumer group positions",
    "redrive_deadletters": "Can redrive dead letters",
    "purge_deadletters": "Can purge dead letters",
}
ADMIN_MODELS = (
    ("eventbus", "topic"),
    ("eventbus", "eventschema"),
    ("console", "apitoken"),
    ("console", "tokenscope"),
    ("console", "alertrule"),
    ("auth", "user"),
    ("auth", "group"),
)


def role_codenames(role: Role) -> set[tuple[str, str]]:
    """Return the (app label, codename) pairs ``role`` holds beyond viewing."""
    held: set[tuple[str, str]] = set()
    if role >= Role.OPERATOR:
        held |= {("eventbus", codename) for codename in ACTION_PERMISSIONS}
    if role >= Role.ADMIN:
        held |= {
            (app, f"{verb}_{model}")
            for app, model in ADMIN_MODELS
            for verb in ("add", "change", "delete", "view")
        }
    return held


def grant_role_permissions(
    sender: Any = None,
    *,
    apps: Any = global_apps,
    using: str = DEFAULT_DB_ALIAS,
    **_: Any,
) -> None:
    """Create the action permissions and grant each role group its permissions."""
    try:
        group_model = apps.get_model("auth", "Group")
        permission_model = apps.get_model("auth", "Permission")
        content_type_model = apps.get_model("contenttypes", "ContentType")
    except LookupError:  # migrating backwards, or auth not installed yet
        return
    permissions = permission_model.objects.db_manager(using)
    group_type, _ = content_type_model.objects.db_manager(using).get_or_create(
        app_label="eventbus", model="consumergroup"
    )
    for codename, name in ACTION_PERMISSIONS.items():
        permissions.get_or_create(
            content_type=group_type, codename=codename, defaults={"name": name}
        )
    viewing = list(
        permissions.filter(
            content_type__app_label__in=VIEW_APPS, codename__startswith="view_"
        )
    )
    for role, group_name in GROUP_NAMES.items():
        group, _ = group_model.objects.db_manager(using).get_or_create(name=group_name)
        wanted = role_codenames(role)
        extra = [
            perm
            for perm in permissions.filter(
                codename__in={codename for _, codename in wanted}
            ).select_related("content_type")
            if (perm.content_type.app_label, perm.codename) in wanted
        ]
        group.permissions.add(*viewing, *extra)
