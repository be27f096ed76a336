from odoo import models


class ImLivechatChannelHoliday(models.Model):
    """Another module's idea of who can take a chat: operators on holiday
    cannot, whatever their presence says."""

    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    def _compute_available_operator_ids(self):
        result = super()._compute_available_operator_ids()
        for channel in self:
            channel.available_operator_ids = channel.available_operator_ids.filtered(
                lambda user: "holiday" not in user.login
            )
        return result
