from odoo import Command
from odoo.tests import HttpCase, new_test_user, tagged


@tagged("-standard", "im_livechat_ext_website", "post_install", "-at_install")
class TestVisitorTour(HttpCase):
    """Run by ./dev.sh test in its website_livechat database."""

    def test_chatbot_forwards_to_the_expert(self):
        invoicing = self.env["im_livechat.expertise"].create({"name": "Invoicing (tour)"})
        expert, generalist = (
            new_test_user(self.env, login=login, name=name, groups="base.group_user,im_livechat.im_livechat_group_user")
            for login, name in (("ext_tour_expert", "Adelaide Expert"), ("ext_tour_generalist", "Gil Generalist"))
        )
        expert.write({"livechat_username": "Ada", "livechat_expertise_ids": [Command.set(invoicing.ids)]})
        self.env["bus.presence"].create([{"user_id": u.id, "status": "online"} for u in (expert, generalist)])
        bot = self.env["chatbot.script"].create({"title": "Tour Bot"})
        question = self.env["chatbot.script.step"].create(
            {"chatbot_script_id": bot.id, "step_type": "question_selection", "message": "What is your question about?"}
        )
        invoice, other = self.env["chatbot.script.answer"].create(
            [
                {"name": "An invoice or a payment", "script_step_id": question.id},
                {"name": "Something else", "script_step_id": question.id},
            ]
        )
        self.env["chatbot.script.step"].create(
            {
                "chatbot_script_id": bot.id,
                "step_type": "forward_operator",
                "message": "Let me find an accountant.",
                "operator_expertise_ids": [Command.set(invoicing.ids)],
                "triggering_answer_ids": [Command.set(invoice.ids)],
            }
        )
        livechat = self.env["im_livechat.channel"].create(
            {
                "name": "Tour support",
                "user_ids": [Command.set((expert | generalist).ids)],
                "rule_ids": [Command.create({"regex_url": "/", "action": "auto_popup", "chatbot_script_id": bot.id})],
            }
        )
        self.env.ref("website.default_website").channel_id = livechat
        self.start_tour("/", "im_livechat_ext_chatbot_expertise_tour")
        session = self.env["discuss.channel"].search([("livechat_channel_id", "=", livechat.id)])
        self.assertEqual(len(session), 1)
        self.assertIn(expert.partner_id, session.channel_member_ids.partner_id)
        self.assertNotIn(generalist.partner_id, session.channel_member_ids.partner_id)
        self.assertEqual(session.livechat_expertise_ids, invoicing)
        self.assertTrue(session.livechat_routing_reason.startswith("Ada: "))
