import logging
from datetime import timedelta

from odoo import api, fields, models

_logger = logging.getLogger(__name__)


class ImLivechatChannel(models.Model):
    """Inactive operators leave the channel (SPEC F8)."""

    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    @api.model
    def _cron_remove_inactive_operators(self):
        """Remove from each channel the operators without Odoo activity for
        longer than the channel's timeout; tell them and log it on the channel."""
        now = fields.Datetime.now()
        self.env["bus.presence"].flush_model()
        for channel in self.search([("operator_inactivity_timeout", ">", 0)]):
            inactive_before = now - timedelta(minutes=channel.operator_inactivity_timeout)
            self.env.cr.execute(
                """
                SELECT rel.user_id
                  FROM im_livechat_channel_im_user rel
                  LEFT JOIN bus_presence presence ON presence.user_id = rel.user_id
                 WHERE rel.channel_id = %s
                   AND (presence.id IS NULL OR presence.last_presence < %s)
                """,
                [channel.id, inactive_before],
            )
            inactive = self.env["res.users"].browse([row[0] for row in self.env.cr.fetchall()])
            if inactive:
                channel._remove_inactive_operators(inactive, channel.operator_inactivity_timeout)

    def _remove_inactive_operators(self, operators, timeout):
        self.ensure_one()
        self.user_ids -= operators
        _logger.info("Live chat channel %s: removed inactive operators %s", self.id, operators.ids)
        self.env["im_livechat.operator.removal"].sudo().create(
            [{"channel_id": self.id, "user_id": operator.id, "timeout": timeout} for operator in operators]
        )
        for operator in operators:
            self._tell_operator(
                operator,
                lambda env: env._(
                    "You were removed from the live chat channel %(channel)s after %(minutes)s minutes "
                    "without activity in Odoo. Join it again from Live Chat when you are back.",
                    channel=self.name,
                    minutes=timeout,
                ),
            )

    @api.model
    def _tell_operator(self, operator, text):
        """OdooBot tells an operator something in a direct chat in Discuss, in
        the operator's language: `text(env)` translates it with env._(). An
        archived operator can no longer read it: nothing is written."""
        if not operator.active:
            return
        odoobot = self.env.ref("base.user_root")
        # sudo: discuss.channel - OdooBot opens the direct chat with the operator
        chat = self.env["discuss.channel"].with_user(odoobot).sudo().channel_get([operator.partner_id.id])
        chat.message_post(
            author_id=odoobot.partner_id.id,
            body=text(self.with_context(lang=operator.lang or "en_US").env),
            message_type="comment",
            subtype_xmlid="mail.mt_comment",
        )
