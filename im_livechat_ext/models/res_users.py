from odoo import _, api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..tools.x2many_commands import linked_ids


class ResUsers(models.Model):
    _name = "res.users"
    _inherit = ["res.users", "im_livechat.routing.guard"]

    livechat_expertise_ids = fields.Many2many(
        "im_livechat.expertise",
        "im_livechat_expertise_res_users_rel",
        "user_id",
        "expertise_id",
        string="Live Chat Expertise",
        groups="im_livechat.im_livechat_group_user",
        help="Subjects you know: chats asking for them are routed to you first.",
    )
    livechat_max_sessions = fields.Integer(
        "Maximum Ongoing Chats",
        default=0,
        copy=False,
        groups="im_livechat.im_livechat_group_manager",
        help="This operator never gets more ongoing live chats than this, in any channel, whatever the "
        "channel's limit. 0 follows each channel's limit.",
    )

    _sql_constraints = [
        (
            "livechat_max_sessions_positive",
            "CHECK(livechat_max_sessions >= 0)",
            "An operator's maximum of ongoing chats cannot be negative (0 follows the channel's limit).",
        ),
    ]

    @api.model_create_multi
    def create(self, vals_list):
        self._livechat_check_created(vals_list)
        return super().create(vals_list)

    def _livechat_guarded_fields(self):
        """An operator's own limit (F19): values, default_* keys, saved defaults."""
        if self.env["im_livechat.routing.guard"]._livechat_is_manager():
            return {}
        return {"livechat_max_sessions": _("Only Live Chat managers can set an operator's maximum of ongoing chats.")}

    def _livechat_chat_name(self):
        """The name visitors and colleagues see in live chats: the chat
        name, else the name (False for no user)."""
        return self[:1].livechat_username or self[:1].partner_id.name

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["livechat_expertise_ids"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + ["livechat_expertise_ids"]

    def write(self, vals):
        if "livechat_max_sessions" in vals:
            self._check_livechat_manager()
            if set(vals) == {"livechat_max_sessions"}:
                # Live Chat managers set it on operators they may not otherwise
                # edit, but only on users they can see (companies, record rules)
                self.check_access("read")
                result = super(ResUsers, self.sudo()).write(vals)
                self._livechat_limit_changed()
                return result
        if not self.env.su and self == self.env.user:
            self._check_own_livechat_write(vals)
        # the users' field is computed from the settings and would drop an
        # inactive language before the settings ever see it
        self.env["res.users.settings"]._check_livechat_langs_active(vals.get("livechat_lang_ids"))
        result = super().write(vals)
        if "livechat_max_sessions" in vals:
            self._livechat_limit_changed()
        return result

    def _livechat_limit_changed(self):
        """A raised limit is a freed slot (F16): the lines of these
        operators' channels are served at once."""
        # sudo: im_livechat.channel - the channels these operators answer, to serve their lines
        channels = self.env["im_livechat.channel"].sudo().search([("user_ids", "in", self.ids)])
        if channels:
            channels._dispatch_waiting_visitors()

    @api.constrains("livechat_max_sessions")
    def _check_livechat_max_sessions(self):
        if any(user.livechat_max_sessions < 0 for user in self):
            raise ValidationError(
                _("An operator's maximum of ongoing chats cannot be negative (0 follows the channel's limit).")
            )

    def _check_livechat_manager(self):
        """An operator's own limit is for Live Chat managers to set (F19)."""
        self._livechat_check_written(["livechat_max_sessions"])

    def _check_own_livechat_write(self, vals):
        """Stock writes self-writeable fields of one's own user as superuser:
        through them a user only links or unlinks existing records, never
        creates, edits or deletes one (an expertise, a language, a colleague)."""
        if "livechat_expertise_ids" in vals:
            if not self.env.user.has_group("im_livechat.im_livechat_group_user"):
                raise AccessError(_("Only Live Chat users can choose their live chat expertise."))
            expertise_ids = linked_ids(vals["livechat_expertise_ids"])
            if expertise_ids is None:
                raise AccessError(
                    _(
                        "In your preferences you can only add or remove existing expertises; "
                        "ask a Live Chat manager to create or change one."
                    )
                )
            existing = self.env["im_livechat.expertise"].sudo().browse(expertise_ids).exists().filtered("active")
            if len(existing) != len(set(expertise_ids)):
                raise AccessError(_("You can only add expertises that exist and are not archived."))
        if "livechat_lang_ids" in vals and linked_ids(vals["livechat_lang_ids"]) is None:
            raise AccessError(_("In your preferences you can only add or remove existing languages."))
