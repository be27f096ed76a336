"""Lifecycle of im_livechat_ext on one database, as an administrator lives it:
install, use, upgrade (-u), uninstall, use stock live chat, reinstall.

Every step is a real Odoo run (server or shell, through ``odoo_runner``) on
a fresh database, with demo data. A step fails when Odoo exits non-zero, logs
a warning or an error that is not a known warning of a run without HTTP (see
``odoo_runner.KNOWN_WARNINGS``), or when what it checks does not hold. After the uninstall the database
schema (tables, columns, indexes, constraints, the report's SQL view) must be
the one stock ``im_livechat`` (with ``resource``, which the module depends
on) had before the module came, with no record left
behind under the module's name, and stock live chat must still route a
visitor and show its reports, the sessions made with the module included.

Run it through ``./dev.sh test`` (stage ``lifecycle``) or
``./dev.sh lifecycle``.
"""

import argparse
import json
import sys
import time

import odoo_runner
import psycopg2

MODULE = odoo_runner.MODULE

STEPS = 12  # the steps of run(), every one must pass

# Runs inside `odoo shell`: a visitor routed by the module, then checked.
USE_WITH_MODULE = """
import json
from odoo import Command
Channel = env["im_livechat.channel"]
# installing changed nothing for the channel that existed: it never removes operators
stock_channel = env.ref("im_livechat.im_livechat_channel_data")
assert stock_channel.operator_inactivity_timeout == 0, stock_channel.operator_inactivity_timeout
assert Channel.new({"name": "New"}).operator_inactivity_timeout == 30
# the administrator's own channel: it outlives the module, unlike demo data
channel = Channel.create({"name": "Lifecycle support", "routing_priority": "expertise",
                          "max_sessions_mode": "limited", "max_sessions": 3})
billing = env.ref("im_livechat_ext.expertise_billing")
admin = env.ref("base.user_admin")
french = env["res.lang"]._activate_lang("fr_FR")
lifecycle = env["im_livechat.expertise"].create({"name": "Lifecycle"})
admin.write({"livechat_expertise_ids": [Command.link(lifecycle.id)], "livechat_lang_ids": [Command.link(french.id)]})
env["bus.presence"]._update_presence(inactivity_period=0, identity_field="user_id", identity_value=admin.id)
channel.write({"user_ids": [Command.set(admin.ids)], "operator_inactivity_timeout": 0})
env.flush_all()
operator = channel._get_operator(lang="fr_FR", expertises=lifecycle)
assert operator == admin, f"the module routed to {operator}"
vals = channel._get_livechat_discuss_channel_vals("Visitor", lang="fr_FR")
assert vals["livechat_operator_id"] == admin.partner_id.id and vals["livechat_lang_id"] == french.id, vals
session = env["discuss.channel"].create(vals)
session.livechat_expertise_ids = [Command.set(lifecycle.ids)]
session.message_post(body="Bonjour", message_type="comment", author_id=admin.partner_id.id)
env.cr.commit()
print("LIFECYCLE " + json.dumps({"session": session.id, "channel": channel.id,
      "reason": session.livechat_routing_reason, "billing_users": billing.user_ids.ids}))
"""

# Runs after `-u`: what the use step made is still there, unchanged.
CHECK_AFTER_UPGRADE = """
import json
state = json.loads(STATE)
session = env["discuss.channel"].browse(state["session"])
assert session.exists() and session.livechat_routing_reason == state["reason"], "routing reason lost by the upgrade"
assert session.livechat_expertise_ids.name == "Lifecycle", "session expertise lost by the upgrade"
assert env.ref("im_livechat_ext.expertise_billing").user_ids.ids == state["billing_users"], "demo operators changed"
print("LIFECYCLE " + json.dumps({"checked": True}))
"""

# Runs after the uninstall: stock live chat still works, old sessions included.
USE_STOCK = """
import json
from odoo import Command
state = json.loads(STATE)
assert "im_livechat.expertise" not in env, "the expertise model is still registered"
old = env["discuss.channel"].browse(state["session"])
assert old.exists() and old.livechat_channel_id.id == state["channel"], "a session made with the module was lost"
assert old.message_ids.filtered(lambda message: "Bonjour" in message.body), "its messages were lost"
assert not hasattr(old, "livechat_routing_reason")
channel = env["im_livechat.channel"].create({"name": "Stock again"})
admin = env.ref("base.user_admin")
channel.user_ids = [Command.set(admin.ids)]
env.flush_all()
vals = channel._get_livechat_discuss_channel_vals("Visitor")
assert vals and vals["livechat_operator_id"] == admin.partner_id.id, "stock live chat found no operator"
session = env["discuss.channel"].create(vals)
session.message_post(body="Hello", message_type="comment", author_id=admin.partner_id.id)
env.flush_all()
report = env["im_livechat.report.channel"].search_read([("channel_id", "in", [old.id, session.id])], ["channel_id"])
assert len(report) == 2, f"the stock report shows {len(report)} of the 2 sessions"
env.cr.commit()
print("LIFECYCLE " + json.dumps({"stock_session": session.id, "operator": session.livechat_operator_id.id}))
"""

# Runs before the uninstall: visitors wait in a line (one French), one wrote.
PUT_VISITORS_IN_LINE = """
import json
from odoo import Command
admin = env.ref("base.user_admin")
env["res.lang"]._activate_lang("fr_FR")
channel = env["im_livechat.channel"].create({"name": "Lifecycle line", "user_ids": [Command.set(admin.ids)],
    "max_sessions_mode": "limited", "max_sessions": 1, "waiting_line": True, "operator_inactivity_timeout": 0})
env["bus.presence"]._update_presence(inactivity_period=0, identity_field="user_id", identity_value=admin.id)
env.flush_all()
if channel.available_operator_ids:  # the administrator's chat of the use step may fill them already
    env["discuss.channel"].create(channel._get_livechat_discuss_channel_vals("Busy"))
    env.flush_all()
waiting = []
for index in range(3):
    session = env["discuss.channel"].create(
        channel._get_livechat_discuss_channel_vals(f"Waiting {index}", lang="fr_FR" if index == 0 else "en_US"))
    guest = env["mail.guest"].create({"name": f"Waiting {index}"})
    session.add_members(guest_ids=guest.ids, post_joined_message=False)
    waiting.append(session)
places = [s.livechat_queue_position for s in waiting]
assert places[0] >= 1 and places == list(range(places[0], places[0] + 3)), places
waiting[0].message_post(body="Ma commande 42", message_type="comment",
                        author_guest_id=waiting[0].channel_member_ids.guest_id.id)
env.cr.commit()
print("LIFECYCLE " + json.dumps({"waiting": [s.id for s in waiting], "line_channel": channel.id}))
"""

# Runs after the uninstall: those who waited were told, keep their session,
# and stock live chat serves them (the visitor writes, an operator answers).
SERVE_FORMER_LINE = """
import json
state = json.loads(STATE)
admin = env.ref("base.user_admin")
sessions = env["discuss.channel"].browse(state["waiting"])
assert len(sessions.exists()) == 3, "a session of the line was lost"
for session in sessions:
    bodies = " ".join(session.message_ids.mapped("body"))
    assert session.livechat_active, f"session {session.id} was closed"
    assert "in line" not in bodies and "dans la file" not in bodies, f"still told a place: {bodies}"
    assert ("Nobody can answer" in bodies) or ("Personne ne peut" in bodies), f"not told: {bodies}"
first = sessions[0]
assert "Personne ne peut" in " ".join(first.message_ids.mapped("body")), "not told in their language"
assert "Ma commande 42" in " ".join(first.message_ids.mapped("body")), "what they wrote was lost"
guest = first.channel_member_ids.guest_id
first.with_context(guest=guest).message_post(body="Toujours là", message_type="comment", author_guest_id=guest.id)
first.add_members(partner_ids=admin.partner_id.ids, post_joined_message=False)
first.with_user(admin).message_post(body="Je vous réponds", message_type="comment")
env.flush_all()
written = first.message_ids.filtered(lambda m: m.message_type == "comment").mapped("body")
assert any("Toujours là" in body for body in written) and any("Je vous réponds" in body for body in written), written
env.cr.commit()
print("LIFECYCLE {}")
"""

UNINSTALL = """
env["ir.module.module"].search([("name", "=", "im_livechat_ext")]).button_immediate_uninstall()
print("LIFECYCLE {}")
"""

# Runs after the reinstall: the module routes again, with its reason.
CHECK_AFTER_REINSTALL = """
import json
from odoo import Command
expertise = env["im_livechat.expertise"].create({"name": "Lifecycle"})
channel = env.ref("im_livechat_ext.im_livechat_channel_routing")
admin = env.ref("base.user_admin")
admin.livechat_expertise_ids = [Command.link(expertise.id)]
channel.write({"user_ids": [Command.set(admin.ids)], "operator_inactivity_timeout": 0})
env["bus.presence"]._update_presence(inactivity_period=0, identity_field="user_id", identity_value=admin.id)
env.flush_all()
assert channel._get_operator(expertises=expertise) == admin
vals = channel._get_livechat_discuss_channel_vals("Visitor")
assert vals.get("livechat_routing_reason"), "no routing reason after the reinstall"
env.cr.commit()
print("LIFECYCLE " + json.dumps({"reason": vals["livechat_routing_reason"]}))
"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    odoo_runner.add_arguments(parser)
    parser.add_argument("--db", default="imle_lifecycle")
    parser.add_argument("--log", default=None, help="file that receives every Odoo output")
    parser.add_argument("--keep", action="store_true", help="keep the database at the end")
    parser.add_argument("--results", default=None, help="results file of ./dev.sh test (odoo_runner record)")
    return parser.parse_args()


class Lifecycle:
    def __init__(self, args):
        self.args = args
        self.odoo_runner = odoo_runner.Odoo.from_args(args)
        if args.log:
            open(args.log, "w").close()
        self.log = args.log or sys.stdout
        self.passed = 0
        self.state = {}

    def odoo(self, *extra, subcommand=None, stdin=None):
        args = ("-d", self.args.db, "--log-level=warn", "--no-http", *extra)
        return self.odoo_runner.run(*args, subcommand=subcommand, stdin=stdin, log=self.log)

    def step(self, name, *extra, script=None):
        started = time.monotonic()
        problems = []
        if script is None:
            rc, output = self.odoo(*extra, "--stop-after-init")
        else:
            script = f"STATE = {json.dumps(json.dumps(self.state))}\n{script}"
            rc, output = self.odoo(subcommand="shell", stdin=script)
        if rc:
            problems.append(f"odoo exited with {rc}")
        finished = False
        # Odoo runs without HTTP here: the bus's known warnings are problems
        problems += [line.strip()[:300] for line in odoo_runner.read_log(output, http=False).unknown_lines]
        for line in output.splitlines():
            if line.startswith("LIFECYCLE "):
                self.state.update(json.loads(line[len("LIFECYCLE ") :]))
                finished = True
        if script is not None and not finished:
            problems.append("the check did not finish: " + (output.strip().splitlines() or ["no output"])[-1][:300])
        self.report(name, problems, started)
        return not problems

    def report(self, name, problems, started):
        self.passed += not problems
        status = "ok" if not problems else "FAILED"
        print(f"  {name:<58} {status:>6}  {time.monotonic() - started:5.1f}s", flush=True)
        for problem in problems[:10]:
            print(f"      {problem}", flush=True)

    def connect(self):
        return psycopg2.connect(dbname=self.args.db)

    def schema(self):
        """What the module could leave behind in PostgreSQL."""
        with self.connect() as conn, conn.cursor() as cr:
            snapshot = {}
            cr.execute(
                "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public'"
            )
            snapshot["columns"] = {row[0] for row in cr.fetchall()}
            cr.execute("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
            snapshot["indexes"] = {row[0] for row in cr.fetchall()}
            cr.execute(
                "SELECT conname FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
                " WHERE n.nspname = 'public'"
            )
            snapshot["constraints"] = {row[0] for row in cr.fetchall()}
            cr.execute("SELECT pg_get_viewdef('im_livechat_report_channel'::regclass)")
            snapshot["report view"] = {cr.fetchone()[0]}
        conn.close()
        return snapshot

    def leftovers(self):
        """Records still filed under the module's name, or naming its models and fields."""
        with self.connect() as conn, conn.cursor() as cr:
            found = []
            for label, query in (
                ("ir_model_data", "SELECT count(*) FROM ir_model_data WHERE module = %(module)s"),
                (
                    "ir_model",
                    "SELECT count(*) FROM ir_model"
                    " WHERE model IN ('im_livechat.expertise', 'im_livechat.operator.removal',"
                    " 'im_livechat.operator.status')",
                ),
                (
                    "ir_model_fields",
                    "SELECT count(*) FROM ir_model_fields WHERE name IN ('livechat_expertise_ids',"
                    " 'livechat_routing_reason', 'livechat_lang_id', 'routing_priority', 'max_sessions',"
                    " 'operator_expertise_ids', 'last_assignment_dt')",
                ),
                ("ir_ui_view", "SELECT count(*) FROM ir_ui_view WHERE arch_db::text ILIKE '%%livechat_expertise%%'"),
                ("ir_cron", "SELECT count(*) FROM ir_cron WHERE cron_name::text ILIKE '%%inactive operators%%'"),
                ("ir_ui_menu", "SELECT count(*) FROM ir_ui_menu WHERE name::text ILIKE '%%Expertise%%'"),
                ("ir_model_access", "SELECT count(*) FROM ir_model_access WHERE name ILIKE '%%expertise%%'"),
            ):
                cr.execute(query, {"module": MODULE})
                count = cr.fetchone()[0]
                if count:
                    found.append(f"{count} row(s) left in {label}")
        conn.close()
        return found

    def run(self):
        odoo_runner.drop_db(self.args.db, self.args.data_dir)
        print(f"lifecycle of {MODULE} on database {self.args.db}:", flush=True)
        ok = self.step("install stock im_livechat and resource (with demo data)", "-i", "im_livechat,resource")
        if not ok:
            return 1
        stock_schema = self.schema()
        ok = (
            self.step(f"install {MODULE}", "-i", MODULE)
            and self.step("use: a French visitor routed to the expert", script=USE_WITH_MODULE)
            and self.step(f"upgrade {MODULE} (-u)", "-u", MODULE)
            and self.step("after the upgrade: sessions, reasons, expertise intact", script=CHECK_AFTER_UPGRADE)
            and self.step("visitors waiting in line (one French, one wrote)", script=PUT_VISITORS_IN_LINE)
            and self.step(f"uninstall {MODULE} with visitors in line", script=UNINSTALL)
        )
        if ok:
            started = time.monotonic()
            after = self.schema()
            problems = [
                f"{kind} left behind: {', '.join(sorted(after[kind] - stock_schema[kind])[:8])}"
                for kind in stock_schema
                if after[kind] - stock_schema[kind]
            ]
            problems += [
                f"{kind} of stock missing: {', '.join(sorted(stock_schema[kind] - after[kind])[:8])}"
                for kind in stock_schema
                if stock_schema[kind] - after[kind]
            ]
            problems += self.leftovers()
            self.report("schema back to stock, no orphan records", problems, started)
            ok = not problems
        ok = (
            ok
            and self.step("stock live chat: new session, old sessions, report", script=USE_STOCK)
            and self.step("stock serves those who waited: told, kept, answered", script=SERVE_FORMER_LINE)
            and self.step(f"reinstall {MODULE}", "-i", MODULE)
            and self.step("after the reinstall: routing with a reason", script=CHECK_AFTER_REINSTALL)
        )
        if not self.args.keep:
            odoo_runner.drop_db(self.args.db, self.args.data_dir)
        print(f"lifecycle: {self.passed} of {STEPS} steps passed")
        return 0 if self.passed == STEPS else 1


def main():
    args = parse_args()
    started = time.monotonic()
    lifecycle = Lifecycle(args)
    try:
        return lifecycle.run()
    finally:  # a crash too: the steps that did not pass count as failed
        odoo_runner.record(
            args.results,
            "lifecycle",
            f"{'lifecycle':<8} {STEPS:4d} steps  {lifecycle.passed:4d} passed  {STEPS - lifecycle.passed:3d} failed  "
            f"{time.monotonic() - started:3.0f}s",
            lifecycle.passed,
            STEPS - lifecycle.passed,
        )


if __name__ == "__main__":
    sys.exit(main())
