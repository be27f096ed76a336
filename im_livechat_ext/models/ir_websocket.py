from odoo import models

GUEST_CHANNEL_PREFIX = "mail.guest_"


class IrWebsocket(models.AbstractModel):
    _inherit = "ir.websocket"

    def _subscribe(self, og_data):
        """A live chat visitor's window subscribes with its guest token (the
        website's and the external embed's alike): their browser is there.
        Stock records a guest's presence only from the guest cookie, which
        the embed does not send and which a first visit's connection
        predates; the waiting line reads that presence to tell a visitor
        who is gone from one who waits (F16)."""
        result = super()._subscribe(og_data)
        tokens = [
            channel.removeprefix(GUEST_CHANNEL_PREFIX)
            for channel in og_data.get("channels") or []
            if isinstance(channel, str) and channel.startswith(GUEST_CHANNEL_PREFIX)
        ]
        for token in tokens[:1]:
            if guest := self.env["mail.guest"]._get_guest_from_token(token):
                # sudo: bus.presence - a guest's own presence, as stock writes it
                self.env["bus.presence"].sudo()._update_presence(0, "guest_id", guest.id)
        return result
