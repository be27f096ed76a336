from datetime import datetime, timezone

from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    livechat_expertise_ids = fields.Many2many(
        "im_livechat.expertise",
        "im_livechat_expertise_res_users_rel",
        "user_id",
        "expertise_id",
        string="Live Chat Expertise",
        groups="im_livechat.im_livechat_group_user",
        help="Subjects you know: chats asking for them are routed to you first.",
    )
    # Written by the routing (SQL) when a session is given to this operator:
    # the 120 s buffer reads it, and updating this row serialises two visitors
    # that would otherwise both take this operator's last free slot.
    livechat_last_assignment_dt = fields.Datetime("Last Live Chat Assignment", readonly=True, copy=False)

    @property
    def SELF_READABLE_FIELDS(self):
        return super().SELF_READABLE_FIELDS + ["livechat_expertise_ids"]

    @property
    def SELF_WRITEABLE_FIELDS(self):
        return super().SELF_WRITEABLE_FIELDS + ["livechat_expertise_ids"]

    def write(self, vals):
        # the users' field is computed from the settings and would drop an
        # inactive language before the settings ever see it
        self.env["res.users.settings"]._check_livechat_langs_active(vals.get("livechat_lang_ids"))
        return super().write(vals)

    def _mark_livechat_assignment(self):
        """Record that these operators just got a session.

        The UPDATE also takes the row lock of each operator: a concurrent
        transaction giving them a session at the same time fails to serialize
        and is retried, then sees this session and its effect on capacity."""
        if not self:
            return
        # a serialization failure here is expected under load and retried by
        # Odoo (logged as such): not an error worth a line of its own
        self.env.cr.execute(
            "UPDATE res_users SET livechat_last_assignment_dt = %s WHERE id = ANY(%s)",
            # to the microsecond: the routing tells apart operators given a
            # session within the same second (see _route_visitor)
            [datetime.now(timezone.utc).replace(tzinfo=None), self.ids],
            log_exceptions=False,
        )
        self.invalidate_recordset(["livechat_last_assignment_dt"])
