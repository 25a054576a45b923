"""Django admin for API tokens and their scopes; every change is audited.

Adding a token shows its plaintext once, on the page that answers the add
(never in a message: messages may be kept in a cookie or the session). Only
the secret's hash is stored (console/tokens.py). Tokens are revoked, not
edited back to life; a revoked token's live feed connections close within
seconds.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from console.admin_audit import AuditedAdmin
from console.exceptions import InvalidScope
from console.models import ApiToken, TokenScope
from console.token_audit import token_label, token_snapshot
from console.tokens import Scope, parse_scope, token_create, token_revoke


class TokenScopeForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = TokenScope
        fields = ["topics", "publish", "subscribe", "manage"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("DELETE") or "topics" not in data:
            return data
        granted = [s.value for s in Scope if data.get(s.value)]
        if not granted:
            raise ValidationError(
                "Tick at least one of publish, subscribe and manage, or delete "
                "this scope."
            )
        try:
            parse_scope(f"{','.join(granted)}:{data['topics']}")
        except InvalidScope as exc:
            raise ValidationError({"topics": str(exc)}) from exc
        return data


class TokenScopeInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TokenScope
    form = TokenScopeForm
    extra = 0
    # A token without a scope can do nothing: ask for at least one.
    min_num = 1

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        # InlineModelAdmin has no validate_min of its own; the formset has.
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class ApiTokenForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ApiToken
        fields = ["name", "expires_at", "publish_rate", "max_connections"]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError("Name the token after who or what uses it.")
        return name

    def clean_expires_at(self) -> Any:
        expires = self.cleaned_data.get("expires_at")
        if (
            expires is not None
            and expires <= timezone.now()
            and "expires_at" in self.changed_data
        ):
            raise ValidationError(
                "This time is in the past. Enter a future time, or leave it "
                "empty for a token that never expires."
            )
        return expires


@admin.register(ApiToken)
class ApiTokenAdmin(AuditedAdmin):
    form = ApiTokenForm
    inlines = [TokenScopeInline]
    list_display = ("name", "key", "scope_list", "expires_at", "revoked")
    list_display += ("last_used_at", "created_by")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("name", "key_id")
    readonly_fields = ("key", "created_at", "created_by", "revoked_at", "last_used_at")
    actions = ["revoke"]
    delete_action = "token.delete"

    def audit_target(self, obj: ApiToken) -> str:
        return token_label(obj)

    def audit_snapshot(self, obj: ApiToken) -> dict[str, Any]:
        return token_snapshot(obj)

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("scopes")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj else ()

    @admin.display(description="Key id", ordering="key_id")
    def key(self, obj: ApiToken) -> str:
        return f"sy_{obj.key_id}_…" if obj.key_id else ""

    @admin.display(description="Scopes")
    def scope_list(self, obj: ApiToken) -> str:
        return "; ".join(str(s) for s in obj.scopes.all()) or "(none)"

    @admin.display(description="Revoked", boolean=True, ordering="revoked_at")
    def revoked(self, obj: ApiToken) -> bool:
        return obj.revoked_at is not None

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: Any, change: bool
    ) -> None:
        if change:
            obj._audit_before = token_snapshot(ApiToken.objects.get(pk=obj.pk))  # type: ignore[attr-defined]
            super().save_model(request, obj, form, change)
            return
        # The inline formsets are bound to ``obj``: make it the created row.
        created, plaintext = token_create(
            name=obj.name,
            scopes=[],
            expires_at=obj.expires_at,
            created_by=request.user,
            publish_rate=obj.publish_rate,
            max_connections=obj.max_connections,
        )
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db
        obj._audit_before = None  # type: ignore[attr-defined]
        obj._plaintext = plaintext  # type: ignore[attr-defined]

    def save_related(
        self, request: HttpRequest, form: Any, formsets: Any, change: bool
    ) -> None:
        super().save_related(request, form, formsets, change)
        token = form.instance
        # Read back: the instance may hold scopes prefetched before the save.
        saved = ApiToken.objects.get(pk=token.pk)
        self.audit(
            request,
            saved,
            "token.change" if change else "token.create",
            before=getattr(token, "_audit_before", None),
            after=token_snapshot(saved),
        )

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: Any = None
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"API token {obj.name} created",
            "token": obj,
            "plaintext": getattr(obj, "_plaintext", ""),
            "change_url": reverse("admin:console_apitoken_change", args=[obj.pk]),
            "changelist_url": reverse("admin:console_apitoken_changelist"),
        }
        response = TemplateResponse(
            request, "admin/console/token_created.html", context
        )
        # The page holds the only copy of the secret: no cache may keep it.
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: Any) -> None:
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True):
            before = token_snapshot(token)
            token_revoke(token=token)
            after = token_snapshot(token)
            self.audit(request, token, "token.revoke", before=before, after=after)
            revoked += 1
        messages.success(
            request,
            f"Revoked {revoked} token(s); their live feed connections close within "
            "seconds. Already revoked tokens were left as they were.",
        )
