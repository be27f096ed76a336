import json

from odoo import api, models
from odoo.exceptions import AccessError

from ..tools.x2many_commands import linked_ids


class ImLivechatRoutingGuard(models.AbstractModel):
    """One guard for the fields that decide who gets which chat. A value
    reaches a new record three ways: the values written, the `default_*`
    context keys and the saved defaults (ir.default) of the user and
    company. Every model of the module with such fields inherits this and
    says which of its fields the current user may not choose; the same
    refusal then covers the three ways, and saving such a default too."""

    _name = "im_livechat.routing.guard"
    _description = "Live Chat Routing Guard"

    @api.model
    def _livechat_is_manager(self):
        """Live Chat managers (and the superuser) choose how chats are routed."""
        return self.env.su or self.env.user.has_group("im_livechat.im_livechat_group_manager")

    def _livechat_guarded_fields(self):
        """{field name: why it is refused} for the fields the current user
        may not choose on this model (superuser: none)."""
        return {}

    def _livechat_routing_only_fields(self):
        """Fields that only the routing writes, as superuser: no default of
        anybody's ever applies to them (one saved before it was refused
        neither)."""
        return set()

    @api.model
    def default_get(self, fields_list):
        defaults = super().default_get(fields_list)
        for name in self._livechat_routing_only_fields().intersection(defaults):
            del defaults[name]
        return defaults

    def _livechat_defaults_refused(self):
        """Like _livechat_guarded_fields, for saving a default (ir.default)."""
        return self._livechat_guarded_fields()

    def _livechat_check_written(self, names):
        """Refuse writing any guarded field among `names`."""
        guarded = self._livechat_guarded_fields()
        for name in names:
            if name in guarded:
                raise AccessError(guarded[name])

    @api.model
    def _livechat_check_created(self, vals_list):
        """Refuse creating records that would get a guarded field a value
        other than the module's own default, through values, `default_*`
        context keys or one's own saved defaults alike. A default saved for
        everybody (or a company) is an administrator's choice, not the
        user's: only the user's own count. Fields only the routing writes
        take no saved default at all (default_get)."""
        guarded = self._livechat_guarded_fields()
        if not guarded:
            return
        in_context = {
            key.removeprefix("default_"): value
            for key, value in self.env.context.items()
            if key.startswith("default_") and key.removeprefix("default_") in guarded
        }
        own_saved = {}
        routing_only = self._livechat_routing_only_fields()
        if any(name not in routing_only for name in guarded):
            # sudo: ir.default - the user's own saved defaults, one query
            for default in (
                self.env["ir.default"]
                .sudo()
                .search(
                    [
                        ("field_id.model", "=", self._name),
                        ("field_id.name", "in", [name for name in guarded if name not in routing_only]),
                        ("user_id", "=", self.env.uid),
                    ]
                )
            ):
                own_saved[default.field_id.name] = json.loads(default.json_value)
        for vals in vals_list:
            for name, why in guarded.items():
                if name in vals:
                    value = vals[name]
                elif name in in_context:
                    value = in_context[name]
                else:
                    value = own_saved.get(name)
                if _is_chosen(self, name, value):
                    raise AccessError(why)


def _is_chosen(model, name, value):
    """Whether `value` for field `name` differs from what the module gives
    it by itself (nothing, or its code default)."""
    field = model._fields[name]
    if field.type in ("one2many", "many2many"):
        return linked_ids(value) != []
    if value is None or value is False:
        return False
    default = field.default(model) if field.default else False
    return value != (default or False)
