import json
from contextlib import closing
from datetime import timedelta

from odoo import SUPERUSER_ID, Command, api, fields, sql_db
from odoo.tests import new_test_user
from odoo.tests.common import TransactionCase, get_db_name
from odoo.tools import mute_logger


def call_kw(case, model, method, args, kwargs=None):
    """JSON-RPC call_kw over real HTTP, as whoever the HttpCase `case` is
    logged in as: ("ok", result), or (error class, message)."""
    with mute_logger("odoo.http"):  # refusals are logged as warnings: expected here
        response = case.url_open(
            f"/web/dataset/call_kw/{model}/{method}",
            data=json.dumps(
                {
                    "jsonrpc": "2.0",
                    "method": "call",
                    "id": 1,
                    "params": {"model": model, "method": method, "args": args, "kwargs": kwargs or {}},
                }
            ),
            headers={"Content-Type": "application/json"},
        )
    case.assertEqual(response.status_code, 200)
    answer = response.json()
    if "error" in answer:
        return answer["error"]["data"]["name"], answer["error"]["data"]["message"]
    return "ok", answer["result"]


def post_over_http(case, session, body):
    """Posts in a chat through the visitor's and the operators' own route,
    as whoever the HttpCase `case`'s browser is now."""
    case.make_jsonrpc_request(
        "/mail/message/post",
        {
            "thread_model": "discuss.channel",
            "thread_id": session.id,
            "post_data": {"body": body, "message_type": "comment", "subtype_xmlid": "mail.mt_comment"},
        },
    )
    session.invalidate_recordset()


def bus_payloads(env, record, notification_type):
    """Payloads sent so far to `record`'s bus channel (a session, a partner)
    with `notification_type`, once the transaction's bus queue is sent."""
    env.cr.precommit.run()
    payloads = []
    for notification in env["bus.bus"].sudo().search([], order="id"):
        if json.loads(notification.channel)[1:3] != [record._name, record.id]:
            continue
        message = json.loads(notification.message)
        if message["type"] == notification_type:
            payloads.append(message["payload"])
    return payloads


def call_as(case, user, model, method, args, kwargs=None):
    """call_kw as `user` (logged in with their login as password)."""
    case.authenticate(user.login, user.login)
    return call_kw(case, model, method, args, kwargs)


def rpc_error(case, model, method, args, kwargs=None):
    """The error class call_kw answers with (None: no error)."""
    error, _message = call_kw(case, model, method, args, kwargs)
    return None if error == "ok" else error


def full_channel_with_a_line(env, name, operator, **values):
    """A channel with a waiting line whose only operator holds the one
    chat they may: (channel, that chat)."""
    livechat = env["im_livechat.channel"].create(
        {
            "name": name,
            "user_ids": [Command.set(operator.ids)],
            "max_sessions_mode": "limited",
            "max_sessions": 1,
            "waiting_line": True,
            **values,
        }
    )
    return livechat, ongoing_chat(env, livechat, operator)


def ongoing_chat(env, livechat, operator, name="Busy"):
    """A live chat session of `livechat` that `operator` is in right now."""
    return env["discuss.channel"].create(
        {
            "name": name,
            "channel_type": "livechat",
            "livechat_active": True,
            "livechat_channel_id": livechat.id,
            "livechat_operator_id": operator.partner_id.id,
            "channel_member_ids": [Command.create({"partner_id": operator.partner_id.id})],
        }
    )


def chatbot_session(env, livechat, bot_partner, **values):
    """A session a chatbot holds: stock keeps the bot as its operator, even
    after a forward adds a human."""
    return env["discuss.channel"].create(
        {
            "name": "Bot session",
            "channel_type": "livechat",
            "livechat_active": True,
            "livechat_channel_id": livechat.id,
            "livechat_operator_id": bot_partner.id,
            "channel_member_ids": [Command.create({"partner_id": bot_partner.id})],
            **values,
        }
    )


def visitor_session(env, livechat, operator, guest_name="Visitor"):
    """A session of a guest visitor with `operator`, as get_session opens it."""
    guest = env["mail.guest"].create({"name": guest_name})
    session = ongoing_chat(env, livechat, operator, name=f"{guest_name} {operator.name}")
    session.write({"anonymous_name": guest_name, "channel_member_ids": [Command.create({"guest_id": guest.id})]})
    return session, guest


def post_as_guest(session, guest, body, seconds_ago=0):
    """The visitor writes (`seconds_ago` in the past)."""
    public = session.env.ref("base.public_user")
    message = session.with_user(public).with_context(guest=guest).message_post(body=body, message_type="comment")
    message = message.sudo()
    if seconds_ago:
        past = fields.Datetime.now() - timedelta(seconds=seconds_ago)
        session.env.cr.execute("UPDATE mail_message SET create_date = %s WHERE id = %s", [past, message.id])
        message.invalidate_recordset(["create_date"])
    return message


def drop_committed(env, livechat_id, user_ids, chats_too=False):
    """Remove what a test with real commits left: the channel's sessions (and,
    with `chats_too`, the users' direct chats), the channel, the users."""
    users = env["res.users"].browse(user_ids)
    domain = [("livechat_channel_id", "=", livechat_id)]
    if chats_too:
        domain = [
            ("channel_type", "in", ["livechat", "chat"]),
            "|",
            *domain,
            ("channel_member_ids.partner_id", "in", users.partner_id.ids),
        ]
    env["discuss.channel"].search(domain).unlink()
    env["im_livechat.channel"].browse(livechat_id).unlink()
    partners = users.partner_id
    env["bus.presence"].search([("user_id", "in", users.ids)]).unlink()
    env["im_livechat.operator.status"].search([("user_id", "in", users.ids)]).unlink()
    users.unlink()
    partners.unlink()


class LivechatRoutingCase(TransactionCase):
    """Operators with presence, languages, expertise and chats, on one channel."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env["res.lang"].with_context(active_test=False).search(
            [("code", "in", ["fr_FR", "fr_BE", "es_ES", "de_DE", "en_US"])]
        ).write({"active": True})
        cls.lang = {lang.code: lang for lang in cls.env["res.lang"].search([])}
        Expertise = cls.env["im_livechat.expertise"]
        cls.billing = Expertise.create({"name": "Refunds"})
        cls.sales = Expertise.create({"name": "Upgrades"})
        cls.tech = Expertise.create({"name": "Networking"})
        cls.belgium = cls.env.ref("base.be")
        cls.spain = cls.env.ref("base.es")
        cls.livechat = cls.env["im_livechat.channel"].create({"name": "Support", "user_ids": [Command.clear()]})
        cls._login_seq = 0

    @classmethod
    def _operator(cls, name, lang="en_US", chat_langs=(), expertises=None, country=None, status="online", join=True):
        cls._login_seq += 1
        user = new_test_user(
            cls.env,
            login=f"ext_operator_{cls._login_seq}_{name.lower()}",
            name=name,
            groups="base.group_user,im_livechat.im_livechat_group_user",
        )
        user.partner_id.write({"lang": lang, "country_id": country.id if country else False})
        user.livechat_lang_ids = [Command.set([cls.lang[code].id for code in chat_langs])]
        if expertises:
            user.livechat_expertise_ids = [Command.set(expertises.ids)]
        if status:
            cls.env["bus.presence"].create({"user_id": user.id, "status": status})
        if join:
            cls.livechat.user_ids = [Command.link(user.id)]
        return user

    def _chat(self, operator, in_call=False, active=True, age=timedelta()):
        """An ongoing chat of `operator` (created `age` ago)."""
        session = self.env["discuss.channel"].create(
            {
                "name": "Visitor",
                "channel_type": "livechat",
                "livechat_active": active,
                "livechat_channel_id": self.livechat.id,
                "livechat_operator_id": operator.partner_id.id,
                "channel_member_ids": [Command.create({"partner_id": operator.partner_id.id})],
            }
        )
        if age:
            past = fields.Datetime.now() - age
            self.env.cr.execute(
                "UPDATE discuss_channel SET create_date = %s, last_interest_dt = %s WHERE id = %s",
                [past, past, session.id],
            )
            session.invalidate_recordset(["create_date", "last_interest_dt"])
        if in_call:
            member = session.channel_member_ids.filtered(lambda m: m.partner_id == operator.partner_id)
            self.env["discuss.channel.rtc.session"].create({"channel_id": session.id, "channel_member_id": member.id})
        return session

    def _forget_assignments(self, *operators):
        """As if their last session was given long ago (outside the 120 s buffer)."""
        self.env.cr.execute(
            "UPDATE im_livechat_operator_status SET last_assignment_dt = NULL WHERE user_id = ANY(%s)",
            [[operator.id for operator in operators]],
        )


class CommittedData:
    """For tests whose transactions commit, as two real workers' would: the
    data is made and committed on a connection of its own, and dropped at
    the end whatever happened (mix it into a test case)."""

    def _new_env(self, uid=SUPERUSER_ID):
        """An environment on a new connection: a transaction of its own."""
        return api.Environment(sql_db.db_connect(get_db_name()).cursor(), uid, {})

    def _commit_data(self, build, chats_too=False):
        """`build(env)` makes the data and returns its ids ({"livechat": id,
        "users": ids, ...}); committed now, dropped at the test's end (with
        `chats_too`, the users' direct chats as well)."""
        env = self._new_env()
        with closing(env.cr):
            ids = build(env)
            env.cr.commit()  # pylint: disable=invalid-commit
        self.addCleanup(self._drop_committed, ids, chats_too)
        return ids

    def _drop_committed(self, ids, chats_too):
        with closing(self._new_env().cr) as cr:
            drop_committed(api.Environment(cr, SUPERUSER_ID, {}), ids["livechat"], ids["users"], chats_too)
            cr.commit()  # pylint: disable=invalid-commit
