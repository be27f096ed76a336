from odoo import models
from odoo.tools import SQL

from ..tools.routing_rules import RoutingCheck


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


class ImLivechatChannelSeniorFirst(models.Model):
    """Another module's routing rule: a senior operator (their login says
    so) first, whatever the visitor asks for: one check, one place in the
    tiers."""

    _inherit = "im_livechat.channel"  # pylint: disable=consider-merging-classes-inherited

    def _get_routing_checks(self):
        checks = super()._get_routing_checks()
        checks["senior"] = RoutingCheck(
            sql=lambda facts: SQL("u.login LIKE 'senior%%'"),
            holds=lambda facts: bool(facts.get("senior")),
            phrase=lambda env, names: "senior",
        )
        return checks

    def _get_routing_tiers(self):
        return [("senior",), *super()._get_routing_tiers()]
