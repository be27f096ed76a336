import {_t} from "@web/core/l10n/translation";
import {registry} from "@web/core/registry";

registry.category("discuss.channel_commands").add("transfer", {
    channel_types: ["livechat"],
    help: _t("Transfer the chat to an expert (/transfer expertise)"),
    methodName: "execute_command_transfer",
});
