"""Screenshots of the module for its README, from a real headless Chromium.

Expects the demo database served by ``./dev.sh run`` (or any URL given with
``--url``), logs in as admin, opens each page and saves a PNG in
``im_livechat_ext/static/description/``.
"""

import argparse
import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import websocket  # websocket-client, in requirements.txt
from screenshot_scenes import (
    MISSED_AFTER,
    closed_channel_id,
    full_line_channel_id,
    routed_session_id,
    routing_channel_id,
    rpc,
    unanswered_session_id,
)

OUT = Path(__file__).resolve().parents[2] / "im_livechat_ext" / "static" / "description"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8069")
    parser.add_argument("--db", default="livechat_demo")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    return parser.parse_args()


def login(args):
    body = json.dumps(
        {"jsonrpc": "2.0", "params": {"db": args.db, "login": args.login, "password": args.password}}
    ).encode()
    request = urllib.request.Request(
        f"{args.url}/web/session/authenticate", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        cookie = response.headers.get("Set-Cookie")
    return cookie.split("session_id=")[1].split(";")[0]


class Browser:
    def __init__(self):
        self.profile = tempfile.mkdtemp()
        self.process = subprocess.Popen(
            [
                shutil.which("chromium") or "chromium",
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-port=9333",
                f"--user-data-dir={self.profile}",
                "--window-size=1400,900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _i in range(50):
            try:
                with urllib.request.urlopen("http://127.0.0.1:9333/json", timeout=2) as response:
                    page = next(t for t in json.loads(response.read()) if t["type"] == "page")
                    break
            except (OSError, StopIteration):
                time.sleep(0.2)
        self.ws = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=60)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                return message.get("result", {})

    def close(self):
        self.ws.close()
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.profile, ignore_errors=True)


def main():
    args = parse_args()
    session_id = login(args)
    channel = routing_channel_id(args, session_id)
    session = routed_session_id(args, session_id, channel)
    user_id = 2  # the demo database's admin
    admin_partner = rpc(args, session_id, "res.users", "read", [user_id], ["partner_id"])[0]["partner_id"][0]
    # a chat the admin joins, to show /transfer in its composer
    to_transfer = routed_session_id(args, session_id, channel, name="Visitor asking about an invoice")
    rpc(args, session_id, "discuss.channel", "add_members", [to_transfer], partner_ids=[admin_partner])
    browser = Browser()
    try:
        browser.call("Network.enable")
        browser.call("Network.setCookie", name="session_id", value=session_id, url=args.url)
        shots = [
            ("expertise.png", "/odoo/action-im_livechat_ext.im_livechat_expertise_action", None),
            ("channels.png", "/odoo/livechat", None),
            ("routing_options.png", "/odoo/livechat/__CHANNEL__", "document.querySelector('a[name=routing]')?.click()"),
            ("preferences.png", "/odoo/action-base.action_res_users_my/__USER__", None),
            ("routed_session.png", "/odoo/action-im_livechat.discuss_channel_action/__SESSION__", None),
            (
                "transfer_command.png",
                f"/odoo/discuss?active_id=discuss.channel_{to_transfer}",
                "const input = document.querySelector('.o-mail-Composer-input'); input.focus();"
                "document.execCommand('insertText', false, '/transfer Bil')",
            ),
        ]
        take(browser, args, shots, channel, user_id, session)
        # the admin transfers that chat; another visitor is left unanswered and reassigned
        rpc(args, session_id, "discuss.channel", "execute_command_transfer", [to_transfer], body="/transfer Billing")
        reassigned = unanswered_session_id(args, session_id, channel)
        take(
            browser,
            args,
            [
                ("reassigned_session.png", "/odoo/action-im_livechat.discuss_channel_action/__SESSION__", None),
                ("outcome_report.png", "/odoo/action-im_livechat.im_livechat_report_channel_action", None),
            ],
            channel,
            user_id,
            reassigned,
        )
        # a channel closed by its opening hours: its support page's button says when it opens
        closed = closed_channel_id(args, session_id, user_id)
        click_button = (
            "document.querySelector('.o-livechat-root').shadowRoot.querySelector('.o-livechat-LivechatButton').click()"
        )
        take(
            browser, args, [("closed_notice.png", f"/im_livechat/support/{closed}", click_button)], channel, user_id, 0
        )
        # a visitor (no login) waits in a full channel's line past its maximum wait: missed
        busy_line = full_line_channel_id(args, session_id)
        browser.call("Network.clearBrowserCookies")
        write = (
            "const root = document.querySelector('.o-livechat-root').shadowRoot;"
            "const input = root.querySelector('.o-mail-Composer-input'); input.focus();"
            "document.execCommand('insertText', false, 'Hello, I have a question about my order');"
            "input.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', bubbles: true}));"
        )
        browser.call("Page.navigate", url=f"{args.url}/im_livechat/support/{busy_line}")
        time.sleep(5)
        browser.call("Runtime.evaluate", expression=click_button)
        time.sleep(3)
        browser.call("Runtime.evaluate", expression=write)
        time.sleep(MISSED_AFTER + 12)  # the maximum wait, then the scheduled action woken to the second
        data = browser.call("Page.captureScreenshot", format="png")["data"]
        (OUT / "missed_notice.png").write_bytes(base64.b64decode(data))
        print(f"saved {OUT / 'missed_notice.png'}")
        # another visitor waits in line and writes; Claire's own limit is
        # raised (a freed slot): she joins, below what the visitor wrote
        joined_line = full_line_channel_id(args, session_id, max_wait=0, name="Support line")
        # a new visitor: no cookie, nor the last visitor's chat kept in the browser's storage
        browser.call("Runtime.evaluate", expression="localStorage.clear(); sessionStorage.clear()")
        browser.call("Network.clearBrowserCookies")
        browser.call("Page.navigate", url=f"{args.url}/im_livechat/support/{joined_line}")
        time.sleep(8)  # a new visitor: the page and its chat button load from scratch
        browser.call("Runtime.evaluate", expression=click_button)
        time.sleep(3)
        browser.call("Runtime.evaluate", expression=write.replace("my order", "my invoice"))
        time.sleep(3)
        claire = rpc(
            args, session_id, "ir.model.data", "check_object_reference", "im_livechat_ext", "user_operator_claire"
        )[1]
        rpc(args, session_id, "res.users", "write", [claire], {"livechat_max_sessions": 10})
        time.sleep(4)
        data = browser.call("Page.captureScreenshot", format="png")["data"]
        (OUT / "line_joined.png").write_bytes(base64.b64decode(data))
        print(f"saved {OUT / 'line_joined.png'}")
    finally:
        browser.close()


def take(browser, args, shots, channel, user_id, session):
    """Open each page, run its script, save its screenshot."""
    for index, (name, path, script) in enumerate(shots):
        url = args.url + path.replace("__CHANNEL__", str(channel)).replace("__USER__", str(user_id))
        url = url.replace("__SESSION__", str(session))
        browser.call("Page.navigate", url=url)
        time.sleep(4 if index or name != "expertise.png" else 15)  # the first page compiles the assets
        if script:
            browser.call("Runtime.evaluate", expression=script)
            time.sleep(1.5)
        data = browser.call("Page.captureScreenshot", format="png")["data"]
        (OUT / name).write_bytes(base64.b64decode(data))
        print(f"saved {OUT / name}")


if __name__ == "__main__":
    main()
