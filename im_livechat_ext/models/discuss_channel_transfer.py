from markupsafe import Markup

from odoo import Command, _, fields, models
from odoo.exceptions import AccessError
from odoo.tools import html2plaintext

TRANSFER_COMMAND = "/transfer"
# at most this many expertises in the /transfer list
EXPERTISES_LISTED = 100


class DiscussChannel(models.Model):
    """/transfer <expertise> (SPEC F20), as stock's /lead."""

    _inherit = "discuss.channel"  # pylint: disable=consider-merging-classes-inherited

    livechat_transferred = fields.Boolean(
        "Transferred",
        readonly=True,
        copy=False,
        groups="base.group_user",
        help="An operator transferred this chat to an expert with /transfer.",
    )

    def execute_command_transfer(self, **kwargs):
        """/transfer <expertise>: the best operator of that expertise who can
        take a chat joins, the one typing leaves. /transfer alone lists the
        expertises. Nobody or an unknown expertise: a message, no change."""
        self.ensure_one()
        self._check_transfer_access()
        # the notices are for the operator who typed the command, in their language
        self = self.with_context(lang=self.env.context.get("lang") or self.env.user.lang)  # noqa: PLW0642
        session = self.sudo()
        name = html2plaintext(kwargs.get("body") or "").strip().removeprefix(TRANSFER_COMMAND).strip()
        if not session.livechat_active:
            return self._send_transfer_notice(_("This chat is over: there is nobody to transfer."))
        if not session.livechat_channel_id:
            return self._send_transfer_notice(_("This chat belongs to no live chat channel: it cannot be routed."))
        me = self.env.user
        humans, excluded = self._livechat_transfer_people()
        if not name:
            return self._send_transfer_notice(self._transfer_help(excluded))
        expertise = self.env["im_livechat.expertise"]._find_by_name(name)
        if not expertise:
            return self._send_transfer_notice(
                _(
                    "There is no expertise named %(name)s. Type %(command)s alone to list them.",
                    name=name,
                    command=TRANSFER_COMMAND,
                )
            )
        routing = None
        # the chat's own channel's operators first, then those of another channel
        for operators in session._livechat_transfer_candidates(expertise):
            routing = session.livechat_channel_id._route_visitor(
                users=operators,
                exclude_users=excluded,
                lang=session.livechat_lang_id.code,
                country_id=session.country_id.id,
                expertises=expertise,
                wait_for_claimed=False,
            )
            if routing.operator:
                break
        if not (routing and routing.operator):
            return self._send_transfer_notice(
                _(
                    "Nobody with the expertise %(expertise)s can take a chat now: the chat stays with you.",
                    expertise=expertise.name,
                )
            )
        reason = (
            self.env["im_livechat.channel"]
            ._company_env()
            ._(
                "Transferred by %(operator)s: %(reason)s",
                operator=me._livechat_chat_name(),
                reason=routing.reason,
            )
        )
        session.write({"livechat_expertise_ids": [Command.set(expertise.ids)], "livechat_transferred": True})
        last_words = session._livechat_visitor_last_words()
        # the chat's operators leave, the one who typed it too: one operator stays
        session._livechat_hand_over(
            routing.operator, reason, leaving=humans, announce=session._livechat_transfer_notice(routing.operator)
        )
        session._livechat_tell_transfer(me, routing.operator, expertise, last_words)
        return True

    def _livechat_transfer_candidates(self, expertise):
        """Who /transfer may hand this chat to, in order: those with the
        expertise who are operators of its channel, then those who are
        operators of another channel. Someone who is nobody's operator (never
        joined, or left every channel) is never handed a chat."""
        self.ensure_one()
        experts = expertise.sudo().user_ids
        own = experts & self.sudo().livechat_channel_id.user_ids
        elsewhere = (
            self.env["im_livechat.channel"].sudo().search([("user_ids", "in", (experts - own).ids)]).user_ids & experts
        ) - own
        return [candidates for candidates in (own, elsewhere) if candidates]

    def _check_transfer_access(self):
        """Operators of the chat (and Live Chat managers) transfer it; never a
        visitor, whatever they send over RPC."""
        user = self.env.user
        if not (
            self.channel_type == "livechat"
            and user.has_group("im_livechat.im_livechat_group_user")
            and (self.is_member or self.env["im_livechat.routing.guard"]._livechat_is_manager())
        ):
            raise AccessError(_("Only the operators of a live chat can transfer it."))
        if not self._livechat_has_visitor():
            # a chat someone opened with nobody to serve would only make the
            # expert it goes to look busy
            raise AccessError(_("Only a chat with a visitor can be transferred."))

    def _livechat_has_visitor(self):
        """A visitor is in this chat: a guest, or a partner who is no internal user."""
        self.ensure_one()
        members = self.sudo().channel_member_ids
        return bool(
            members.guest_id
            or members.partner_id.filtered(
                lambda partner: not partner.user_ids or all(user.share for user in partner.user_ids)
            )
            - self.sudo().livechat_operator_id
        )

    def livechat_transfer_options(self):
        """The expertises /transfer can hand this chat to, as the composer
        suggests them: [{name, available}] (the operators of each who can
        take a chat now, the chat's own people aside)."""
        self.ensure_one()
        self._check_transfer_access()
        _humans, excluded = self._livechat_transfer_people()
        return [
            {"name": expertise.name, "available": available}
            for expertise, available in self._livechat_transfer_counts(excluded)
        ]

    def _livechat_transfer_people(self):
        """(partners, users): whoever answers the chat now, the one typing
        included (after a chatbot's forward, the bot stays its operator):
        they leave it; and those /transfer never hands it to: them and the
        operators skipped for leaving it unanswered."""
        session = self.sudo()
        humans = session._livechat_human_members() | self.env.user.partner_id
        return humans, self.env.user | (humans | session.livechat_skipped_operator_ids).user_ids

    def _livechat_transfer_counts(self, excluded):
        """Each active expertise with how many of its operators (of some
        channel, `excluded` aside) can take a chat now."""
        Expertise = self.env["im_livechat.expertise"].sudo()
        # every active expertise is listed to the operator: tens of them, not thousands
        expertises = Expertise.search([], limit=EXPERTISES_LISTED)
        experts = expertises.user_ids - excluded
        # only operators (of some channel) are handed a chat: only they count
        operators = self.env["im_livechat.channel"].sudo().search([("user_ids", "in", experts.ids)]).user_ids
        available = self.sudo().livechat_channel_id._get_available_operators(experts & operators)
        return [(expertise, len(expertise.user_ids & available)) for expertise in expertises]

    def _transfer_help(self, excluded):
        """Each expertise with how many of its operators can take a chat now."""
        lines = Markup("").join(
            Markup("<li>%s</li>")
            % self.env._("%(expertise)s: %(count)s can take a chat now", expertise=expertise.name, count=count)
            for expertise, count in self._livechat_transfer_counts(excluded)
        )
        return Markup("%s<ul>%s</ul>") % (
            _("Transfer this chat to an expert: %(command)s expertise", command=TRANSFER_COMMAND),
            lines,
        )

    def _send_transfer_notice(self, body):
        """A message only the operator who typed the command sees."""
        self.env.user._bus_send_transient_message(self, body)
        return False
